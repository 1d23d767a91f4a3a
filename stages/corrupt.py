"""DVC stage `corrupt`: a CIFAR-10-C-style copy of the first `corrupt.images` test images, every corruption
at every severity, seeded, written batch by batch (`data/cifar10_c.npy` and its index `data/cifar10_c.json`)."""

from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.corruption.corrupted_set import first_images, write_corrupted
from visionlab.corruption.params import CorruptParams
from visionlab.data.cifar import load_cifar10


def main() -> None:
    parser = stage_parser(__doc__, data=True)
    parser.add_argument("--out", required=True, help="the corrupted images (.npy)")
    parser.add_argument("--index", required=True, help="what the .npy holds, and the digest of its clean images")
    args = parser.parse_args()

    params = load_params(args.params, "seed", corrupt=CorruptParams)
    settings = params.corrupt
    clean = first_images(load_cifar10(args.data).test, settings.images, args.data)
    index = write_corrupted(args.out, clean, settings.severities, params.seed, settings.batch_size)
    write_record(args.index, index)
    print(
        f"corrupt: {len(index.corruptions)} corruptions x {len(index.severities)} severities "
        f"of {index.images:,} test images -> {args.out}"
    )


if __name__ == "__main__":
    run_stage(main)
