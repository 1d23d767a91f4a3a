"""DVC stage `maximize_class`: gradient ascent on AlexNet's class 207 from seeded noise (seed 4).

The result is re-scored after small random shifts and rescales: does the class survive them?
"""

import argparse

import torch

from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.alexnet_classifier import alexnet_classifier
from visionlab.interpret.class_maximize import class_records, class_summary, maximize_class_with
from visionlab.io import save_figure
from visionlab.metrics.record import write_record
from visionlab.params import load_params

PARAMS = ("seed", "device", "alexnet", "maximize_class")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--figure", default="reports/figures/maximize_class.png")
    parser.add_argument("--metrics", default="reports/metrics/maximize_class.json")
    parser.add_argument("--info", default="reports/info/maximize_class.json")
    args = parser.parse_args()

    params = load_params(args.params, PARAMS)
    settings = params.maximize_class
    torch.manual_seed(params.seed)
    clf = alexnet_classifier(params.alexnet.weights, resolve_device(params.device))
    result = maximize_class_with(clf, settings, params.seed, "maximize_class")
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
