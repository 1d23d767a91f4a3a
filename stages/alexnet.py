"""DVC stage `alexnet`: AlexNet's weights as a DVC-tracked file, ``models/alexnet.pt``, for every AlexNet analysis. From
torchvision's hash-checked IMAGENET1K_V1, a local ``.pth`` state dict, or (``alexnet.weights: none``) a seeded random
initialisation; the file also says which."""

from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.params import load_params
from visionlab.models.alexnet import load_alexnet, save_alexnet
from visionlab.models.params import AlexNetParams


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    params = load_params(args.params, alexnet=AlexNetParams)
    alex = load_alexnet(params.alexnet.weights)
    save_alexnet(alex, args.out)
    print(f"wrote {args.out} (alexnet.weights={alex.weights}{', random' if alex.random_weights else ''})")


if __name__ == "__main__":
    run_stage(main)
