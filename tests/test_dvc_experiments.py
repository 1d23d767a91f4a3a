"""Sweeps on DVC's experiment queue, and experiments shared through a git and a DVC remote (docs/experiments.md).

One throw-away git + DVC copy of the repo (tiny archive, tiny params) stands for the team's repository:
its committed `.dvc/config` names a DVC remote (a folder) and its git remote `origin` is a bare repo.
Its pipeline is cut down to download -> stats -> train@cnn. The module-scoped `sweep` fixture queues
two `train@cnn` experiments and runs them with two queue workers; `test_queued_sweep` checks what they
left, and `test_experiment_shared_through_remotes` pushes one of them and pulls it into a fresh clone,
which gets its params, metrics and model without training.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dvc_project import Project, clone, make_project

pytestmark = pytest.mark.slow  # end to end: whole pipelines in DVC (see pyproject.toml)

SWEEP = {"lr-1e-3": 0.001, "lr-3e-3": 0.003}  # experiment name -> train.lr
QUEUE_TIMEOUT_S = 300  # both queued experiments on 2 workers: about a minute on 2 busy cores
DONE = {"Success", "Failed"}


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The team's repo: DVC remote in the committed config, `origin` a bare git repo, data and stats done."""
    base = tmp_path_factory.mktemp("experiments")
    p = make_project(base)
    # Only what the experiments run, so dvc.lock gets complete: `dvc exp apply` fails on stages missing from it.
    p.keep_stages("download", "stats", "train", models=("cnn",))
    # Committed, so every clone, and every experiment made from this commit on, knows where the data goes.
    p.dvc("remote", "add", "-d", "storage", str(base / "storage"))
    p.run("git", "init", "-q", "--bare", "-b", "main", str(base / "origin.git"))
    p.git("remote", "add", "origin", str(base / "origin.git"))
    assert p.ran(p.dvc("repro", "stats")) == {"download", "stats"}  # so each experiment trains, nothing else
    p.git("add", "-A")
    p.git("commit", "-q", "-m", "baseline: DVC remote, data and stats")
    p.git("push", "-q", "origin", "main")  # no `dvc push`: `dvc exp push` alone must send all the data
    return p


def queue_table(p: Project) -> tuple[dict[str, str], str]:
    """`dvc queue status`: each named task's status (Queued, Running, Success, Failed), and the raw text."""
    text = p.dvc("queue", "status", timeout=60).stdout
    tasks = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] in SWEEP:
            tasks[fields[1]] = fields[-1]
    return tasks, text


def queue_pids(p: Project) -> set[int]:
    """The queue's workers and experiment runs, from DVC's records of the processes it spawned."""
    exps = p.root / ".dvc" / "tmp" / "exps"
    pids = set()
    for record in [*exps.glob("celery/dvc-exp-worker-*.json"), *exps.glob("run/*/*.json")]:
        with contextlib.suppress(OSError, ValueError):
            pid = json.loads(record.read_text()).get("pid")
            if isinstance(pid, int):
                pids.add(pid)
    return pids


