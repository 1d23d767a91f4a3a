"""Atomic file writes: every output appears whole under its final name, or not at all. Temporary files are created with
``O_TMPFILE`` (Linux): a file with no name until it is complete. A named temporary file outlives a writer that is killed
(SIGKILL runs no cleanup), and when DVC then restores the stage from its run-cache instead of rerunning it, no code of
ours runs to sweep it; an unnamed one is freed by the kernel when its writer dies, so a kill leaves nothing. It gets a
name only to be renamed onto the output, two system calls later. Where ``O_TMPFILE`` is missing (macOS, Windows, some
filesystems) a named temporary file is the fallback, removed on any error but not on a kill."""

import contextlib
import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from visionlab.core.errors import PipelineError


def _staging(path: Path) -> Path:
    """A new name beside ``path`` (``.<name>.<16 hex>.tmp<suffix>``, git-ignored) on the same filesystem."""
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp{path.suffix}")


def _unnamed(folder: Path) -> int | None:
    """A descriptor of a new unnamed file in ``folder``, or None where the system or filesystem has none."""
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o666)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):  # a filesystem without O_TMPFILE
            return None
        raise


def _cannot_write(path: Path, err: OSError) -> PipelineError:
    return PipelineError(f"{path}: cannot write ({err.strerror or err})")


@contextlib.contextmanager
def temp_path(path: str | Path) -> Iterator[Path]:
    """Yield the path of a new, empty temporary file on the filesystem of ``path``; it is gone afterwards.
    An unnamed one is ``/proc/self/fd/<n>``: writers that pick a format by suffix must be told it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, named = _unnamed(path.parent), None
        if fd is None:
            named = _staging(path)
            fd = os.open(named, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
    except OSError as err:
        raise _cannot_write(path, err) from None
    try:
        yield named or Path(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
        if named is not None:
            named.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path for ``path``; move it onto ``path`` only if the block succeeds. An OSError
    while writing (a full disk, a read-only folder, ``path`` a directory) is one line naming ``path``."""
    path = Path(path)
    with temp_path(path) as tmp:
        try:
            yield tmp
        except OSError as err:
            disk = err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)
            if disk or err.filename == str(tmp):  # the temp file's name would mean nothing to the user
                raise _cannot_write(path, err) from None
            raise  # not the output's fault (a download's network error, say): the caller words it
        staged = _staging(path) if tmp.parent == Path("/proc/self/fd") else tmp
        try:
            if staged is not tmp:  # name the unnamed file: with any src_dir_fd (ignored: the path is absolute)
                try:
                    os.link(tmp, staged, src_dir_fd=int(tmp.name))  # CPython calls linkat(AT_SYMLINK_FOLLOW)
                except OSError:  # linkat refused (a restricted /proc, some FUSE file systems): copy instead
                    shutil.copyfile(tmp, staged)
            os.replace(staged, path)
        except OSError as err:
            raise _cannot_write(path, err) from None
        finally:
            staged.unlink(missing_ok=True)


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
