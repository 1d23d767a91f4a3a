"""DVC stage `corruption@<model>`: test accuracy of a trained CIFAR model on the corrupted test set, per
corruption and severity, beside its clean accuracy on the same images (the model run as `evaluate` runs it)."""

from stages import trained_model_parser
from visionlab.core.device import resolve_device
from visionlab.core.errors import run_stage
from visionlab.core.params import load_params
from visionlab.core.record import load_record, write_record
from visionlab.corruption.corrupted_set import first_images, open_corrupted
from visionlab.corruption.record import CorruptedSet
from visionlab.corruption.scoring import corruption_records, score_corrupted
from visionlab.data.cifar import load_cifar10
from visionlab.evaluation.params import EvaluateParams
from visionlab.models.trained import load_trained


def main() -> None:
    parser = trained_model_parser(__doc__)
    parser.add_argument("--corrupted", required=True, help="the corrupt stage's .npy")
    parser.add_argument("--index", required=True, help="the corrupt stage's index (.json)")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--info", required=True, help="accuracy per corruption and severity")
    args = parser.parse_args()

    params = load_params(args.params, "device", evaluate=EvaluateParams)
    device = resolve_device(params.device)
    trained = load_trained(args.checkpoint, map_location=device, expected=args.model)
    index = load_record(CorruptedSet, args.index)
    clean = first_images(load_cifar10(args.data).test, index.images, args.data)
    corrupted = open_corrupted(args.corrupted, index, clean)
    model = trained.model.to(device)
    clean_accuracy, table = score_corrupted(model, clean, corrupted, index, device, params.evaluate.batch_size)
    metrics, info = corruption_records(trained, args.checkpoint, index, clean_accuracy, table)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    print(
        f"{args.model}: clean accuracy {metrics.clean_accuracy:.4f}, mean corruption accuracy "
        f"{metrics.mean_corruption_accuracy:.4f} on {index.images:,} test images; worst: {info.worst}"
    )


if __name__ == "__main__":
    run_stage(main)
