"""DVC contract of the pipeline, on a throw-away copy of the repo with a tiny archive and tiny settings.

One module-scoped fixture runs the whole pipeline once and commits it as the baseline; the test then
checks, in an order where each part leaves the repo as the next expects:

  (c) a second `dvc repro` runs nothing;
  (a) changing only `attack.*` params reruns only `attack` and `report`;
  (b) `dvc exp run -S train.epochs=2` makes an experiment whose metrics differ from the committed
      baseline, and `dvc metrics diff` lists them.
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

import pytest
import yaml
from cifar_archive import make_cifar_archive

ROOT = Path(__file__).resolve().parents[1]
STAGES = {"download", "stats", "train@cnn", "train@resnet", "evaluate@cnn", "evaluate@resnet", "predict", "filters",
          "maximize_channels", "maximize_class", "attack", "report"}

# Tiny everything: the pipeline's graph and code paths, in well under a minute on 2 CPU cores.
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
}


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()]


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        # The copy's own code, not the editable install's (which points at the original checkout).
        self.env = {**os.environ, "PYTHONPATH": str(root), "DVC_NO_ANALYTICS": "1"}
        # Stages write __pycache__/ as CI does (a developer's PYTHONDONTWRITEBYTECODE would hide
        # bytecode landing in directory deps and making the next repro rerun stages).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=600,
                                stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "dvc", *args, check=check)

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args)

    def ran(self, result: subprocess.CompletedProcess[str]) -> set[str]:
        """The stages a `dvc repro` / `dvc exp run` actually ran, from DVC's "Running stage 'x':" lines."""
        return set(re.findall(r"^Running stage '([^']+)':", result.stdout + result.stderr, flags=re.MULTILINE))

    def lock_digest(self) -> str:
        return hashlib.sha256((self.root / "dvc.lock").read_bytes()).hexdigest()

    def params(self) -> dict:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def write_params(self, params: dict) -> None:
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A git + DVC copy of the repo with tiny params, the whole pipeline run and committed as the baseline."""
    base = tmp_path_factory.mktemp("contract")
    root = base / "repo"
    for name in tracked_files():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    shutil.rmtree(root / ".dvc" / "tmp", ignore_errors=True)
    archive = base / "archive" / "cifar-10-python.tar.gz"
    md5 = make_cifar_archive(archive, n_train_per_batch=10, n_test=20)  # 50 training, 20 test images, 2 ships
    p = Project(root)
    params = p.params()
    params["data"].update(url=str(archive), md5=md5)
    for section, values in TINY.items():
        if isinstance(values, dict):
            params[section].update(values)
        else:
            params[section] = values
    p.write_params(params)
    p.git("init", "-q")
    p.git("config", "user.email", "contract@test.invalid")
    p.git("config", "user.name", "contract test")
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "tiny copy")

    first = p.dvc("repro")
    assert p.ran(first) == STAGES, first.stdout
    assert (root / "reports/README.md").is_file() and (root / "reports/index.html").is_file()
    p.git("add", "-A")  # dvc.lock, the uncached metrics and the .gitignore files DVC wrote
    p.git("commit", "-q", "-m", "baseline")
    return p


def test_dvc_contract(project: Project) -> None:
    p = project

    # (c) Two `dvc repro` in a row: the second (the first ran in the fixture) runs nothing and touches nothing.
    lock = p.lock_digest()
    outputs = {path: path.stat().st_mtime_ns for folder in ("data", "models", "reports")
               for path in (p.root / folder).rglob("*") if path.is_file()}
    again = p.dvc("repro")
    assert p.ran(again) == set(), again.stdout
    assert "Data and pipelines are up to date" in again.stdout
    assert p.lock_digest() == lock
    assert {path: path.stat().st_mtime_ns for path in outputs} == outputs
    assert json.loads(p.dvc("status", "--json").stdout or "{}") == {}

    # (a) Only attack.* changes: only `attack` reruns, and `report` because attack's metrics changed.
    params = p.params()
    params["attack"]["steps"] += 1
    p.write_params(params)
    assert set(json.loads(p.dvc("status", "--json").stdout)) == {"attack"}
    rerun = p.dvc("repro")
    assert p.ran(rerun) == {"attack", "report"}, rerun.stdout
    assert json.loads((p.root / "reports/metrics/attack.json").read_text())["unbounded"]["steps"] == 3
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "attack steps 3: the baseline for the experiment")

    # (b) An experiment with 2 epochs: the trained models and everything after them rerun, and
    # `dvc metrics diff` against the committed baseline lists the changed metrics.
    baseline = {name: json.loads((p.root / f"reports/metrics/{name}.json").read_text()) for name in ("cnn", "resnet")}
    exp = p.dvc("exp", "run", "-S", "train.epochs=2")
    assert {"train@cnn", "train@resnet", "evaluate@cnn", "evaluate@resnet", "report"} <= p.ran(exp), exp.stdout
    assert not {"download", "stats", "predict", "filters", "maximize_channels"} & p.ran(exp), exp.stdout
    assert p.dvc("exp", "list", "--name-only").stdout.split(), "no experiment was recorded"
    diff = json.loads(p.dvc("metrics", "diff", "--json", "HEAD").stdout)
    for name in ("cnn", "resnet"):
        changes = diff[f"reports/metrics/{name}.json"]
        assert changes["epochs"] == {"old": 1, "new": 2, "diff": 1}
        assert changes["test.loss"]["old"] == baseline[name]["test"]["loss"]
        assert changes["test.loss"]["new"] != changes["test.loss"]["old"]
    table = p.dvc("metrics", "diff", "--md", "HEAD").stdout
    assert "reports/metrics/cnn.json" in table and "epochs" in table
    # the committed baseline is untouched: the experiment lives in the workspace and its own ref
    committed = json.loads(p.git("show", "HEAD:reports/metrics/cnn.json").stdout)
    assert committed["epochs"] == 1
    assert json.loads((p.root / "reports/metrics/cnn.json").read_text())["epochs"] == 2

