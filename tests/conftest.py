"""Shared fixtures: the real CIFAR-10 sample, tiny generated archives, running a stage's CLI."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cifar_archive import make_cifar_archive, make_members

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_ARCHIVE = REPO_ROOT.parent / "shared/data/cifar10-sample/cifar-10-python.tar.gz"


@functools.cache
def committed_params() -> str:
    """params.yaml as committed (HEAD), never the workspace's: a smoke run (``dvc exp run -S``) leaves its overrides
    there, and a test of the shipped params must not read them."""
    return subprocess.run(
        ["git", "show", "HEAD:params.yaml"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="session")
def sample_archive() -> Path:
    """The real CIFAR-10 subset beside the project (read in place, never copied)."""
    if not SAMPLE_ARCHIVE.is_file():
        pytest.skip(
            "../shared/data/cifar10-sample not found: real-data tests need the shared sample beside the project root"
        )
    return SAMPLE_ARCHIVE


@pytest.fixture(scope="session")
def alexnet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``models/alexnet.pt`` as the alexnet stage writes it for ``alexnet.weights: none`` (written once: 244 MB)."""
    from visionlab.models.alexnet import load_alexnet, save_alexnet

    path = tmp_path_factory.mktemp("alexnet") / "alexnet.pt"
    save_alexnet(load_alexnet("none"), path)
    return path


@dataclass(frozen=True)
class TinyArchive:
    path: Path
    md5: str
    members: dict[str, Any]  # what was pickled into it (see cifar_archive.make_members)


@pytest.fixture
def tiny_archive(tmp_path: Path) -> TinyArchive:
    """A generated CIFAR-10-format archive: 5 x 10 training and 10 test images."""
    path = tmp_path / "src" / "cifar-10-python.tar.gz"
    return TinyArchive(path, make_cifar_archive(path), make_members())


@pytest.fixture(scope="session")
def run_stage() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_stage("download.py", "--out", x, tmpdir=d)`` runs ``python -m stages.download`` from the
    repo root, with the repo importable, no proxy for 127.0.0.1 and, if given, ``TMPDIR=d`` (to check that
    no temp file is left)."""

    def run(script: str, *args: str | Path, tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        env["no_proxy"] = env["NO_PROXY"] = ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1,localhost"]))
        if tmpdir is not None:
            env["TMPDIR"] = str(tmpdir)
        return subprocess.run(
            [sys.executable, "-m", "stages." + script.removesuffix(".py"), *map(str, args)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run
