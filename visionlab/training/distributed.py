"""Data-parallel training under torchrun: the ranks, their process group, the modules that see the global batch. Every
rank holds all the data and runs the same seeded random draws as one process would (the permutation, the augmentation,
the dropout masks are drawn for the whole global batch), then keeps its slice of each batch. Gradients are averaged by
``DistributedDataParallel`` and BatchNorm statistics are taken over the global batch, so N processes train the same net
as one process with the same ``batch_size``, to rounding."""

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel

from visionlab.core.errors import PipelineError


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel ranks; ``active`` once it has joined a process group."""

    rank: int = 0
    size: int = 1
    active: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0 alone prints, logs and writes files."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's slice of a global batch (the batch size divides by the world size)."""
        local = len(batch) // self.size
        return batch[self.rank * local : (self.rank + 1) * local]

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over the ranks, in place (a no-op for one process)."""
        if self.active and self.size > 1:
            dist.all_reduce(tensor)
        return tensor

    def barrier(self) -> None:
        if self.active and self.size > 1:
            dist.barrier()


SINGLE = World()


def launched_by_torchrun() -> bool:
    return all(key in os.environ for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK"))  # torchrun sets them in every rank


def check_batch_split(batch_size: int, processes: int) -> None:
    """Refuse a global batch that does not split evenly: unequal shards would weigh images unequally."""
    if batch_size % processes:
        raise PipelineError(
            f"batch size {batch_size} does not split evenly among {processes} processes: "
            "make the recipe's batch_size a multiple of run.processes"
        )


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_devices(processes: int, device: torch.device) -> None:
    """Refuse a device the ranks cannot share out: checked before any process starts, and by each rank."""
    if device.type == "cpu" and processes > (cores := usable_cores()):
        # Each rank holds the whole training set: more ranks than cores only multiplies the memory.
        raise PipelineError(f"run.processes={processes} on the CPU, but this machine gives it {cores} core(s)")
    if device.type == "mps":
        raise PipelineError("device=mps cannot train under torchrun (NCCL needs CUDA, gloo CPU tensors); use cpu")
    if device.type == "cuda":
        if device.index is not None and processes > 1:
            raise PipelineError(
                f"device={device} names one GPU, but {processes} processes each need their own: use device=cuda or auto"
            )
        if processes > 1 and processes > (count := torch.cuda.device_count()):
            raise PipelineError(f"run.processes={processes} needs a GPU each, but {count} are visible")


def check_world_size(processes: int, size: int) -> None:
    """Under torchrun the world is torchrun's: it must be the one run.processes (and so dvc.lock) records."""
    if size != processes:
        raise PipelineError(
            f"torchrun started {size} process(es) but run.processes is {processes}: set run.processes={size}"
        )


