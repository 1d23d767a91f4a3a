"""Data-parallel training (gloo on the CPU): two processes train the same net as one, and resume after a crash."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp
from conftest import REPO_ROOT
from test_training import tiny_model, tiny_run

from visionlab.core.errors import PipelineError
from visionlab.training import loop
from visionlab.training.distributed import (
    World,
    check_devices,
    check_world_size,
    join_world,
    leave_world,
)
from visionlab.training.loop import check_resumable, fit

# float32 training: the two runs add the same numbers in another order (the loss and BatchNorm sums
# are taken per rank, then across ranks), so weights differ by float32 roundings (6e-8 relative each)
# of the gradients, carried through the 8 steps: measured up to 2e-7 absolute. RTOL bounds that for
# weights of ordinary size; ATOL covers weights still near zero (fast's BatchNorm shifts, ~1e-3),
# where the same absolute rounding is a large relative one. Any real difference (per-rank BatchNorm
# statistics, other crops, an unscaled gradient) moves weights by 1e-3 or more (see the last check).
RTOL, ATOL = 1e-5, 1e-6

CASES = {
    # BatchNorm, dropout, crops and flips, a one-cycle schedule
    "cnn-dropout-onecycle": {"model": "cnn", "schedule": "onecycle", "model_config": {"dropout": 0.25}},
    # BatchNorm with frozen scales, lookahead, label smoothing, the linear schedule
    "fast-lookahead": {
        "model": "fast",
        "optimizer": "sgd",
        "lr": 0.2,
        "schedule": "linear",
        "label_smoothing": 0.2,
        "lookahead": 0.5,
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_run(out: Path, case: dict[str, Any], epochs: int = 2, resume: bool = False, world: World | None = None):
    case = dict(case)
    config = case.pop("model_config", {})
    run = tiny_run(out, epochs=epochs, resume=resume, **case)
    run.model_config = {**run.model_config, **config}
    if world is not None:
        run.world = world
    return run


def worker(rank: int, size: int, port: int, out: str, case: dict, resume: bool, crash_after: int | None) -> None:
    """One torchrun-like rank: join the group as the train stage does, fit, and write the result."""
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    device, world = join_world(torch.device("cpu"))
    try:
        run = make_run(Path(out), case, resume=resume, world=world)
        if crash_after is not None and world.is_main:
            real_save, saves = loop.save_torch, []

            def save_then_die(path, state):
                real_save(path, state)
                saves.append(path)
                if len(saves) == crash_after:
                    os.kill(os.getpid(), signal.SIGKILL)  # the machine dies right after this checkpoint

            loop.save_torch = save_then_die
        model = tiny_model(run)
        summary = fit(run, model)
        torch.save({"state": model.state_dict(), "history": summary["history"]}, Path(out) / f"rank{rank}.pt")
    finally:
        leave_world()


def spawn(out: Path, case: dict, resume: bool = False, crash_after: int | None = None, size: int = 2) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(worker, (size, free_port(), str(out), case, resume, crash_after), nprocs=size)


def one_process(out: Path, case: dict) -> tuple[dict[str, torch.Tensor], list[dict]]:
    run = make_run(out, case)
    model = tiny_model(run)
    return model.state_dict(), fit(run, model)["history"]


def max_relative_difference(reference: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> float:
    """The largest ||a - b|| / ||a|| over the floating-point tensors (weights and BatchNorm statistics)."""
    return max(
        float((other[key] - value).norm() / value.norm().clamp_min(1e-12))
        for key, value in reference.items()
        if value.is_floating_point()
    )


def net_relative_difference(reference: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> float:
    """||a - b|| / ||a|| over all floating-point tensors together."""
    keys = [key for key, value in reference.items() if value.is_floating_point()]
    a, b = (torch.cat([state[key].flatten() for key in keys]) for state in (reference, other))
    return float((b - a).norm() / a.norm())


def assert_same_training(reference: tuple[dict, list], result: dict) -> float:
    state, history = reference
    assert result["state"].keys() == state.keys()  # the plain net: no "module." prefix, no new keys
    for key, value in state.items():
        if value.is_floating_point():
            message = lambda text, key=key: f"{key}: {text}"  # noqa: E731
            torch.testing.assert_close(result["state"][key], value, rtol=RTOL, atol=ATOL, msg=message)
        else:
            assert torch.equal(result["state"][key], value), key  # num_batches_tracked
    assert len(result["history"]) == len(history)
    for mine, theirs in zip(result["history"], history, strict=True):
        assert mine == pytest.approx(theirs, rel=RTOL, abs=ATOL)
    assert net_relative_difference(state, result["state"]) < RTOL
    return max_relative_difference(state, result["state"]), net_relative_difference(state, result["state"])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_two_processes_train_the_same_net_as_one(tmp_path: Path, case: dict) -> None:
    reference = one_process(tmp_path / "one", case)
    spawn(tmp_path / "two", case)
    ranks = [torch.load(tmp_path / "two" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for key, value in ranks[0]["state"].items():  # the ranks hold bit-identical nets
        assert torch.equal(value, ranks[1]["state"][key]), key
    per_tensor, whole = assert_same_training(reference, ranks[0])
    print(f"1 vs 2 processes: relative difference {whole:.1e} (whole net), at most {per_tensor:.1e} (per tensor)")
    # and the test can fail: one process with the per-rank batch trains another net
    half = one_process(tmp_path / "half", {**case, "batch_size": 16})
    assert max_relative_difference(reference[0], half[0]) > 100 * RTOL


@pytest.mark.slow
def test_two_processes_resume_after_a_crash_as_one_uninterrupted_process(tmp_path: Path) -> None:
    case = CASES["cnn-dropout-onecycle"]
    reference = one_process(tmp_path / "one", case)
    crashed = tmp_path / "crashed"
    with pytest.raises(mp.ProcessExitedException, match="signal SIGKILL"):
        spawn(crashed, case, crash_after=1)
    checkpoint = torch.load(crashed / "checkpoint.pt", weights_only=True)
    assert len(checkpoint["history"]) == 1 and not (crashed / "rank0.pt").exists()
    spawn(crashed, case, resume=True)
    per_tensor, whole = assert_same_training(reference, torch.load(crashed / "rank0.pt", weights_only=True))
    print(f"1 vs 2 processes resumed: relative difference {whole:.1e} (whole net), at most {per_tensor:.1e}")


def test_a_batch_that_does_not_split_among_the_processes_is_refused(tmp_path: Path) -> None:
    run = make_run(tmp_path, CASES["cnn-dropout-onecycle"], world=World(rank=0, size=3))
    with pytest.raises(PipelineError, match="batch size 32 does not split evenly among 3 processes"):
        check_resumable(run, tiny_model(run))
    with pytest.raises(PipelineError, match="batch size 32 does not split evenly among 3 processes"):
        fit(run, tiny_model(run))


def test_devices_the_ranks_cannot_share_out_are_refused_before_any_process_starts(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    check_devices(4, torch.device("cpu"))  # gloo: every rank on the CPU, one core each
    with pytest.raises(PipelineError, match=r"^run.processes=5 on the CPU, but this machine gives it 4 core\(s\)$"):
        check_devices(5, torch.device("cpu"))
    check_devices(1, torch.device("cuda", 1))  # one process may name its GPU
    with pytest.raises(PipelineError, match=r"^device=cuda:1 names one GPU, but 2 processes each need their own"):
        check_devices(2, torch.device("cuda", 1))
    with pytest.raises(PipelineError, match=r"^device=mps cannot train under torchrun"):
        check_devices(1, torch.device("mps"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_devices(2, torch.device("cuda"))
    with pytest.raises(PipelineError, match=r"^run.processes=3 needs a GPU each, but 2 are visible$"):
        check_devices(3, torch.device("cuda"))


def test_a_torchrun_world_other_than_train_processes_is_refused() -> None:
    # dvc.lock records run.processes: a world of another size would be a run the lock misdescribes.
    check_world_size(2, 2)
    with pytest.raises(
        PipelineError, match=r"^torchrun started 4 process\(es\) but run.processes is 1: set run.processes=4$"
    ):
        check_world_size(1, 4)


def test_a_process_that_asked_to_die_with_its_parent_dies_when_the_parent_is_killed(tmp_path: Path) -> None:
    # What keeps torchrun and its ranks from training on after `kill -9` of the stage (or of torchrun).
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import subprocess, sys, time\n"
        "from visionlab.training.distributed import die_with_parent\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], preexec_fn=die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    # The checkout under test, whatever `pip install -e` last pointed at.
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    launch = subprocess.Popen([sys.executable, str(parent)], stdout=subprocess.PIPE, text=True, env=env)
    assert launch.stdout is not None
    child = int(launch.stdout.readline())
    os.kill(launch.pid, signal.SIGKILL)
    launch.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, os.WNOHANG)  # not ours: reaped by init; the loop just waits
        time.sleep(0.1)
    status = Path(f"/proc/{child}/status")
    assert not status.exists() or "State:\tZ" in status.read_text(), "the child outlived its killed parent"
