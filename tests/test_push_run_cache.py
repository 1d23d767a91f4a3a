"""`python -m tools.push_run_cache` on a throw-away git + DVC repo: every entry's outputs reach the remote,
and each bad setup (issue #27) is refused in one `error:` line, exit status 1, with no traceback."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DVC_NO_ANALYTICS": "1"}


# Two entries of one stage, in.txt = "b" then "a": the first's out.txt is not in the workspace.
BUILD = """
from pathlib import Path
from dvc.repo import Repo
repo = Repo.init()
for text in ("b\\n", "a\\n"):
    Path("in.txt").write_text(text)
    repo.reproduce()
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("built")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
    )
    subprocess.run([sys.executable, "-c", BUILD], cwd=root, env=ENV, check=True, capture_output=True)
    return root


@pytest.fixture
def repo(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "repo", symlinks=True)
    return tmp_path / "repo"


def remote(repo: Path, url: str) -> None:
    (repo / ".dvc/config").write_text(f"[core]\n    remote = storage\n['remote \"storage\"']\n    url = {url}\n")


def push(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.push_run_cache", *args]
    return subprocess.run(command, cwd=repo, env=ENV, capture_output=True, text=True, check=False, timeout=120)


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refusal prints (exit status 1, nothing on stdout, no traceback)."""
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr.rstrip("\n")


def test_every_entrys_output_reaches_the_remote_not_only_the_workspaces(repo: Path, tmp_path: Path) -> None:
    remote(repo, str(tmp_path / "remote"))
    result = push(repo)
    assert result.returncode == 0 and result.stdout.count("\n") == 1 and not result.stderr, result
    for text in (b"a\n", b"b\n"):  # out.txt of each entry; "b" is the one the workspace does not name
        md5 = hashlib.md5(text).hexdigest()
        assert (tmp_path / "remote/files/md5" / md5[:2] / md5[2:]).read_bytes() == text


def test_no_remote_names_the_command_that_adds_one(repo: Path) -> None:
    assert refused(push(repo)) == "error: no DVC remote configured; add one: dvc remote add -d storage <url>"


def test_an_unknown_remote_is_named_with_the_configured_ones(repo: Path, tmp_path: Path) -> None:
    remote(repo, str(tmp_path / "remote"))
    assert refused(push(repo, "-r", "nosuch")) == "error: no DVC remote 'nosuch' (configured: storage)"


def test_an_unwritable_remote_is_named(repo: Path, tmp_path: Path) -> None:
    # Under a file, not chmod: the tests may run as root, whom no mode bit stops.
    (tmp_path / "file").write_text("")
    remote(repo, str(tmp_path / "file/remote"))
    line = refused(push(repo))
    assert line.startswith(f"error: cannot write to DVC remote 'storage' ({tmp_path / 'file/remote'}): ")
    assert "Not a directory" in line and line.endswith("; check its url and permissions")


def test_an_ssh_remote_without_its_plugin_names_the_package(repo: Path) -> None:
    if importlib.util.find_spec("dvc_ssh") is not None:
        pytest.skip("dvc-ssh is installed")
    remote(repo, "ssh://nobody@127.0.0.1/store")  # never contacted: the plugin is missing before any connection
    assert refused(push(repo)) == (
        "error: remote 'storage': ssh is supported, but requires 'dvc-ssh' to be installed; "
        "install it: pip install dvc-ssh"
    )


def test_an_entrys_output_missing_from_the_cache_is_refused_before_anything_is_pushed(
    repo: Path, tmp_path: Path
) -> None:
    md5 = hashlib.md5(b"b\n").hexdigest()
    (repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).unlink()
    remote(repo, str(tmp_path / "remote"))
    assert refused(push(repo)) == (
        "error: 1 output(s) of the run-cache in neither the local cache nor remote 'storage' "
        f"(first: out.txt, md5: {md5}): rebuild with `dvc repro`, then push again"
    )
    assert not (tmp_path / "remote").exists()


def test_outside_a_repo_says_where_to_run_it(tmp_path: Path) -> None:
    line = refused(push(tmp_path))
    assert line.startswith("error: you are not inside of a DVC repository") and line.endswith("project's checkout")