def relaunch_under_torchrun(processes: int, module: str) -> int:
    """Run this stage again as ``processes`` torchrun ranks with the same arguments; return its exit status.
    SIGINT and SIGTERM reach torchrun's whole process group, and no rank outlives this process. After a
    rank's ``error:`` line, the same line from the others and torchrun's report are dropped: one line, status 1."""
    # The CPU's threads shared out among the ranks (torchrun would set 1, with a banner saying so).
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, usable_cores() // processes))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
    child = subprocess.Popen(
        [*torchrun, "-m", module, *sys.argv[1:]],
        env={**os.environ, "OMP_NUM_THREADS": threads, LAUNCHER_ENV: str(os.getpid())},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=functools.partial(die_with_parent, os.getpid()),
    )

    def forward(signum: int, frame: Any) -> None:
        _signal_group(child, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    errors: list[str] = []
    try:
        assert child.stderr is not None
        for line in child.stderr:
            if line.startswith("error: "):
                if line not in errors:
                    errors.append(line)
                    sys.stderr.write(line)
            elif not errors:
                sys.stderr.write(line)
        status = child.wait()
        status = 128 - status if status < 0 else status  # killed by signal N: the shell's 128 + N
        return 1 if errors and status else status
    finally:
        if child.poll() is None:
            _signal_group(child, signal.SIGTERM)
            try:
                child.wait(timeout=30)  # torchrun's time to stop its ranks before they are killed
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Looked up at import, in the stage: a forked child (preexec_fn) must not dlopen, another thread may hold the lock.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
LAUNCHER_ENV = "VISIONLAB_LAUNCHER_PID"  # the stage that started torchrun, the ranks' grandparent


def die_with_parent(expected_parent: int | None = None) -> None:
    """Have the kernel SIGKILL this process when its parent dies, however it died (Linux): set in torchrun and
    in each rank, so a ``kill -9`` of the stage takes the whole tree. A parent gone before the call is caught
    by ``expected_parent`` or, in a rank, by the launching stage being gone."""
    if _PRCTL is None:
        return
    if _PRCTL(1, signal.SIGKILL) != 0:  # 1: PR_SET_PDEATHSIG, <linux/prctl.h>
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    launcher = int(os.environ.get(LAUNCHER_ENV, "0"))
    orphaned = expected_parent is not None and os.getppid() != expected_parent
    if orphaned or (launcher and not Path(f"/proc/{launcher}").exists()):
        os.kill(os.getpid(), signal.SIGKILL)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(child.pid, signum)


def join_world(device: torch.device) -> tuple[torch.device, World]:
    """Under torchrun: this rank's device (one GPU per rank, ``cuda:LOCAL_RANK``; the CPU is shared) and a
    process group (NCCL on CUDA, gloo on the CPU); else as it is."""
    if not launched_by_torchrun():
        return device, SINGLE
    rank, size, local_rank = (int(os.environ[key]) for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    check_devices(size, device)  # a torchrun started by hand skipped the stage's own check
    if device.type == "cuda":
        index = device.index if device.index is not None else local_rank
        if index >= (count := torch.cuda.device_count()):
            raise PipelineError(f"rank with LOCAL_RANK={local_rank} has no GPU: {count} visible on this node")
        torch.cuda.set_device(index)
        device = torch.device("cuda", index)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    return device, World(rank, size, active=True)


def leave_world() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class AllReduceSum(torch.autograd.Function):
    """The sum over the ranks, differentiable: every rank's loss depends on every rank's input, so the
    gradient of the sum is the sum of the ranks' gradients (``torch.distributed.nn``'s is deprecated)."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    backward = forward  # the gradient is summed over the ranks likewise


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics are over the global batch: per-channel sums all-reduced.
    ``torch.nn.SyncBatchNorm`` refuses CPU tensors, so this serves gloo and NCCL alike. Mean, then variance about it
    (two passes: no cancellation as in E[x^2] - E[x]^2), in float32, through the autograd all-reduce, so that gradients
    flow to every rank's inputs. It shares the parameters and buffers of the BatchNorm it replaces (a frozen scale stays
    frozen) and keeps its state-dict keys."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-d input, got {input.dim()}-d")

    @classmethod
    def replacing(cls, bn: _BatchNorm) -> Self:
        new = cls(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            setattr(new, name, getattr(bn, name))
        return new.train(bn.training)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1, *([1] * (input.dim() - 2))]
        x = input.float()
        count = x.numel() // x.shape[1] * dist.get_world_size()
        mean = AllReduceSum.apply(x.sum(dims)) / count
        centred = x - mean.view(shape)
        var = AllReduceSum.apply(centred.square().sum(dims)) / count
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:  # as nn.BatchNorm: the unbiased variance, momentum or a cumulative average
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), factor)
            unbiased = var.detach() * count / max(1, count - 1)
            self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        return out.to(input.dtype)


class GlobalBatchDropout(nn.Dropout):
    """Dropout that draws the mask of the whole global batch and keeps this rank's slice. The mask is ``F.dropout`` of
    ones shaped (and laid out) as the global batch: the same kernel, the same random numbers and so the same mask as one
    process's ``nn.Dropout`` on that batch, on the CPU and on CUDA. The generators then stay equal on all ranks, so one
    checkpointed RNG state resumes them all. Masks are cheap next to the convolutions."""

    def __init__(self, p: float, world: World) -> None:
        super().__init__(p)
        self.world = world

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or input.numel() == 0:
            return input
        if self.p == 1:
            return input * 0
        ones = input.new_ones((len(input) * self.world.size, *input.shape[1:]))
        if input.dim() == 4 and not input.is_contiguous() and input.is_contiguous(memory_format=torch.channels_last):
            ones = ones.contiguous(memory_format=torch.channels_last)  # the layout one process's input has
        return input * self.world.shard(F.dropout(ones, self.p, training=True))


def global_batch_modules(model: nn.Module, world: World) -> nn.Module:
    """Replace the modules that need the global batch (BatchNorm, Dropout), in place; parameters are kept.
    :class:`GlobalBatchNorm` on every device, so the GPUs run the code the CPU tests check."""
    for name, child in list(model.named_children()):
        if isinstance(child, _BatchNorm):
            model.add_module(name, GlobalBatchNorm.replacing(child))
        elif type(child) is nn.Dropout:
            model.add_module(name, GlobalBatchDropout(child.p, world).train(child.training))
        else:
            global_batch_modules(child, world)
    return model


def data_parallel(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The module to train: ``model`` itself for one process; under torchrun, DDP around it (rank 0's weights)."""
    if not world.active:
        return model
    if world.size > 1:
        global_batch_modules(model, world)
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)
