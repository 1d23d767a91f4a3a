"""DVC contract of the pipeline, on a throw-away copy of the repo with a tiny archive and tiny settings.

One module-scoped fixture runs the whole pipeline once and commits it as the baseline; the test then
checks, in an order where each part leaves the repo as the next expects, that DVC reruns exactly what
changed, that every output comes back from the cache or the run-cache, and that bad params stop the
pipeline in one line and lose nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import dvc_project
import pytest
import torch
import torchvision
import yaml
from cifar_archive import make_cifar_archive
from dvc_project import copy_tracked
from test_dvc_deps import STAGES as STAGE_DEFS
from test_dvc_deps import expected_code

pytestmark = pytest.mark.slow  # end to end: whole pipelines in DVC (see pyproject.toml)

ROOT = Path(__file__).resolve().parents[1]
STAGES = {
    "check_params",
    "download",
    "stats",
    "alexnet",
    "train@cnn",
    "train@resnet",
    "train@fast",
    "evaluate@cnn",
    "evaluate@resnet",
    "evaluate@fast",
    "predict",
    "filters",
    "maximize_channels",
    "maximize_class@alexnet",
    "attack@alexnet",
    "maximize_class@cnn",
    "maximize_class@resnet",
    "maximize_class@fast",
    "attack@cnn",
    "attack@resnet",
    "attack@fast",
    "attribute@alexnet",
    "attribute@cnn",
    "attribute@resnet",
    "attribute@fast",
    "visualize@alexnet",
    "visualize@cnn",
    "visualize@resnet",
    "visualize@fast",
    "calibrate@cnn",
    "calibrate@resnet",
    "calibrate@fast",
    "corrupt",
    "corruption@cnn",
    "corruption@resnet",
    "corruption@fast",
    "report",
}

# Tiny everything: the pipeline's graph and code paths, in well under a minute on 2 CPU cores.
TINY = {
    "device": "cpu",
    "train": {"epochs": 1, "batch_size": 16},
    "cnn": {"channels": [4, 4, 4, 4], "fc_widths": [8, 8, 8]},
    "resnet": {"width": 4, "blocks": [1, 1, 1, 1]},
    # fast.model and fast.train are its own sections (update() below replaces them whole, so give every
    # key that must differ from params.yaml); fp32: the same numbers on any CPU, bf16 or not.
    "fast": {
        "model": {"widths": [4, 8, 8], "logit_scale": 0.1111111111111111, "tta": "flip"},
        "train": {
            "epochs": 1,
            "batch_size": 16,
            "optimizer": "sgd",
            "lr": 0.5,
            "weight_decay": 0.0005,
            "momentum": 0.85,
            "schedule": "linear",
            "warmup": 0.2,
            "label_smoothing": 0.2,
            "augment": {"crop_padding": 2, "flip": True},
            "lookahead": 0.0,
            "precision": "fp32",
        },
    },
    "evaluate": {"misclassified": 4},
    "alexnet": {"weights": "none"},
    "predict": {"cifar_images": 1, "top_k": 3},
    "maximize_channels": {"channels": [0, 5], "steps": 2},
    "maximize_class": {"steps": 2, "robustness_trials": 1},
    "attack": {"steps": 2, "max_images": 2},
    "attribute": {"n_steps": 2},
    "visualize": {"naive_steps": 1, "steps": 2, "diversity_batch": 2, "robust_trials": 1},
    "corrupt": {"images": 4},
}


class Project(dvc_project.Project):
    """The shared test project, plus what only the contract test reads."""

    def dvc(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return super().dvc(*args, check=check, timeout=timeout)  # a whole tiny pipeline runs in one call

    def restored(self, result: subprocess.CompletedProcess[str]) -> set[str]:
        """The stages DVC took from the run-cache instead of running them."""
        return set(
            re.findall(r"^Stage '([^']+)' is cached - skipping run", result.stdout + result.stderr, flags=re.MULTILINE)
        )

    def lock_digest(self) -> str:
        return hashlib.sha256((self.root / "dvc.lock").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A git + DVC copy of the repo with tiny params, the whole pipeline run and committed as the baseline."""
    base = tmp_path_factory.mktemp("contract")
    root = base / "repo"
    copy_tracked(root)
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


