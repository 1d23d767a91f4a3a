"""DVC stage `maximize_class@<model>`: gradient ascent on a class from seeded noise (seed 4).

``--model alexnet`` probes ImageNet AlexNet (``alexnet.weights``, class 207), a CIFAR model its trained
``--checkpoint`` (class 5, dog). The result is re-scored after small random shifts and rescales: does
the class survive them?
"""

import argparse

import torch

from visionlab.device import resolve_device
from visionlab.errors import PipelineError, run_stage
from visionlab.interpret.class_maximize import class_records, class_summary, maximize_class_with
from visionlab.io import save_figure
from visionlab.metrics.record import write_record
from visionlab.params import MODEL_NAMES, load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="alexnet, or a trained CIFAR model (cnn, resnet, fast)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--checkpoint", help="a CIFAR model's models/<model>.pt from the train stage")
    parser.add_argument("--stats", help="only to warn if it changed since training")
    parser.add_argument("--figure", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--info", required=True)
    args = parser.parse_args()

    alexnet = args.model == "alexnet"
    if not alexnet and args.model not in MODEL_NAMES:
        raise PipelineError(f"unknown model {args.model!r}; choices: alexnet, {', '.join(MODEL_NAMES)}")
    if not alexnet and args.checkpoint is None:
        raise PipelineError(f"--model {args.model} needs --checkpoint (models/{args.model}.pt)")
    params = load_params(args.params, ("seed", "device", *(["alexnet"] if alexnet else []), "maximize_class"))
    settings = params.maximize_class
    torch.manual_seed(params.seed)
    device = resolve_device(params.device)
    if alexnet:  # each model imports only its own loader: the stage's DVC deps differ per model
        from visionlab.interpret.alexnet_classifier import alexnet_classifier

        clf = alexnet_classifier(params.alexnet.weights, device)
    else:
        from visionlab.interpret.cifar_classifier import trained_classifier

        clf = trained_classifier(args.model, args.checkpoint, device, args.stats)
    result = maximize_class_with(clf, settings, params.seed)
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
