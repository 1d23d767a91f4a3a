"""DVC stage `predict`: AlexNet's top-k classes with and without ImageNet normalisation (seed 1a/1b).

Inputs: matplotlib's sample photograph, the first ``predict.cifar_images`` CIFAR-10 test images
(upscaled to 224), and every readable image in ``predict.input_dir``.
"""

import argparse

import torch

from visionlab.data.cifar import load_cifar10
from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.alexnet import load_alexnet
from visionlab.interpret.images import cifar_inputs, folder_photos, sample_photo
from visionlab.interpret.predict import predict, prediction_records, predictions_csv, predictions_markdown
from visionlab.io import save_figure, write_text
from visionlab.metrics.probe import ProbedModel
from visionlab.metrics.record import write_record
from visionlab.params import load_params

PARAMS = ("device", "alexnet", "predict")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--csv", default="reports/predict/predictions.csv")
    parser.add_argument("--markdown", default="reports/predict/predictions.md")
    parser.add_argument("--figure", default="reports/figures/predict.png")
    parser.add_argument("--metrics", default="reports/metrics/predict.json")
    parser.add_argument("--info", default="reports/info/predict.json")
    args = parser.parse_args()

    params = load_params(args.params, PARAMS)
    device = resolve_device(params.device)
    settings = params.predict
    images = folder_photos(settings.input_dir)  # first: a bad folder fails before any heavy work
    sample = sample_photo()
    images = ([sample] if sample else []) + images
    if settings.cifar_images:
        cifar = load_cifar10(args.data)
        count = settings.cifar_images
        images += cifar_inputs(cifar.test_images[:count], cifar.test_labels[:count], cifar.class_names)
    alex = load_alexnet(params.alexnet.weights, device)
    predictions = predict(alex, images, min(settings.top_k, len(alex.class_names)))

    model = ProbedModel("alexnet", alex.random_weights, alexnet_weights=alex.weights)
    metrics, info = prediction_records(predictions, model, str(device), settings.top_k)
    write_text(args.csv, predictions_csv(predictions))
    write_text(args.markdown, predictions_markdown(predictions, alex))
    from visionlab.reporting.predict_figure import (
        predictions_figure,  # plotting (matplotlib) loads only once there is something to draw
    )

    save_figure(predictions_figure(predictions, alex.random_weights, alex.weights), args.figure)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    for pred in predictions:
        raw, norm = pred.top["without_normalization"][0], pred.top["with_normalization"][0]
        print(
            f"{pred.image.name}: raw {raw.name} {raw.probability:.3f} | normalised {norm.name} {norm.probability:.3f}"
        )


if __name__ == "__main__":
    torch.set_grad_enabled(False)  # inference only
    run_stage(main)
