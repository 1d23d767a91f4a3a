"""DVC stage `train@<model>`: train the CNN or the ResNet with the seed recipe (`train`), or `fast` with its own
(`fast.train`); log curves with DVCLive.

With `train.processes` > 1 it runs itself again under torchrun, as that many data-parallel ranks
(the same command line, so dvc.yaml's cmd stays as it is); rank 0 alone logs and writes the outputs.
"""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from dvclive import Live

from visionlab.data.cifar import load_cifar10, load_stats, train_val_split
from visionlab.device import resolve_device
from visionlab.errors import PipelineError, run_stage
from visionlab.metrics.record import write_record
from visionlab.metrics.training import TrainingInfo
from visionlab.models import MODELS, build_model
from visionlab.models.normalize import Normalized
from visionlab.params import as_dict, load_params, model_and_recipe
from visionlab.training.checkpoint import file_digest, loaded_code_digest, save_checkpoint
from visionlab.training.distributed import (
    check_batch_split,
    check_devices,
    check_world_size,
    join_world,
    launched_by_torchrun,
    leave_world,
    relaunch_under_torchrun,
)
from visionlab.training.loop import DeviceSplit, TrainingRun, check_resumable, fit


def dvclive_logger(live: Live) -> Callable[[dict[str, float]], None]:
    """Log one epoch's row (train and validation loss and accuracy) to DVCLive, step = epoch."""

    def log_epoch(row: dict[str, float]) -> None:
        live.step = int(row["epoch"])
        for split in ("train", "val"):
            for metric in ("loss", "accuracy"):
                live.log_metric(f"{split}/{metric}", row[f"{split}_{metric}"])
        live.make_summary()

    return log_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--out", required=True, help="final model file")
    parser.add_argument("--resume-checkpoint", required=True, help="per-epoch checkpoint for train.resume")
    parser.add_argument("--live", required=True, help="DVCLive directory")
    parser.add_argument("--info", required=True, help="side file: wall time, speed and precision of the run")
    args = parser.parse_args()

    if args.model not in MODELS:
        raise PipelineError(f"unknown model {args.model!r}; choices: {', '.join(MODELS)}")
    params = load_params(args.params, ("seed", "device", "data", "train", args.model))  # fast: train.resume, .processes
    config, recipe = model_and_recipe(params, args.model)
    mean, std = load_stats(args.stats)
    data = load_cifar10(args.data)
    train, val = train_val_split(data, params.data.val_fraction, params.seed)
    device = resolve_device(params.device)
    if recipe.batch_size > len(train.labels):  # refused, not clamped: dvc.lock would record a batch that never ran
        raise PipelineError(
            f"batch_size {recipe.batch_size} is larger than the {len(train.labels)} training images: lower it"
        )
    if recipe.processes > 1 and not launched_by_torchrun():
        # What every rank would refuse is refused here first, in one line and before any process starts.
        check_batch_split(recipe.batch_size, recipe.processes)
        check_devices(recipe.processes, device)
        sys.exit(relaunch_under_torchrun(recipe.processes, "stages.train"))
    device, world = join_world(device)  # under torchrun: this rank's device
    if world.active:
        check_world_size(recipe.processes, world.size)
    torch.manual_seed(params.seed)  # the initial weights are part of the run
    net = build_model(args.model, config)
    if world.is_main:
        processes = f", rank 0 of {world.size}" if world.active else ""
        print(
            f"training {args.model} on {device}: {len(train.labels)} train / {len(val.labels)} val images, "
            f"{recipe.epochs} epochs{processes}"
        )

    model = Normalized(net, mean, std).to(device, memory_format=torch.channels_last)
    run = TrainingRun(
        model_name=args.model,
        model_config=config,
        params=recipe,
        seed=params.seed,
        train=DeviceSplit.from_split(train, device),
        val=DeviceSplit.from_split(val, device),
        checkpoint_path=Path(args.resume_checkpoint),
        # A checkpoint resumes only the very same run: same data, normalisation, device and code.
        fingerprint_extra={
            "val_fraction": params.data.val_fraction,
            "train_images": len(train.labels),
            "data_sha256": file_digest(args.data),
            "mean": mean,
            "std": std,
            "device": device.type,
            "code_sha256": loaded_code_digest(),
        },
        world=world,
    )
    check_resumable(run, model)  # refuse a foreign or malformed checkpoint before any output is opened
    if not world.is_main:
        fit(run, model)  # this rank's share of the work; rank 0 logs and writes every output
        return
    try:
        with Live(args.live, dvcyaml=False, save_dvc_exp=False, report=None) as live:
            run.log_epoch = dvclive_logger(live)
            summary = fit(run, model)
            # Timings are measurements, not results: they go to the metrics and the side file, never into the
            # model file, so the same training always writes a byte-identical models/<model>.pt. The metrics
            # keep one timing column; the details go to the side file.
            info = TrainingInfo(
                wall_seconds=summary.pop("wall_seconds"),
                images_per_second=summary.pop("images_per_second"),
                precision=summary["precision"],
                processes=world.size,
            )
            live.summary["timing"] = {"train_seconds": summary.pop("train_seconds")}
            live.make_summary()
    except OSError as err:  # DVCLive writes its files itself, not through visionlab.io
        raise PipelineError(f"{args.live}: cannot write ({err.strerror or err})") from None
    summary.update(
        train_images=len(train.labels),
        val_images=len(val.labels),
        test_images=len(data.test_labels),
        subset=data.is_subset,
        train_params=as_dict(recipe),
    )
    save_checkpoint(
        args.out,
        {
            "model": args.model,
            "config": config,
            "state_dict": net.state_dict(),
            "mean": mean,
            "std": std,
            "class_names": list(data.class_names),
            "summary": summary,
        },
    )
    write_record(args.info, info)
    print(f"wrote {args.out} ({info.wall_seconds:.0f} s, {info.images_per_second:,.0f} img/s)")


if __name__ == "__main__":
    try:
        run_stage(main)
    finally:
        leave_world()
