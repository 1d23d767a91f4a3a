"""DVC stage `attack@<model>`: turn a CIFAR-10 ship into the model's target class (seed 5), then a bounded sweep.

``--model alexnet`` attacks ImageNet AlexNet (``alexnet.weights``, target 207), a CIFAR model its trained
``--checkpoint`` (target 5, dog). First the seed's unbounded attack on one ship (clamped raw-gradient
ascent on p(target)); then a targeted L-infinity attack (signed gradient, projected to the
epsilon-ball) on up to ``attack.max_images`` ships of the test split.
"""

import argparse

import torch

from visionlab.data.cifar import load_cifar10
from visionlab.device import resolve_device
from visionlab.errors import PipelineError, run_stage
from visionlab.interpret.attack import attack_records, attack_ships, attack_summary
from visionlab.io import save_figure
from visionlab.metrics.record import write_record
from visionlab.params import MODEL_NAMES, load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="alexnet, or a trained CIFAR model (cnn, resnet, fast)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
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
    params = load_params(args.params, ("seed", "device", *(["alexnet"] if alexnet else []), "attack"))
    settings = params.attack
    torch.manual_seed(params.seed)
    device = resolve_device(params.device)
    if alexnet:  # each model imports only its own loader: the stage's DVC deps differ per model
        from visionlab.interpret.alexnet_classifier import alexnet_classifier

        clf = alexnet_classifier(params.alexnet.weights, device)
    else:
        from visionlab.interpret.cifar_classifier import trained_classifier

        clf = trained_classifier(args.model, args.checkpoint, device, args.stats)
    attack = attack_ships(clf, load_cifar10(args.data), settings)
    from visionlab.reporting.attack_figure import (
        ship_attack_figure,  # plotting (matplotlib) loads only once there is something to draw
    )

    save_figure(ship_attack_figure(clf, settings, attack), args.figure)
    metrics, info = attack_records(clf, settings, attack)
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    print(attack_summary(clf, settings, attack))


if __name__ == "__main__":
    run_stage(main)
