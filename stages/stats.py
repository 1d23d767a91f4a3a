"""DVC stage `stats`: the training split's per-channel mean and std (validation held out), and colour covariance."""

from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.io import write_json
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.data.cifar import channel_stats, check_normalisable, load_cifar10, train_val_split
from visionlab.data.colour import ColourStats, colour_covariance
from visionlab.data.params import DataParams


def main() -> None:
    parser = stage_parser(__doc__, data=True)
    parser.add_argument("--out", default="data/stats.json")
    # A file of its own: the train stages read data/stats.json, which stays as it was.
    parser.add_argument("--colour", help="also write the 3x3 colour covariance here (data/colour.json, for visualize@)")
    args = parser.parse_args()

    params = load_params(args.params, "seed", data=DataParams)
    train, _ = train_val_split(load_cifar10(args.data), params.data.val_fraction, params.seed)
    mean, std = channel_stats(train.images)
    check_normalisable(std, args.data)  # refused here, not a stage later in train
    colour = ColourStats(colour_covariance(train.images), len(train.labels)) if args.colour else None
    if colour is not None:  # checked (positive definite) before stats.json is written
        write_record(args.colour, colour)
    write_json(args.out, {"mean": mean, "std": std})
    print(f"{len(train.labels)} training images: mean {[round(m, 4) for m in mean]}, std {[round(s, 4) for s in std]}")


if __name__ == "__main__":
    run_stage(main)
