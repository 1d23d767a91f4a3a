"""DVC stage `attack`: turn a CIFAR-10 ship into the target class (seed 5), then a bounded sweep.

First the seed's unbounded attack on one ship (clamped raw-gradient ascent on p(target)); then a
targeted L-infinity attack (signed gradient, projected to the epsilon-ball) on up to
``attack.max_images`` ships of the test split.
"""

import argparse

import torch

from visionlab.data.cifar import load_cifar10
from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.interpret.attack import (
    bounded_example,
    bounded_sweep,
    check_target,
    pick_ship,
    ship_indices,
    unbounded_attack,
)
from visionlab.interpret.classifiers import load_classifier
from visionlab.io import save_figure, write_json
from visionlab.params import load_params
from visionlab.seed_report import SEED_ALEXNET

SEED = SEED_ALEXNET["attack"]  # AlexNet, target 207 (golden retriever), 40 steps on the probability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--models", default="models")
    parser.add_argument("--figure", default="reports/figures/attack.png")
    parser.add_argument("--metrics", default="reports/metrics/attack.json")
    args = parser.parse_args()

    params = load_params(args.params)
    a = params.attack
    torch.manual_seed(params.seed)
    clf = load_classifier(a.model, params.alexnet.weights, args.models, resolve_device(params.device), args.stats)
    check_target(clf, a.target_class)
    data = load_cifar10(args.data)
    ship = pick_ship(data.test_labels, data.class_names, a.ship_index)
    image = data.test_images[ship]

    unbounded = unbounded_attack(clf, image, a.target_class, a.steps, a.step_size)
    bounded, bounded_scores = bounded_example(clf, image, a.target_class, a.epsilon, a.epsilon_step, a.steps)
    ships = ship_indices(data.test_labels, data.class_names)[: a.max_images]
    sweep = bounded_sweep(clf, data.test_images[ships], a.target_class, a.epsilon, a.epsilon_step, a.steps)

    metrics = {
        **clf.metrics_header(),
        "target_class": a.target_class,
        "target_name": clf.class_names[a.target_class],
        "ship_test_index": ship,
        "input_size": clf.input_size,
        "unbounded": {"steps": a.steps, "step_size": a.step_size, **unbounded.metrics},
        "bounded": {"epsilon": a.epsilon, "epsilon_step": a.epsilon_step, "steps": a.steps, **sweep},
    }
    if clf.name == SEED["model"] and a.target_class == SEED["target_class"]:  # only where comparable
        metrics["unbounded"]["seed_report"] = {"target_probability": SEED["target_probability"], "steps": SEED["steps"]}
    details = {"steps": a.steps, "step_size": a.step_size, "epsilon": a.epsilon, "epsilon_step": a.epsilon_step}
    from visionlab.reporting.interpret_figures import attack_figure  # matplotlib: only now that it draws
    fig = attack_figure(clf, a.target_class, unbounded.original, unbounded.adversarial, unbounded.metrics["after"],
                        bounded, bounded_scores, unbounded.metrics["before"], details)
    save_figure(fig, args.figure)
    write_json(args.metrics, metrics)
    before, after = unbounded.metrics["before"], unbounded.metrics["after"]
    print(f"ship #{ship}: p({clf.class_names[a.target_class]}) {before['target_probability']:.4f} -> "
          f"{after['target_probability']:.4f}; top-1 {before['top1_name']} -> {after['top1_name']}; "
          f"L-inf {unbounded.metrics['linf_255']:.1f}/255")
    print(f"bounded sweep over {sweep['images']} ships: success {100 * sweep['targeted_success_rate']:.1f} %, "
          f"after uint8 rounding {100 * sweep['success_rate_after_uint8_rounding']:.1f} %")


if __name__ == "__main__":
    run_stage(main)
