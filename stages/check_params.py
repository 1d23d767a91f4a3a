"""DVC stage `check_params`: validate every key of params.yaml, whichever stages read it. Each stage lists and
checks only the params it reads, so a misspelt key (``train.epoch``) would otherwise change no stage and pass
silently. This stage alone knows every section's schema and depends on the whole file, so any edit reruns it, and it
stops ``dvc repro`` with one line naming the bad key. It writes the validated params with every default filled in."""

import dataclasses

from visionlab.attack.params import AttackParams
from visionlab.attribution.params import AttributeParams
from visionlab.channels.params import MaximizeChannelsParams
from visionlab.classmax.params import MaximizeClassParams
from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.io import write_json
from visionlab.core.params import TOP, load_params
from visionlab.corruption.params import CorruptParams
from visionlab.data.params import DataParams
from visionlab.evaluation.params import EvaluateParams
from visionlab.models.params import AlexNetParams
from visionlab.models.registry import MODELS
from visionlab.predict.params import PredictParams
from visionlab.training.params import train_sections
from visionlab.visualize.params import VisualizeParams

# Every section of params.yaml, in the file's order, with its schema.
SECTIONS = {
    "data": DataParams,
    **train_sections(*MODELS),
    "evaluate": EvaluateParams,
    "alexnet": AlexNetParams,
    "predict": PredictParams,
    "maximize_channels": MaximizeChannelsParams,
    "maximize_class": MaximizeClassParams,
    "attack": AttackParams,
    "attribute": AttributeParams,
    "visualize": VisualizeParams,
    "corrupt": CorruptParams,
}


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out", default="reports/params.json")
    args = parser.parse_args()
    write_json(args.out, dataclasses.asdict(load_params(args.params, *TOP, whole=True, **SECTIONS)))
    print(f"{args.params}: every key valid; wrote {args.out}")


if __name__ == "__main__":
    run_stage(main)
