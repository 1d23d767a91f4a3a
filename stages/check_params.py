"""DVC stage `check_params`: validate every key of params.yaml, whichever stages read it. Each stage lists only the
params it reads, so a misspelt key (``train.epoch``) would otherwise change no stage and pass silently. This stage
depends on the whole file, so any edit reruns it, and it stops ``dvc repro`` with one line naming the bad key. It writes
the validated params with every default filled in."""

from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.io import write_json
from visionlab.core.params import as_dict, load_params


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out", default="reports/params.json")
    args = parser.parse_args()
    write_json(args.out, as_dict(load_params(args.params)))
    print(f"{args.params}: every key valid; wrote {args.out}")


if __name__ == "__main__":
    run_stage(main)
