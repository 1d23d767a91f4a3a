"""Atomic file writes: every output appears whole under its final name, or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from visionlab.errors import PipelineError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no locks, so stale temporary files are left alone
    fcntl = None  # type: ignore[assignment]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_pattern(path: Path) -> re.Pattern[str]:
    """The names mkstemp gives the temporary files of ``path``: ``.<name>.<8 of [a-z0-9_]>.tmp<suffix>``.

    The 8 characters have no dot, so the temporary file of another output (``<name>.bak``, say) never matches.
    """
    return re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}" + re.escape(f".tmp{path.suffix}"))


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Remove the temporary files of ``path`` that a killed earlier write left beside it; return them.

    A live writer holds a lock on its temporary file for as long as it writes, and the kernel drops
    the lock when the writer dies: only unlocked regular files are removed.
    """
    path = Path(path)
    if fcntl is None:
        return []
    pattern = _temp_pattern(path)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed = []
    for name in names:
        if not pattern.fullmatch(name):
            continue
        stale = path.parent / name
        try:  # never follow a link, never block on a pipe
            fd = os.open(stale, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while a live writer holds it
                stale.unlink(missing_ok=True)
                removed.append(stale)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _locked_temp(path: Path) -> tuple[int, Path]:
    """A new temporary file beside ``path`` and an open descriptor holding its lock."""
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
        if fcntl is None:
            return fd, Path(name)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.path.samestat(os.fstat(fd), os.stat(name)):
                return fd, Path(name)
        except FileNotFoundError:
            pass
        os.close(fd)  # a cleaner took it for stale in the instant before it was locked: take another


@contextlib.contextmanager
def temp_path(path: str | Path) -> Iterator[Path]:
    """Yield a locked temporary path beside ``path``, removed afterwards.

    First removes the temporary files of ``path`` that a killed run left, so a kill leaves nothing
    for longer than the next run that writes the same file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp_path = _locked_temp(path)
    try:
        yield tmp_path
    finally:
        tmp_path.unlink(missing_ok=True)
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    with temp_path(path) as tmp_path:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)


def read_text(path: str | Path, missing: str) -> str:
    """The UTF-8 text of ``path``; a PipelineError line if it is missing (``missing``), binary or unreadable."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(missing) from None
    except UnicodeDecodeError:
        raise PipelineError(f"{path}: not UTF-8 text") from None
    except OSError as err:  # a directory, no permission, ...
        raise PipelineError(f"{path}: cannot read ({err.strerror or err})") from None


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
    finally:
        plt.close(fig)
