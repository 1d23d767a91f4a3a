"""The training loop: data as tensors on the device, batched augmentation, one sync per check interval."""

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from visionlab.core.errors import PipelineError
from visionlab.core.progress import progress_enabled
from visionlab.core.torchfile import save_torch
from visionlab.evaluation.inference import (
    DeviceSplit,
    autocast_for,
    loss_and_accuracy,
    precision_note,
    resolve_precision,
    to_float,
)
from visionlab.models.normalize import Normalized
from visionlab.training.augment import random_crop, random_flip
from visionlab.training.checkpoint import load_resume_checkpoint, restore_training_state
from visionlab.training.distributed import SINGLE, World, check_batch_split, data_parallel
from visionlab.training.params import RecipeParams

# Loss values are checked for NaN/inf every this many steps: one host sync per interval, not per step.
FINITE_CHECK_INTERVAL = 25


@dataclass
class EpochResult:
    loss: float
    accuracy: float
    images: int
    seconds: float


def build_optimizer(params: RecipeParams, model: nn.Module) -> torch.optim.Optimizer:
    if params.optimizer == "nadam":
        return torch.optim.NAdam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    if params.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=params.lr, momentum=params.momentum, weight_decay=params.weight_decay, nesterov=True
    )


def build_scheduler(
    params: RecipeParams, optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A per-step schedule over the whole run; ``none`` keeps the learning rate constant."""
    if params.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if params.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=params.lr, total_steps=total_steps, pct_start=params.warmup
        )
    if params.schedule == "linear":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, LinearWarmupDecay(total_steps, params.warmup))
    return None


@dataclass(frozen=True)
class LinearWarmupDecay:
    """Up from ~0 to 1 over the ``warmup`` fraction of the steps, then down to 0 at the last step. A class rather than a
    lambda: the scheduler's state dict, which holds it, is checkpointed."""

    total_steps: int
    warmup: float

    def __call__(self, step: int) -> float:
        warm = max(1, round(self.warmup * self.total_steps))
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (self.total_steps - step) / max(1, self.total_steps - warm))


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    """Full batches only (a last batch of one image would break BatchNorm); at least one batch."""
    return max(1, n_images // batch_size)


class Lookahead:
    """Slow weights that trail the trained ones (Zhang et al. 2019, as airbench uses it): every ``every`` steps
    they move ``1 - decay`` of the way to the trained ones, and the model jumps back to them; buffers are copied."""

    def __init__(self, model: nn.Module, decay: float, every: int = 5) -> None:
        self.decay, self.every, self.count = decay, every, 0
        self.slow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def step(self, model: nn.Module) -> None:
        self.count += 1
        if self.count % self.every:
            return
        for key, value in model.state_dict().items():
            slow = self.slow[key]
            if value.is_floating_point():
                slow.lerp_(value, 1 - self.decay)
            else:
                slow.copy_(value)
            value.copy_(slow)

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "slow": self.slow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = int(state["count"])
        for key, value in state["slow"].items():
            self.slow[key].copy_(value)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    data: DeviceSplit,
    params: RecipeParams,
    generator: torch.Generator,
    epoch: int,
    progress: bool = True,
    lookahead: Lookahead | None = None,
    world: World = SINGLE,
) -> EpochResult:
    """One pass over ``data`` in shuffled full batches; raise on the first non-finite loss. Under torchrun
    ``model`` is DDP-wrapped, and the losses and accuracy returned are the global batches', on every rank."""
    device = data.images.device
    model.train()
    batch_size = min(params.batch_size, len(data))
    n_steps = steps_per_epoch(len(data), batch_size)
    order = torch.randperm(len(data), generator=generator, device=device)
    losses = torch.zeros(n_steps, device=device)
    correct = torch.zeros(n_steps, device=device, dtype=torch.long)
    synchronize(device)
    start = time.perf_counter()
    bar = tqdm(range(n_steps), desc=f"epoch {epoch}", leave=False, disable=not (progress and progress_enabled()))
    checked = 0  # losses[:checked] are the global batches' (summed over the ranks, then averaged)
    for step in bar:
        index = order[step * batch_size : (step + 1) * batch_size]
        # Every rank augments the whole global batch (one process's draws, the generators stay equal), keeps its slice.
        images = random_crop(data.images[index], params.augment.crop_padding, generator)
        if params.augment.flip:
            images = random_flip(images, generator)
        images, labels = world.shard(images), world.shard(data.labels[index])
        with autocast_for(device, params.precision):
            logits = model(to_float(images))
            # The mean over this rank's slice; DDP averages the gradients over the equal slices,
            # which is the gradient of the global batch's mean.
            loss = F.cross_entropy(logits, labels, label_smoothing=params.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if lookahead is not None:
            lookahead.step(model.module if isinstance(model, DistributedDataParallel) else model)
        losses[step] = loss.detach()
        correct[step] = (logits.argmax(1) == labels).sum()
        if (step + 1) % FINITE_CHECK_INTERVAL == 0 or step + 1 == n_steps:
            # All ranks check the same global losses, so all stop at the same step (none waits alone).
            world.sum_(losses[checked : step + 1]).div_(world.size)
            checked = step + 1
            finite = torch.isfinite(losses[:checked])
            if not bool(finite.all()):
                raise NonFiniteLoss(f"non-finite loss at epoch {epoch}, step {int((~finite).nonzero()[0, 0]) + 1}")
            bar.set_postfix(loss=f"{losses[step].item():.3f}")
    world.sum_(correct)
    synchronize(device)
    seconds = time.perf_counter() - start
    images_seen = n_steps * batch_size
    return EpochResult(losses.mean().item(), correct.sum().item() / images_seen, images_seen, seconds)


class NonFiniteLoss(PipelineError):
    pass


@dataclass
class TrainingRun:
    """Everything :func:`fit` needs besides the model: data, recipe, where to write, and how to log."""

    model_name: str
    model_config: dict[str, Any]
    params: RecipeParams
    seed: int
    train: DeviceSplit
    val: DeviceSplit
    checkpoint_path: Path
    fingerprint_extra: dict[str, Any]
    log_epoch: Callable[[dict[str, float]], None] = lambda row: None
    progress: bool = True
    world: World = SINGLE  # this rank under torchrun
    resume: bool = False  # from the checkpoint at checkpoint_path, if there is one

    def fingerprint(self) -> dict[str, Any]:
        """What a resumable checkpoint must match: everything that shapes the run, so not ``run.processes``.

        N processes train the same net as one, to rounding (the same draws, the global batch's BatchNorm
        statistics and mean gradient), so a run may be resumed with another number of processes.
        """
        return {
            "model": self.model_name,
            "model_config": self.model_config,
            "train": asdict(self.params),
            "precision": resolve_precision(self.params.precision, self.train.images.device),
            "seed": self.seed,
            **self.fingerprint_extra,
        }


def check_resumable(run: TrainingRun, model: nn.Module) -> None:
    """Refuse now, before any output exists, whatever ``fit`` would refuse of ``run`` (a resume checkpoint
    that does not fit, a batch that does not split): ``fit``'s start, on a copy of ``model``."""
    _start(run, copy.deepcopy(model))


def _start(run: TrainingRun, model: nn.Module) -> tuple[Any, ...]:
    """The optimiser, schedule, lookahead and generator of ``run`` for ``model``, and the resume
    checkpoint (None without one) restored into them and into ``model``; a checkpoint that does not
    fit is refused. The process's random state is left to the caller."""
    params, device = run.params, run.train.images.device
    batch_size = min(params.batch_size, len(run.train))
    check_batch_split(batch_size, run.world.size)
    init_from_data(model, run.train)
    generator = torch.Generator(device=device).manual_seed(run.seed)
    optimizer = build_optimizer(params, model)
    lookahead = Lookahead(model, params.lookahead) if params.lookahead > 0 else None
    scheduler = build_scheduler(params, optimizer, params.epochs * steps_per_epoch(len(run.train), batch_size))
    state = None
    if run.resume and run.checkpoint_path.is_file():
        state = load_resume_checkpoint(run.checkpoint_path, run.fingerprint(), device)
        restore_training_state(state, model, optimizer, scheduler, lookahead, generator, run.checkpoint_path)
    return optimizer, scheduler, lookahead, generator, state


# Data-initialised layers (``fast``'s patch whitening) see at most this many training images.
INIT_IMAGES = 1024


def init_from_data(model: nn.Module, data: DeviceSplit) -> None:
    """Give a net with an ``init_from_data`` method the first training images, normalised as it will see them."""
    net, normalize = (model.net, model[0]) if isinstance(model, Normalized) else (model, nn.Identity())
    if (init := getattr(net, "init_from_data", None)) is not None:
        init(normalize(to_float(data.images[:INIT_IMAGES])))


def fit(run: TrainingRun, model: nn.Module) -> dict[str, Any]:
    """Train ``model`` for ``params.epochs``, checkpointing every epoch; return the run's summary. With
    ``run.resume`` it continues a matching checkpoint (optimiser, schedule, lookahead and random states
    restored: the same result as an uninterrupted run). Under torchrun every rank calls it with the same run;
    rank 0 alone prints and writes, and ``model`` itself stays unwrapped, to be saved as it is."""
    device = run.train.images.device
    params, world = run.params, run.world
    say = print if world.is_main else lambda *args: None
    precision = resolve_precision(params.precision, device)
    if note := precision_note(params.precision, device):
        say(note)
    batch_size = min(params.batch_size, len(run.train))
    torch.manual_seed(run.seed)
    optimizer, scheduler, lookahead, generator, state = _start(run, model)
    trained = data_parallel(model, world, device)

    # train_seconds: time in training steps only (for images/second); wall_seconds: the whole loop
    history: list[dict[str, float]] = []
    train_seconds = wall_seconds = 0.0
    fingerprint = run.fingerprint()
    if state is not None:
        torch.set_rng_state(state["cpu_rng_state"].cpu())
        if device.type == "cuda" and "cuda_rng_state" in state:
            torch.cuda.set_rng_state(state["cuda_rng_state"].cpu(), device)
        history = list(state["history"])
        train_seconds, wall_seconds = state["train_seconds"], state["wall_seconds"]
        say(f"resuming from {run.checkpoint_path} after epoch {len(history)}")
    elif run.resume:
        say(f"run.resume: no checkpoint at {run.checkpoint_path}, starting at epoch 1")
    for row in history:
        run.log_epoch(row)

    for epoch in range(len(history) + 1, params.epochs + 1):
        started = time.perf_counter()
        try:
            progress = run.progress and world.is_main
            result = train_epoch(
                trained, optimizer, scheduler, run.train, params, generator, epoch, progress, lookahead, world
            )
        except NonFiniteLoss as err:
            kept = f"checkpoint of epoch {len(history)} kept at {run.checkpoint_path}" if history else "no checkpoint"
            raise PipelineError(f"{err}: stopped; {kept}; try a lower train.lr") from None
        # Every rank evaluates the same weights on the whole validation split: the same history on all.
        val_loss, val_accuracy = loss_and_accuracy(model, run.val, precision=params.precision)
        row = {
            "epoch": epoch,
            "train_loss": result.loss,
            "train_accuracy": result.accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
        }
        history.append(row)
        train_seconds += result.seconds
        wall_seconds += time.perf_counter() - started
        run.log_epoch(row)
        say(
            f"epoch {epoch}/{params.epochs}: train loss {result.loss:.4f} acc {result.accuracy:.4f} | "
            f"val loss {val_loss:.4f} acc {val_accuracy:.4f} | {result.images / result.seconds:,.0f} img/s"
        )
        state = {
            "fingerprint": fingerprint,
            "model_state": model.state_dict(),
            "optimizer_state": optimizer.state_dict(),
            "scheduler_state": scheduler.state_dict() if scheduler is not None else {},
            "lookahead_state": lookahead.state_dict() if lookahead is not None else {},
            "generator_state": generator.get_state(),
            "cpu_rng_state": torch.get_rng_state(),
            "history": history,
            "train_seconds": train_seconds,
            "wall_seconds": wall_seconds,
        }
        if device.type == "cuda":
            state["cuda_rng_state"] = torch.cuda.get_rng_state(device)
        if world.is_main:
            save_torch(run.checkpoint_path, state)
        world.barrier()  # no rank runs ahead of a checkpoint that a resume would start from

    images_trained = len(history) * steps_per_epoch(len(run.train), batch_size) * batch_size
    return {
        "epochs": len(history),
        "history": history,
        "device": device.type,  # cuda, not cuda:0: the same record whichever GPU a rank was given
        "precision": precision,
        "train_seconds": train_seconds,
        "wall_seconds": wall_seconds,
        "images_per_second": images_trained / train_seconds if train_seconds > 0 else math.nan,
    }
