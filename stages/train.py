"""DVC stage `train@<model>`: train the CNN or the ResNet with the seed recipe (`train`), or `fast` with its own
(`fast.train`); log curves with DVCLive. With `run.processes` > 1 it runs itself again under torchrun, as that many
data-parallel ranks (the same command line, so dvc.yaml's cmd stays as it is); rank 0 alone logs and writes the
outputs."""

import sys

from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError, run_stage, stage_parser
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.data.cifar import load_cifar10, load_stats, split_indices
from visionlab.data.params import DataParams
from visionlab.models.registry import MODELS
from visionlab.training import distributed
from visionlab.training.checkpoint import file_digest
from visionlab.training.params import model_and_recipe, train_sections
from visionlab.training.train import train_model


def main() -> None:
    parser = stage_parser(__doc__, data=True)
    parser.add_argument("--model", required=True, help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--out", required=True, help="final model file")
    parser.add_argument("--resume-checkpoint", required=True, help="per-epoch checkpoint for run.resume")
    parser.add_argument("--live", required=True, help="DVCLive directory")
    parser.add_argument("--info", required=True, help="side file: wall time, speed and precision of the run")
    args = parser.parse_args()
    if distributed.launched_by_torchrun():
        distributed.die_with_parent()  # first: a rank must not train on if torchrun (and so the stage) is gone

    if args.model not in MODELS:
        raise PipelineError(f"unknown model {args.model!r}; choices: {', '.join(MODELS)}")
    params = load_params(args.params, "seed", "device", "run", data=DataParams, **train_sections(args.model))
    (config, recipe), processes = model_and_recipe(params, args.model), params.run.processes
    stats = load_stats(args.stats)
    data = load_cifar10(args.data)
    device = resolve_device(params.device)
    n_train = len(split_indices(len(data.train_labels), params.data.val_fraction, params.seed)[0])
    if recipe.batch_size > n_train:  # refused, not clamped: dvc.lock would record a batch that never ran
        key = "fast.train.batch_size" if args.model == "fast" else "train.batch_size"
        raise PipelineError(f"{key}={recipe.batch_size} is larger than the {n_train} training images: lower it")
    if processes > 1 and not distributed.launched_by_torchrun():
        # What every rank would refuse is refused here first, in one line and before any process starts.
        distributed.check_batch_split(recipe.batch_size, processes)
        distributed.check_devices(processes, device)
        sys.exit(distributed.relaunch_under_torchrun(processes, "stages.train"))
    device, world = distributed.join_world(device)  # under torchrun: this rank's device
    if world.active:
        distributed.check_world_size(processes, world.size)
    _, info = train_model(
        args.model,
        config,
        recipe,
        data,
        stats,
        args.out,
        args.resume_checkpoint,
        seed=params.seed,
        val_fraction=params.data.val_fraction,
        device=device,
        data_sha256=file_digest(args.data),
        world=world,
        live=args.live,
        resume=params.run.resume,
    )
    if world.is_main:
        write_record(args.info, info)
        print(f"wrote {args.out} ({info.wall_seconds:.0f} s, {info.images_per_second:,.0f} img/s)")


if __name__ == "__main__":
    try:
        run_stage(main)
    finally:
        distributed.leave_world()
