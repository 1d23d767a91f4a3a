"""DVC stage `maximize_class_cifar@<model>`: seed 4's class maximisation on a trained CIFAR-10 model."""

import argparse

import torch

from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.cifar_classifier import trained_classifier
from visionlab.interpret.class_maximize import class_records, class_summary, maximize_class_with
from visionlab.io import save_figure
from visionlab.metrics.record import write_record
from visionlab.params import load_params

PARAMS = ("seed", "device", "maximize_class_cifar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="the trained model's name (cnn, resnet, ...)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--checkpoint", required=True, help="models/<model>.pt from the train stage")
    parser.add_argument("--stats", default="data/stats.json", help="only to warn if it changed since training")
    parser.add_argument("--figure", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--info", required=True)
    args = parser.parse_args()

    params = load_params(args.params, PARAMS)
    settings = params.maximize_class_cifar
    torch.manual_seed(params.seed)
    clf = trained_classifier(args.model, args.checkpoint, resolve_device(params.device), args.stats)
    result = maximize_class_with(clf, settings, params.seed, "maximize_class_cifar")
    from visionlab.reporting.class_figure import (
        class_figure,  # plotting (matplotlib) loads only once there is something to draw
    )

    save_figure(class_figure(result, clf, {"steps": settings.steps}), args.figure)
    metrics, info = class_records(clf, settings, result)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    print(class_summary(clf, settings, result))


if __name__ == "__main__":
    run_stage(main)