def stages_importing(path: str) -> set[str]:
    """Every stage whose import closure (derived from the code, not from dvc.yaml) contains ``path``."""
    return {name for name, stage in STAGE_DEFS.items() if path in expected_code(stage)}


def one_error_line(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error: ")]


def test_dvc_contract(project: Project, tmp_path: Path) -> None:
    p = project

    # (c) Two `dvc repro` in a row: the second (the first ran in the fixture) runs nothing and touches nothing.
    lock = p.lock_digest()
    outputs = {
        path: path.stat().st_mtime_ns
        for folder in ("data", "models", "reports")
        for path in (p.root / folder).rglob("*")
        if path.is_file()
    }
    again = p.dvc("repro")
    assert p.ran(again) == set(), again.stdout
    assert "Data and pipelines are up to date" in again.stdout
    assert p.lock_digest() == lock
    assert {path: path.stat().st_mtime_ns for path in outputs} == outputs
    assert p.status() == {}

    # A misspelt key anywhere in params.yaml stops `dvc repro` with one line naming it, though no
    # stage lists it; the run-cache keeps it from costing anything once fixed.
    good = p.params()
    p.write_params({**good, "train": {**good["train"], "epoch": 5}})
    bad = p.dvc("repro", check=False)
    assert bad.returncode != 0
    (line,) = one_error_line(bad)
    assert line.startswith("error: params.yaml: unknown key train.epoch (known: epochs, batch_size"), line
    p.write_params(good)
    p.dvc("checkout")  # DVC removed check_params' output before running it; the cache has it
    assert p.status() == {}

    # A value the schema rejects fails in one line; DVC removed the outputs of the stage it tried, and
    # `dvc checkout` brings every one back from the cache.
    failed = p.dvc("exp", "run", "-S", "train.epochs=-3", check=False)
    assert failed.returncode != 0
    assert one_error_line(failed) == ["error: params.yaml: train.epochs must be an integer in 1..100000, got -3"]
    p.git("checkout", "--", "params.yaml")
    p.dvc("checkout")
    assert p.status() == {}

    # (a) Only AlexNet's attack target changes: only `attack@alexnet` and `attribute@alexnet` (which recomputes
    # the attack's image) rerun, then `report` (its metrics changed) and check_params (it reads every key, in a second).
    params = p.params()
    params["attack"]["target_class"]["alexnet"] = 208
    p.write_params(params)
    assert set(p.status()) == {"check_params", "attack@alexnet", "attribute@alexnet"}
    rerun = p.dvc("repro")
    assert p.ran(rerun) == {"check_params", "attack@alexnet", "attribute@alexnet", "report"}, rerun.stdout
    assert json.loads((p.root / "reports/info/alexnet_attack.json").read_text())["target_class"] == 208

    # One model's section: that model's training, evaluation and analyses, and the report. Nothing else.
    params["resnet"]["width"] = 6
    p.write_params(params)
    rerun = p.dvc("repro")
    assert p.ran(rerun) == {
        "check_params",
        "train@resnet",
        "evaluate@resnet",
        "maximize_class@resnet",
        "attack@resnet",
        "attribute@resnet",
        "visualize@resnet",
        "calibrate@resnet",
        "corruption@resnet",
        "report",
    }, rerun.stdout
    # fast's own recipe (fast.train): only fast's stages; the seed recipe's models do not read it.
    params["fast"]["train"]["lr"] = 0.4
    p.write_params(params)
    rerun = p.dvc("repro")
    assert p.ran(rerun) == {
        "check_params",
        "train@fast",
        "evaluate@fast",
        "maximize_class@fast",
        "attack@fast",
        "attribute@fast",
        "visualize@fast",
        "calibrate@fast",
        "corruption@fast",
        "report",
    }, rerun.stdout
    # A visualize param: the four visualize@ items and the report, nothing else.
    params["visualize"]["steps"] = 3
    p.write_params(params)
    rerun = p.dvc("repro")
    visualized = {f"visualize@{m}" for m in ("alexnet", "cnn", "resnet", "fast")}
    assert p.ran(rerun) == {"check_params", *visualized, "report"}, rerun.stdout
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "alexnet attack target 208, resnet width 6, fast lr 0.4, 3 visualize steps: baseline")

    # An edit to a shared module: `dvc status` names every stage that imports it, and only those.
    normalize = p.root / "visionlab/models/normalize.py"
    original = normalize.read_text()
    normalize.write_text(original + "# an edit\n")
    assert set(p.status()) == stages_importing("visionlab/models/normalize.py")
    assert {"train@cnn", "predict", "attack@resnet"} <= set(p.status())
    assert not {"download", "stats"} & set(p.status())
    normalize.write_text(original)
    assert p.status() == {}

    # An edit to one module of an analysis package: that analysis' items and the report, nothing else.
    for module, analysis in (("visionlab/classmax/record.py", "maximize_class"), ("visionlab/visualize/transform.py",
                                                                               "visualize")):  # fmt: skip
        path = p.root / module
        original = path.read_text()
        path.write_text(original + "# an edit\n")
        # check_params too: it imports every package's schema, so the package (its face imports all of it).
        items = {f"{analysis}@{m}" for m in ("alexnet", "cnn", "resnet", "fast")}
        assert set(p.status()) == {"check_params", *items, "report"}
        path.write_text(original)
    # An edit to visualize's params schema reruns no train stage (nor anything but check_params, visualize, report).
    schema = p.root / "visionlab/visualize/params.py"
    original = schema.read_text()
    schema.write_text(original + "# an edit\n")
    assert set(p.status()) == {"check_params", *visualized, "report"}
    schema.write_text(original)
    assert p.status() == {}

    # AlexNet's weights from elsewhere (here a local .pth): the alexnet stage rewrites models/alexnet.pt, and
    # exactly the AlexNet items rerun after it, then the report.
    local = tmp_path / "alexnet.pth"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), local)
    params["alexnet"]["weights"] = str(local)
    p.write_params(params)
    assert set(p.status()) == {"check_params", "alexnet"}
    rerun = p.dvc("repro")
    alexnet_items = {f"{stage}@alexnet" for stage in ("maximize_class", "attack", "attribute", "visualize")}
    assert p.ran(rerun) == {"check_params", "alexnet", "predict", "filters", "maximize_channels", *alexnet_items,
                            "report"}, rerun.stdout  # fmt: skip
    params["alexnet"]["weights"] = "none"
    p.write_params(params)
    back = p.dvc("repro")  # every stage from the run-cache: the random file again, bit for bit
    assert p.ran(back) == set() and {"alexnet", *alexnet_items, "report"} <= p.restored(back), back.stdout
    assert p.status() == {}

    # A forced retrain writes a byte-identical model, so nothing that reads the model reruns; only
    # the report, which shows the new run's timing.
    model = p.md5("models/cnn.pt")
    forced = p.dvc("repro", "-f", "-s", "train@cnn")
    assert p.ran(forced) == {"train@cnn"} and p.md5("models/cnn.pt") == model
    assert p.ran(p.dvc("repro")) == {"report"}
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "retrained: the state a teammate clones")

    # Every output and dvc.lock deleted: `dvc repro` runs no command, every stage comes from the run-cache.
    lock_text = (p.root / "dvc.lock").read_text()
    (p.root / "dvc.lock").unlink()
    tracked = set(p.git("ls-files").stdout.split())  # inputs such as data/images/ stay
    for folder in ("data", "models", "reports"):
        for path in (p.root / folder).rglob("*"):
            name = path.relative_to(p.root).as_posix()
            if path.is_file() and name not in tracked and "checkpoints" not in path.parts:
                path.unlink()
    assert not (p.root / "models/cnn.pt").exists() and not (p.root / "reports/metrics/alexnet_attack.json").exists()
    restored = p.dvc("repro")
    assert p.ran(restored) == set(), restored.stdout
    assert p.restored(restored) == set(STAGE_DEFS), restored.stdout
    assert p.status() == {} and p.md5("models/cnn.pt") == model
    assert yaml.safe_load((p.root / "dvc.lock").read_text()) == yaml.safe_load(lock_text)

    # A teammate's fresh clone, as the README's recipe has it: the remote in .dvc/config, `python -m
    # tools.push_run_cache` here; there `git clone`, the same params.yaml, no dvc.lock (the project commits none),
    # then `dvc repro --pull`: no stage command runs, every stage comes from the run-cache, status is clean.
    # (`dvc pull --run-cache` then `dvc repro` would run every stage: without a dvc.lock the pull brings
    # the run-cache entries but not the outputs they name, and DVC's restore skips an entry whose outputs
    # are not in the local cache.)
    remote = tmp_path / "remote"
    p.dvc("remote", "add", "-d", "storage", str(remote))
    pushed = p.run(sys.executable, "-m", "tools.push_run_cache")  # the forced retrain left two entries of one key
    assert pushed.returncode == 0, pushed.stderr
    clone = Project(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(p.root), str(clone.root)], check=True)
    for name in ("params.yaml", ".dvc/config"):
        shutil.copy2(p.root / name, clone.root / name)
    (clone.root / "dvc.lock").unlink()
    assert not (clone.root / "models/cnn.pt").exists()
    cloned = clone.dvc("repro", "--pull")
    assert clone.ran(cloned) == set(), cloned.stdout
    assert clone.restored(cloned) == set(STAGE_DEFS), cloned.stdout
    assert clone.status() == {} and clone.md5("models/cnn.pt") == model
    p.git("checkout", "--", ".dvc/config")  # the rest of this test runs without a remote, as before

    # The trained models are declared artifacts: `dvc ls` lists them, and once a version is registered
    # (a GTO tag, as `gto register cnn` writes it) `dvc artifacts get` fetches one by name.
    listed = p.dvc("ls", ".", "models").stdout.split()
    assert {"cnn.pt", "resnet.pt", "fast.pt"} <= set(listed)
    p.git("tag", "-a", "cnn@v0.0.1", "-m", "Registering artifact cnn version 0.0.1")
    fetched = clone.dvc("artifacts", "get", str(p.root), "cnn", "-o", str(tmp_path / "cnn.pt"))
    assert fetched.returncode == 0 and hashlib.md5((tmp_path / "cnn.pt").read_bytes()).hexdigest() == model

    # (b) An experiment with 2 epochs (train.epochs, the seed recipe): the models it trains and everything
    # after them rerun; the AlexNet analyses and fast (its own recipe, fast.train) do not; and
    # `dvc metrics diff` against the committed baseline lists the changed metrics.
    baseline = {name: json.loads((p.root / f"reports/metrics/{name}.json").read_text()) for name in ("cnn", "resnet")}
    exp = p.dvc("exp", "run", "-S", "train.epochs=2")
    assert {"train@cnn", "train@resnet", "evaluate@cnn", "evaluate@resnet", "attack@cnn", "report"} <= p.ran(exp)
    untouched = {"download", "stats", "predict", "filters", "maximize_channels", "maximize_class@alexnet"}
    untouched |= {"attack@alexnet", "attribute@alexnet", "visualize@alexnet"}
    untouched |= {"train@fast", "evaluate@fast", "maximize_class@fast", "attack@fast", "attribute@fast"}
    untouched |= {"visualize@fast", "calibrate@fast", "corruption@fast", "corrupt"}
    assert not untouched & p.ran(exp), exp.stdout
    assert p.dvc("exp", "list", "--name-only").stdout.split(), "no experiment was recorded"
    diff = json.loads(p.dvc("metrics", "diff", "--json", "HEAD").stdout)
    for name in ("cnn", "resnet"):
        assert diff[f"reports/train/{name}/metrics.json"]["step"] == {"old": 1, "new": 2, "diff": 1}  # DVCLive's
        changes = diff[f"reports/metrics/{name}.json"]
        assert changes["test.loss"]["old"] == baseline[name]["test"]["loss"]
        assert changes["test.loss"]["new"] != changes["test.loss"]["old"]
    table = p.dvc("metrics", "diff", "--md", "HEAD").stdout
    assert "reports/metrics/cnn.json" in table and "test.loss" in table  # changed, as asserted above
