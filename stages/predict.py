"""DVC stage `predict`: AlexNet's top-k classes with and without ImageNet normalisation (seed 1a/1b). Inputs:
matplotlib's sample photograph, the first ``predict.cifar_images`` CIFAR-10 test images (upscaled to 224), and every
readable image in ``predict.input_dir``."""

import itertools

import torch

from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError, run_stage, stage_parser
from visionlab.core.io import save_figure, write_text
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.data.cifar import load_cifar10
from visionlab.models.alexnet import read_alexnet
from visionlab.predict.figure import predictions_figure
from visionlab.predict.params import PredictParams
from visionlab.predict.predict import predict, prediction_records, predictions_markdown, write_predictions
from visionlab.probe.images import cifar_inputs, folder_photos, sample_photo
from visionlab.probe.record import ProbedModel


def main() -> None:
    parser = stage_parser(__doc__, data=True)
    parser.add_argument("--checkpoint", default="models/alexnet.pt", help="the alexnet stage's AlexNet")
    parser.add_argument("--csv", default="reports/predict/predictions.csv")
    parser.add_argument("--markdown", default="reports/predict/predictions.md")
    parser.add_argument("--figure", default="reports/figures/predict.png")
    parser.add_argument("--metrics", default="reports/metrics/predict.json")
    parser.add_argument("--info", default="reports/info/predict.json")
    args = parser.parse_args()

    params = load_params(args.params, "device", predict=PredictParams)
    device = resolve_device(params.device)
    settings = params.predict
    photos = folder_photos(settings.input_dir)  # first: a bad folder fails before any heavy work
    sample = sample_photo()
    images = itertools.chain([sample] if sample else [], photos)  # read as predicted, a batch at a time
    if settings.cifar_images:
        cifar = load_cifar10(args.data)
        count = settings.cifar_images
        cifar_images = cifar_inputs(cifar.test_images[:count], cifar.test_labels[:count], cifar.class_names)
        images = itertools.chain(images, cifar_images)
    if (first := next(images, None)) is None:
        raise PipelineError(
            f"nothing to predict: no sample photo, predict.cifar_images is 0 and {settings.input_dir} holds no image"
        )
    images = itertools.chain([first], images)
    alex = read_alexnet(args.checkpoint, device)
    predictions = predict(alex, images, min(settings.top_k, len(alex.class_names)))
    shown, top1s = write_predictions(predictions, args.csv)

    model = ProbedModel("alexnet", alex.random_weights, alexnet_weights=alex.weights)
    metrics, info = prediction_records(top1s, model, str(device), settings.top_k)
    write_text(args.markdown, predictions_markdown(shown, len(top1s), alex))
    save_figure(predictions_figure(shown, len(top1s), alex.random_weights, alex.weights), args.figure)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    for im in top1s:
        raw, norm = im.without_normalization, im.with_normalization
        print(
            f"{im.image}: raw {raw.class_name} {raw.confidence:.3f} | "
            f"normalised {norm.class_name} {norm.confidence:.3f}"
        )


if __name__ == "__main__":
    torch.set_grad_enabled(False)  # inference only
    run_stage(main)
