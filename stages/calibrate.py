"""DVC stage `calibrate@<model>`: is the confidence honest? ECE (15 bins) and a reliability diagram on the test
split, before and after temperature scaling fitted on the validation split the train stage held out."""

from pathlib import Path

import torch

from stages import trained_model_parser
from visionlab.calibration.calibration import bins_csv, calibrate
from visionlab.calibration.figure import reliability_figure
from visionlab.calibration.record import CalibrationInfo, CalibrationMetrics, ReliabilityBin, SplitScores
from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.io import save_figure, write_text
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.data.cifar import Split, load_cifar10, train_val_split
from visionlab.data.params import DataParams
from visionlab.evaluation.figures import provenance_note
from visionlab.evaluation.inference import DeviceSplit, predict_logits
from visionlab.evaluation.params import EvaluateParams
from visionlab.models.trained import load_trained
from visionlab.probe.record import training_provenance


def main() -> None:
    parser = trained_model_parser(__doc__)
    parser.add_argument("--metrics", required=True, help="ece, ece_temperature, temperature (DVC metrics)")
    parser.add_argument("--info", required=True, help="NLLs, accuracy and the reliability tables")
    parser.add_argument("--plot", required=True, help="folder for the reliability CSVs (DVC plots)")
    parser.add_argument("--figure", required=True, help="the reliability diagram (PNG)")
    args = parser.parse_args()

    params = load_params(args.params, "seed", "device", data=DataParams, evaluate=EvaluateParams)
    device = resolve_device(params.device)
    trained = load_trained(args.checkpoint, map_location=device, expected=args.model)
    data = load_cifar10(args.data)
    if len(data.test_labels) == 0:
        raise PipelineError(f"{args.data}: the test split is empty: nothing to calibrate on")
    _, val = train_val_split(data, params.data.val_fraction, params.seed)
    if len(val.labels) != trained.summary["val_images"]:
        raise PipelineError(
            f"the validation split (seed, data.val_fraction) has {len(val.labels)} images, but {args.checkpoint} "
            f"held out {trained.summary['val_images']}: retrain it or restore those params"
        )
    model, batch = trained.model.to(device), params.evaluate.batch_size

    def logits(split: Split) -> tuple[torch.Tensor, torch.Tensor]:  # the model as evaluate runs it
        return predict_logits(model, DeviceSplit.from_split(split, device), batch).cpu(), torch.from_numpy(split.labels)

    result = calibrate(*logits(val), *logits(data.test))
    note = provenance_note(trained.summary, model_name=args.model)
    save_figure(reliability_figure(result, args.model, len(data.test_labels), note), args.figure)
    write_text(Path(args.plot) / "before.csv", bins_csv(result.bins))
    write_text(Path(args.plot) / "after.csv", bins_csv(result.bins_temperature))
    info = CalibrationInfo(
        model=args.model,
        checkpoint=str(args.checkpoint),
        trained_model=training_provenance(trained.summary),
        validation=SplitScores(len(val.labels), *result.nll["validation"]),
        test=SplitScores(len(data.test_labels), *result.nll["test"]),
        test_accuracy=result.test_accuracy,
        bins=[ReliabilityBin(**vars(b)) for b in result.bins],
        bins_temperature=[ReliabilityBin(**vars(b)) for b in result.bins_temperature],
    )
    write_record(args.info, info)
    write_record(args.metrics, CalibrationMetrics(result.ece, result.ece_temperature, result.temperature))
    print(
        f"{args.model}: ECE {result.ece:.4f} -> {result.ece_temperature:.4f} at temperature {result.temperature:.3f} "
        f"(fitted on {len(val.labels):,} validation images; {note})"
    )


if __name__ == "__main__":
    run_stage(main)
