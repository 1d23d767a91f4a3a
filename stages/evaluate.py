"""DVC stage `evaluate@<model>`: test metrics, per-class accuracy, confusion matrix, curves and misclassified images."""

from pathlib import Path

import pandas as pd

from stages import trained_model_parser
from visionlab.core.device import resolve_device
from visionlab.core.errors import run_stage
from visionlab.core.io import save_figure, write_atomic, write_text
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.data.cifar import load_cifar10
from visionlab.evaluation.evaluation import evaluate_test, evaluation_records, per_class_csv
from visionlab.evaluation.figures import confusion_heatmap, learning_curves, misclassified_grid, provenance_note
from visionlab.evaluation.params import EvaluateParams
from visionlab.models.trained import load_trained


def main() -> None:
    parser = trained_model_parser(__doc__)
    parser.add_argument("--metrics", required=True, help="test accuracy and loss (DVC metrics)")
    parser.add_argument("--info", required=True, help="what was evaluated: model, config, data, class names")
    parser.add_argument("--per-class", required=True, help="CSV of class,accuracy for DVC's bar plot")
    parser.add_argument("--predictions", required=True, help="CSV of actual,predicted for DVC's confusion plot")
    parser.add_argument("--figures", required=True, help="directory for this model's PNGs")
    args = parser.parse_args()

    params = load_params(args.params, "device", evaluate=EvaluateParams)
    device = resolve_device(params.device)
    trained = load_trained(args.checkpoint, map_location=device, expected=args.model)
    data = load_cifar10(args.data)
    names = trained.class_names
    test = evaluate_test(trained.model.to(device), data.test, device, params.evaluate.batch_size, len(names))
    note = provenance_note(trained.summary, model_name=args.model)
    figures = Path(args.figures)
    save_figure(learning_curves(trained.summary["history"], args.model, note), figures / "curves.png")
    title = f"{args.model}: test accuracy {test.accuracy:.3f} on {len(test.labels):,} images"
    save_figure(confusion_heatmap(test.confusion, names, title, note), figures / "confusion.png")
    wrong = (test.predictions != test.labels).nonzero()[0][: params.evaluate.misclassified]
    grid = misclassified_grid(
        data.test_images[wrong],
        [names[i] for i in test.labels[wrong]],
        [names[i] for i in test.predictions[wrong]],
        f"{args.model}: misclassified (actual → predicted)\n{note}",
    )
    save_figure(grid, figures / "misclassified.png")
    table = pd.DataFrame({"actual": [names[i] for i in test.labels], "predicted": [names[i] for i in test.predictions]})
    write_atomic(args.predictions, lambda tmp: table.to_csv(tmp, index=False))
    write_text(args.per_class, per_class_csv(test, names))
    metrics, info = evaluation_records(args.model, trained.config, test, trained.summary, names)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    print(f"{args.model}: test accuracy {test.accuracy:.4f}, loss {test.loss:.4f} ({note})")


if __name__ == "__main__":
    run_stage(main)
