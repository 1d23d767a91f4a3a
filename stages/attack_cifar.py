"""DVC stage `attack_cifar@<model>`: seed 5's adversarial ship on a trained CIFAR-10 model."""

import argparse

import torch

from visionlab.data.cifar import load_cifar10
from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.attack import attack_records, attack_ships, attack_summary
from visionlab.interpret.cifar_classifier import trained_classifier
from visionlab.io import save_figure
from visionlab.metrics.record import write_record
from visionlab.params import load_params

PARAMS = ("seed", "device", "attack_cifar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="the trained model's name (cnn, resnet, ...)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--checkpoint", required=True, help="models/<model>.pt from the train stage")
    parser.add_argument("--stats", default="data/stats.json", help="only to warn if it changed since training")
    parser.add_argument("--figure", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--info", required=True)
    args = parser.parse_args()

    params = load_params(args.params, PARAMS)
    settings = params.attack_cifar
    torch.manual_seed(params.seed)
    clf = trained_classifier(args.model, args.checkpoint, resolve_device(params.device), args.stats)
    attack = attack_ships(clf, load_cifar10(args.data), settings, "attack_cifar")
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
