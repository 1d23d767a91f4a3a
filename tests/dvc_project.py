"""A throw-away git + DVC copy of the repo with a tiny archive and tiny params, for tests that drive DVC.

``make_project(base)`` copies the tracked files into ``base/repo``, points ``data.url`` at a generated
archive, writes the tiny settings and commits; :class:`Project` runs git and ``python -m dvc`` in it
with the copy's own code importable (not the editable install's).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from cifar_archive import make_cifar_archive
from conftest import committed_params

ROOT = Path(__file__).resolve().parents[1]

# The DVC contract test's tiny settings (tests/test_dvc_contract.py): every stage in seconds on a CPU.
TINY = {
    "device": "cpu",
    "train": {"epochs": 1, "batch_size": 16},
    "cnn": {"channels": [4, 4, 4, 4], "fc_widths": [8, 8, 8]},
    "resnet": {"width": 4, "blocks": [1, 1, 1, 1]},
    "evaluate": {"misclassified": 4},
    "alexnet": {"weights": "none"},
    "predict": {"cifar_images": 1, "top_k": 3},
    "maximize_channels": {"channels": [0, 5], "steps": 2},
    "maximize_class": {"steps": 2, "robustness_trials": 1},
    "attack": {"steps": 2, "max_images": 2},
    "attribute": {"n_steps": 2},
}


def copy_tracked(root: Path) -> None:
    """The tracked files into ``root`` as they are in the workspace, but params.yaml as committed."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in (name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    (root / "params.yaml").write_text(committed_params())
    shutil.rmtree(root / ".dvc" / "tmp", ignore_errors=True)


class Project:
    """A git + DVC repository (a copy or a clone of one) that commands run in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # The copy's own code, not the editable install's (which points at the original checkout).
        self.env = {**os.environ, "PYTHONPATH": str(root), "DVC_NO_ANALYTICS": "1"}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        # DVC's queue spawns its workers as `dvc` and stages run `python`: this interpreter's, where it has them.
        self.env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "dvc", *args, check=check, timeout=timeout)

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args)

    def ran(self, result: subprocess.CompletedProcess[str]) -> set[str]:
        """The stages a DVC command actually ran, from its "Running stage 'x':" lines."""
        return self.ran_in(result.stdout + result.stderr)

    @staticmethod
    def ran_in(output: str) -> set[str]:
        return set(re.findall(r"^Running stage '([^']+)':", output, flags=re.MULTILINE))

    def status(self, *targets: str) -> dict:
        return json.loads(self.dvc("status", "--json", *targets).stdout or "{}")

    def md5(self, path: str) -> str:
        return hashlib.md5((self.root / path).read_bytes()).hexdigest()

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def keep_stages(self, *names: str, models: tuple[str, ...] = ("cnn", "resnet")) -> None:
        """Cut ``dvc.yaml`` down to these stages (and, in matrix stages, these models), so that running them
        leaves a complete ``dvc.lock``: ``dvc checkout`` and ``dvc exp apply`` fail on any output it lacks."""
        pipeline = yaml.safe_load((self.root / "dvc.yaml").read_text())
        pipeline["stages"] = {name: stage for name, stage in pipeline["stages"].items() if name in names}
        for stage in pipeline["stages"].values():
            if "matrix" in stage:
                stage["matrix"]["model"] = list(models)
        for entry in pipeline.get("vars", []):  # `foreach: ${cifar_models}` stages loop over these models
            if isinstance(entry, dict) and "cifar_models" in entry:
                entry["cifar_models"] = {m: v for m, v in entry["cifar_models"].items() if m in models}
        (self.root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))

    def experiments(self) -> dict[str, dict]:
        """``dvc exp show --json``'s experiments by name: ``{"params": {file: content}, "metrics": {file:
        content}, "outs": {path: {"hash": md5, ...}}}`` (a metrics file that stage did not write is left out)."""
        found = {}
        for commit in json.loads(self.dvc("exp", "show", "--json").stdout):
            for exp in commit.get("experiments") or []:
                for rev in exp["revs"]:
                    data = rev.get("data") or {}
                    found[rev.get("name") or rev["rev"]] = {
                        "params": readable(data.get("params")),
                        "metrics": readable(data.get("metrics")),
                        "outs": data.get("outs") or {},
                    }
        return found


def readable(files: dict | None) -> dict:
    """``{file: content}`` of the files ``dvc exp show --json`` could read (others carry an ``error``)."""
    return {path: entry["data"] for path, entry in (files or {}).items() if "data" in entry}


def clone(url: Path, dest: Path) -> Project:
    """``git clone url dest``: another machine's checkout (its DVC cache starts empty)."""
    subprocess.run(["git", "clone", "-q", str(url), str(dest)], check=True, capture_output=True, timeout=120)
    p = Project(dest)
    p.git("config", "user.email", "dvc-test@test.invalid")
    p.git("config", "user.name", "dvc test")
    return p


def make_project(base: Path, tiny: dict | None = None) -> Project:
    """``base/repo``: the tracked files, a tiny archive (``base/archive``) and tiny params, committed on ``main``."""
    root = base / "repo"
    copy_tracked(root)
    archive = base / "archive" / "cifar-10-python.tar.gz"
    md5 = make_cifar_archive(archive, n_train_per_batch=10, n_test=20)  # 50 training, 20 test images
    p = Project(root)
    params = p.params()
    params["data"].update(url=str(archive), md5=md5)
    for section, values in (TINY if tiny is None else tiny).items():
        if isinstance(values, dict):
            params[section].update(values)
        else:
            params[section] = values
    p.write_params(params)
    p.git("init", "-q", "-b", "main")
    p.git("config", "user.email", "dvc-test@test.invalid")
    p.git("config", "user.name", "dvc test")
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "tiny copy")
    return p