def running(pid: int) -> bool:
    """Alive, not a zombie, and still a DVC process (not a reused pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and b"dvc" in cmdline


@dataclass(frozen=True)
class Sweep:
    experiments: dict[str, dict]  # `dvc exp show`'s entry of each experiment of the sweep, by name
    logs: dict[str, str]  # `dvc queue logs <name>`
    worker_tasks: list[int]  # experiments each queue worker ran (from its log)


def worker_tasks(p: Project) -> list[int]:
    logs = sorted((p.root / ".dvc" / "tmp" / "exps" / "celery").glob("dvc-exp-worker-*.out"))
    return [len(re.findall(r"tasks\.run_exp\[[^]]+\] received", log.read_text())) for log in logs]


@pytest.fixture(scope="module")
def sweep(team: Project) -> Iterator[Sweep]:
    """Two experiments queued with `dvc exp run --queue` and run by `dvc queue start -j 2`."""
    p = team
    for name, lr in SWEEP.items():
        queued = p.dvc("exp", "run", "--queue", "train@cnn", "--name", name, "-S", f"train.lr={lr}")
        assert f"Queued experiment '{name}'" in queued.stdout, queued.stdout
    assert queue_table(p)[0] == dict.fromkeys(SWEEP, "Queued")
    try:
        started = p.dvc("queue", "start", "-j", "2", timeout=120)
        assert "Started '2' new experiments task queue workers" in started.stdout, started.stdout
        deadline = time.monotonic() + QUEUE_TIMEOUT_S
        tasks, text = queue_table(p)
        while set(tasks.values()) - DONE or set(tasks) != set(SWEEP):
            assert time.monotonic() < deadline, f"queue not done after {QUEUE_TIMEOUT_S} s:\n{text}"
            time.sleep(2)
            tasks, text = queue_table(p)
        logs = {name: p.dvc("queue", "logs", name, timeout=60).stdout for name in SWEEP}
        assert tasks == dict.fromkeys(SWEEP, "Success"), f"{text}\n" + "\n".join(logs.values())
        experiments = {name: exp for name, exp in p.experiments().items() if name in SWEEP}
        yield Sweep(experiments, logs, worker_tasks(p))
    finally:
        # Workers leave by themselves once the queue is empty; never let one outlive the tests.
        p.dvc("queue", "stop", check=False, timeout=60)
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in queue_pids(p)) and time.monotonic() < deadline:
            time.sleep(1)
        for pid in filter(running, queue_pids(p)):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        assert not list(filter(running, queue_pids(p))), "DVC queue processes left running"


def test_queued_sweep(team: Project, sweep: Sweep) -> None:
    p = team
    assert sweep.worker_tasks == [1, 1], "the two workers did not run one experiment each"
    for log in sweep.logs.values():
        assert p.ran_in(log) == {"train@cnn"}, log  # data and stats came with the baseline commit
    assert set(sweep.experiments) == set(SWEEP), f"dvc exp show lists {sorted(p.experiments())}"
    models = set()
    for name, lr in SWEEP.items():
        exp = sweep.experiments[name]
        assert exp["params"]["params.yaml"]["train"]["lr"] == lr
        assert exp["params"]["params.yaml"]["device"] == "cpu"
        metrics = exp["metrics"]["reports/train/cnn/metrics.json"]
        assert metrics["step"] == 1 and 0 <= metrics["val"]["accuracy"] <= 1
        models.add(exp["outs"]["models/cnn.pt"]["hash"])
    assert len(models) == 2 and None not in models, "both learning rates trained the same model"
    # Queued experiments ran in temporary copies: the workspace still holds the baseline and no model.
    assert p.params()["train"]["lr"] == 0.002
    assert not (p.root / "models" / "cnn.pt").exists()
    assert p.git("status", "--porcelain").stdout == ""


def test_experiment_shared_through_remotes(team: Project, sweep: Sweep, tmp_path: Path) -> None:
    p, name = team, "lr-1e-3"
    original = sweep.experiments[name]
    model_hash = original["outs"]["models/cnn.pt"]["hash"]
    cached = p.root / ".dvc" / "cache" / "files" / "md5" / model_hash[:2] / model_hash[2:]
    assert p.md5(str(cached.relative_to(p.root))) == model_hash  # the hash is the trained file's md5

    pushed = p.dvc("exp", "push", "origin", name)
    assert f"Pushed experiment {name} to Git remote 'origin'" in pushed.stdout, pushed.stdout
    assert p.dvc("exp", "list", "--name-only", "origin").stdout.split() == [name]

    other = clone(p.root.parent / "origin.git", tmp_path / "other")
    assert other.experiments() == {}
    pulled = other.dvc("exp", "pull", "origin", name)
    assert "Pulled experiment" in pulled.stdout and name in pulled.stdout, pulled.stdout
    shown = other.experiments()
    assert set(shown) == {name}  # only what was pushed
    assert shown[name]["params"] == original["params"]
    assert shown[name]["metrics"] == original["metrics"]  # read from the pulled cache
    assert shown[name]["metrics"]["reports/train/cnn/metrics.json"]["step"] == 1

    # `dvc exp apply` checks the outputs out itself (a `dvc checkout --force`); the `dvc checkout` after it
    # (the one to run after a plain `git checkout`) finds nothing left to do.
    applied = other.dvc("exp", "apply", name)
    assert other.md5("models/cnn.pt") == model_hash
    assert other.params()["train"]["lr"] == 0.001
    restored = other.dvc("checkout")
    output = applied.stdout + applied.stderr + restored.stdout + restored.stderr
    assert "Running stage" not in output and "Reproducing" not in output, output
    assert other.md5("models/cnn.pt") == model_hash
    assert other.status("--with-deps", "train@cnn") == {}  # model, data and stats all match its dvc.lock
