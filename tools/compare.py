"""Train several models side by side in one process and compare test accuracy against wall time.

    python -m tools.compare --data data/cifar10.npz --stats data/stats.json \\
        --models resnet fast --set resnet.width=16 --set train.epochs=15 --equal-time

Each model trains exactly as the train stage trains it (``fit`` with the recipe of
``model_and_recipe``: ``train`` for cnn/resnet, ``fast.train`` for fast), on the same split, one
after the other, and its test accuracy is measured after every epoch (outside the timed part).
Printed per model: final test accuracy, the wall and CPU seconds of the whole ``fit`` (steps,
validation, checkpoints, data-initialised layers), and the test accuracy of each model at the
wall time the fastest one needed. ``--equal-time`` adds a run of the last model with its epochs
scaled so that it takes about as long as the first model took.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from ruamel.yaml import YAML

from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.params import load_params, parse_params
from visionlab.data.cifar import load_cifar10, load_stats, train_val_split
from visionlab.data.params import DataParams
from visionlab.evaluation.inference import DeviceSplit, loss_and_accuracy, resolve_precision
from visionlab.models.normalize import Normalized
from visionlab.models.registry import MODELS, build_model
from visionlab.training.loop import TrainingRun, fit
from visionlab.training.params import RecipeParams, model_and_recipe, train_sections


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``key.sub=value`` settings (values parsed as YAML), as ``dvc exp run -S`` takes them."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise PipelineError(f"--set {item!r}: expected key=value")
        *parents, leaf = key.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = YAML(typ="safe").load(value)  # YAML 1.2, as DVC reads -S (1e-3 is a number)
    return raw


def train_one(
    name: str,
    config: dict[str, Any],
    recipe: RecipeParams,
    seed: int,
    mean: list[float],
    std: list[float],
    train: DeviceSplit,
    val: DeviceSplit,
    test: DeviceSplit,
    workdir: Path,
) -> dict[str, Any]:
    """One ``fit`` as the train stage runs it; per epoch: cumulative wall seconds and test accuracy."""
    torch.manual_seed(seed)
    net = build_model(name, config)
    model = Normalized(net, mean, std).to(train.images.device, memory_format=torch.channels_last)
    curve: list[tuple[float, float]] = []
    outside = 0.0  # seconds spent measuring test accuracy, not counted as training time
    started = time.perf_counter()

    def log_epoch(row: dict[str, float]) -> None:
        nonlocal outside
        t0 = time.perf_counter()
        trained_for = t0 - started - outside
        _, accuracy = loss_and_accuracy(model, test, precision=recipe.precision)
        outside += time.perf_counter() - t0
        curve.append((trained_for, accuracy))

    run = TrainingRun(
        model_name=name,
        model_config=config,
        params=recipe,
        seed=seed,
        train=train,
        val=val,
        checkpoint_path=workdir / f"{name}-{len(list(workdir.iterdir()))}.pt",
        fingerprint_extra={},
        log_epoch=log_epoch,
        progress=False,
    )
    cpu0 = time.process_time()
    summary = fit(run, model)
    wall = time.perf_counter() - started - outside
    cpu = time.process_time() - cpu0
    return {
        "model": name,
        "epochs": recipe.epochs,
        "precision": summary["precision"],
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "test_accuracy": curve[-1][1],
        "curve": curve,
    }


def accuracy_at(curve: list[tuple[float, float]], seconds: float) -> float:
    """Test accuracy of the last epoch finished within ``seconds`` (nan if none was)."""
    done = [acc for t, acc in curve if t <= seconds * 1.0001]
    return done[-1] if done else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--models", nargs="+", default=["resnet", "fast"], choices=MODELS)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a param")
    parser.add_argument("--equal-time", action="store_true", help="add the last model, rescaled to the first's time")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    sections = {"data": DataParams, **train_sections(*args.models)}
    params = load_params(args.params, "seed", "device", **sections)
    if args.set:
        raw = apply_overrides(asdict(params), args.set)
        params = parse_params(raw, "seed", "device", source=f"{args.params} + --set", whole=True, **sections)
    device = resolve_device(params.device)
    data = load_cifar10(args.data)
    mean, std = load_stats(args.stats)
    train_split, val_split = train_val_split(data, params.data.val_fraction, params.seed)
    train, val = DeviceSplit.from_split(train_split, device), DeviceSplit.from_split(val_split, device)
    test = DeviceSplit.from_split(data.test, device)
    print(f"compare on {device} ({torch.get_num_threads()} threads): {len(train)} train / {len(test)} test images")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(name, *model_and_recipe(params, name)) for name in args.models]
        for name, config, recipe in runs:
            results.append(train_one(name, config, recipe, params.seed, mean, std, train, val, test, Path(tmp)))
            _print_result(results[-1])
        if args.equal_time and len(results) > 1:
            name, config, recipe = runs[-1]
            scale = results[0]["wall_seconds"] / results[-1]["wall_seconds"]
            longer = replace(recipe, epochs=max(1, math.floor(recipe.epochs * scale)))
            results.append(train_one(name, config, longer, params.seed, mean, std, train, val, test, Path(tmp)))
            results[-1]["equal_time_run"] = True
            _print_result(results[-1])

    shortest = min(r["wall_seconds"] for r in results)
    print(f"\ntest accuracy at {shortest:.0f} s (the shortest run's wall time):")
    for r in results:
        print(f"  {r['model']:8} {r['epochs']:3d} epochs: {accuracy_at(r['curve'], shortest):.4f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "device": str(device),
                    "threads": torch.get_num_threads(),
                    "precision_native": resolve_precision("bf16", device),
                    "runs": results,
                },
                indent=1,
            )
        )


def _print_result(r: dict[str, Any]) -> None:
    curve = ", ".join(f"{t:.0f}s:{acc:.3f}" for t, acc in r["curve"])
    print(
        f"{r['model']:8} {r['epochs']:3d} epochs ({r['precision']}): test accuracy {r['test_accuracy']:.4f} in "
        f"{r['wall_seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU | per epoch {curve}",
        flush=True,
    )


if __name__ == "__main__":
    run_stage(main)
