"""DVC stage `attack`: turn a CIFAR-10 ship into AlexNet's class 207 (seed 5), then a bounded sweep.

First the seed's unbounded attack on one ship (clamped raw-gradient ascent on p(target)); then a
targeted L-infinity attack (signed gradient, projected to the epsilon-ball) on up to
``attack.max_images`` ships of the test split.
"""

import argparse

import torch

from visionlab.data.cifar import load_cifar10
from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.alexnet_classifier import alexnet_classifier
from visionlab.interpret.attack import attack_records, attack_ships, attack_summary
from visionlab.io import save_figure
from visionlab.metrics.record import write_record
from visionlab.params import load_params

PARAMS = ("seed", "device", "alexnet", "attack")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--figure", default="reports/figures/attack.png")
    parser.add_argument("--metrics", default="reports/metrics/attack.json")
    parser.add_argument("--info", default="reports/info/attack.json")
    args = parser.parse_args()

    params = load_params(args.params, PARAMS)
    settings = params.attack
    torch.manual_seed(params.seed)
    clf = alexnet_classifier(params.alexnet.weights, resolve_device(params.device))
    attack = attack_ships(clf, load_cifar10(args.data), settings, "attack")
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
