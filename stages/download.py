"""DVC stage `download`: fetch and verify the CIFAR-10 archive, convert it to one .npz of arrays."""

from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.params import load_params
from visionlab.data.archive import prepare_cifar10
from visionlab.data.params import DataParams


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--out", default="data/cifar10.npz")
    args = parser.parse_args()

    params = load_params(args.params, data=DataParams)
    arrays = prepare_cifar10(params.data.url, params.data.md5, args.out)
    print(f"wrote {args.out}: {len(arrays['train_labels'])} train, {len(arrays['test_labels'])} test images")


if __name__ == "__main__":
    run_stage(main)
