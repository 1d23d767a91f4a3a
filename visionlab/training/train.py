"""Train one CIFAR model and write its model file (``models/<name>.pt``): the train stage and the GPU check."""

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from visionlab.core.errors import PipelineError
from visionlab.core.torchfile import save_torch
from visionlab.data.cifar import Cifar10, train_val_split
from visionlab.evaluation.inference import DeviceSplit
from visionlab.models.normalize import Normalized
from visionlab.models.registry import build_model
from visionlab.training.checkpoint import loaded_code_digest
from visionlab.training.distributed import SINGLE, World
from visionlab.training.loop import TrainingRun, check_resumable, fit
from visionlab.training.params import RecipeParams
from visionlab.training.record import TrainingInfo


def train_model(
    name: str,
    config: dict[str, Any],
    recipe: RecipeParams,
    data: Cifar10,
    stats: tuple[list[float], list[float]],
    out: str | Path,
    resume_path: str | Path,
    *,
    seed: int,
    val_fraction: float,
    device: torch.device,
    data_sha256: str | None = None,
    world: World = SINGLE,
    live: str | Path | None = None,
    progress: bool = True,
    resume: bool = False,
) -> tuple[dict[str, Any], TrainingInfo]:
    """Train ``name`` on ``data``'s training images less the validation split; write its model file ``out``,
    checkpoint every epoch to ``resume_path`` and, with ``live``, log the curves with DVCLive there. Returns the
    model file's summary and the run's timings (never in the model file: the same run writes the same bytes)."""
    mean, std = stats
    train, val = train_val_split(data, val_fraction, seed)
    torch.manual_seed(seed)  # the initial weights are part of the run
    net = build_model(name, config)
    if world.is_main:
        ranks = f", rank 0 of {world.size}" if world.active else ""
        print(
            f"training {name} on {device}: {len(train.labels)} train / {len(val.labels)} val images, "
            f"{recipe.epochs} epochs{ranks}"
        )
    model = Normalized(net, mean, std).to(device, memory_format=torch.channels_last)
    run = TrainingRun(
        model_name=name,
        model_config=config,
        params=recipe,
        seed=seed,
        train=DeviceSplit.from_split(train, device),
        val=DeviceSplit.from_split(val, device),
        checkpoint_path=Path(resume_path),
        # A checkpoint resumes only the very same run: same data, normalisation, device and code.
        fingerprint_extra={
            "val_fraction": val_fraction,
            "train_images": len(train.labels),
            "data_sha256": data_sha256,
            "mean": mean,
            "std": std,
            "device": device.type,
            "code_sha256": loaded_code_digest(),
        },
        progress=progress,
        world=world,
        resume=resume,
    )
    check_resumable(run, model)  # refuse a foreign or malformed checkpoint before any output is opened

    @contextlib.contextmanager
    def dvclive_writes() -> Iterator[None]:  # DVCLive writes its files itself, not through visionlab.core.io
        try:
            yield
        except OSError as err:
            raise PipelineError(f"{live}: cannot write ({err.strerror or err})") from None

    logger = None
    if live is not None and world.is_main:
        from dvclive import Live  # imported only to log: the GPU machine has no dvclive

        with dvclive_writes():
            logger = Live(str(live), dvcyaml=False, save_dvc_exp=False, report=None)

        def log_epoch(row: dict[str, float]) -> None:
            with dvclive_writes():
                logger.step = int(row["epoch"])
                for split in ("train", "val"):
                    for metric in ("loss", "accuracy"):
                        logger.log_metric(f"{split}/{metric}", row[f"{split}_{metric}"])
                logger.make_summary()

        run.log_epoch = log_epoch
    summary = fit(run, model)
    # Timings go to the metrics (one column) and the side file (the details).
    info = TrainingInfo(
        wall_seconds=summary.pop("wall_seconds"),
        images_per_second=summary.pop("images_per_second"),
        precision=summary["precision"],
        processes=world.size,
    )
    train_seconds = summary.pop("train_seconds")
    if logger is not None:
        with dvclive_writes():
            logger.summary["timing"] = {"train_seconds": train_seconds}
            logger.make_summary()
            logger.end()
    summary.update(
        train_images=len(train.labels),
        val_images=len(val.labels),
        test_images=len(data.test_labels),
        subset=data.is_subset,
        train_params=dataclasses.asdict(recipe),
    )
    if world.is_main:
        save_torch(
            out,
            {
                "model": name,
                "config": config,
                "state_dict": net.state_dict(),
                "mean": mean,
                "std": std,
                "class_names": list(data.class_names),
                "summary": summary,
            },
        )
    return summary, info
