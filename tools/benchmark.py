"""Training throughput: the project's own training step against a bare PyTorch loop, in fp32 and bf16.

    python -m tools.benchmark --model resnet --width 16 --steps 20
    python -m tools.benchmark --model fast

Everything runs in one process, on the same model, batch size and device, rounds alternating so
that drift in machine load hits every variant alike (the median round is reported):

- the project's step: ``train_epoch`` exactly as the train stage uses it (shuffle, batched
  crop+flip on the device, forward/backward/step, loss and accuracy bookkeeping, finite-loss
  checks), channels_last, at each precision;
- a bare PyTorch loop over pre-made float batches (forward/backward/step only), channels_last,
  at each precision;
- once, the old baseline: the bare loop in fp32 with NCHW tensors, as training ran on CPUs before.

The table gives images/s of both loops, their ratio, the achieved GFLOP/s (FLOPs counted by
PyTorch's flop counter) and each rate against the old baseline. bf16 is timed where it is native
(CUDA; CPUs with AVX-512-BF16 or AMX); elsewhere its row says so, since training would run fp32
there, and ``--emulated-bf16`` times the emulated kernels anyway.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tools.synthetic import class_images
from visionlab.core.device import resolve_device
from visionlab.core.errors import run_stage
from visionlab.core.params import load_params
from visionlab.data.cifar import Split
from visionlab.evaluation.inference import DeviceSplit, autocast_for, cpu_has_native_bf16, resolve_precision
from visionlab.models.normalize import Normalized
from visionlab.models.registry import MODELS, build_model
from visionlab.training.loop import build_optimizer, init_from_data, synchronize, train_epoch
from visionlab.training.params import RecipeParams, model_and_recipe, train_sections


def make_model(name: str, config: dict[str, Any], device: torch.device, channels_last: bool = True) -> nn.Module:
    """A model as the train stage builds it (normalisation inside), on ``device``."""
    model = Normalized(build_model(name, config), [0.5] * 3, [0.25] * 3).to(device)
    return model.to(memory_format=torch.channels_last) if channels_last else model


def synthetic_data(n: int, device: torch.device, seed: int = 0) -> DeviceSplit:
    """``n`` of the generated archives' images (:mod:`tools.synthetic`), classes in turn, on ``device``."""
    labels = np.arange(n) % 10
    images = class_images(labels, np.random.default_rng(seed)).reshape(n, 3, 32, 32)
    return DeviceSplit.from_split(Split(images, labels), device)


def bare_loop_seconds(
    model: nn.Module, optimizer: torch.optim.Optimizer, batches: list, device: torch.device, precision: str = "fp32"
) -> float:
    model.train()
    synchronize(device)
    start = time.perf_counter()
    for images, labels in batches:
        with autocast_for(device, precision):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - start


def training_step_flops(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> int:
    """FLOPs of one forward+backward pass on this batch, counted by PyTorch's flop counter."""
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(images), labels).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


@dataclass
class Variant:
    """One timed loop: ``run()`` trains over the timed images once and returns its seconds."""

    label: str
    run: Callable[[], float]
    times: list[float]


@dataclass
class Rates:
    """Images/s of each variant (median round), and the FLOPs of one training image."""

    images_per_round: int
    flops_per_image: float
    seconds: dict[str, float]

    def rate(self, label: str) -> float:
        return self.images_per_round / self.seconds[label]

    def gflops(self, label: str) -> float:
        return self.flops_per_image * self.rate(label) / 1e9


def measure(
    name: str,
    config: dict[str, Any],
    recipe: RecipeParams,
    device: torch.device,
    precisions: list[str],
    steps: int,
    rounds: int,
    data: DeviceSplit | None = None,
    old_baseline: bool = True,
    seed: int = 0,
    budget_s: float | None = None,
) -> Rates:
    """Time the project loop and the bare loop at each precision (and the old fp32 NCHW bare loop).

    ``data`` (uint8 images on ``device``) defaults to ``steps`` batches of random images; each round
    trains on its first ``steps`` batches. With ``budget_s``, no new round starts after that many
    seconds (at least one round always runs).
    """
    batch = recipe.batch_size
    n = batch * steps
    data = data if data is not None else synthetic_data(n, device, seed)
    timed = DeviceSplit(data.images[:n], data.labels[:n])
    torch.manual_seed(seed)
    reference = make_model(name, config, device)
    init_from_data(reference, timed)  # fast's whitening: set once, copied into every variant
    state = copy.deepcopy(reference.state_dict())
    batches = [(timed.images[i : i + batch].float().div_(255), timed.labels[i : i + batch]) for i in range(0, n, batch)]
    generator = torch.Generator(device=device).manual_seed(seed)

    def project(precision: str) -> Callable[[], float]:
        model = make_model(name, config, device)
        model.load_state_dict(state)
        params = replace(recipe, precision=precision)
        optimizer = build_optimizer(params, model)
        return lambda: train_epoch(model, optimizer, None, timed, params, generator, 0, progress=False).seconds

    def bare(precision: str, channels_last: bool = True) -> Callable[[], float]:
        model = make_model(name, config, device, channels_last)
        model.load_state_dict(state)
        optimizer = build_optimizer(recipe, model)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        inputs = [(x.contiguous(memory_format=layout), y) for x, y in batches]
        return lambda: bare_loop_seconds(model, optimizer, inputs, device, precision)

    variants = [Variant("old", bare("fp32", channels_last=False), [])] if old_baseline else []
    for precision in precisions:
        variants += [
            Variant(f"project {precision}", project(precision), []),
            Variant(f"bare {precision}", bare(precision), []),
        ]
    for variant in variants:  # warm up: allocator, kernels, autotuning
        variant.run()
    started = time.perf_counter()
    for index in range(rounds):
        if index and budget_s is not None and time.perf_counter() - started > budget_s:
            break
        for variant in variants:
            variant.times.append(variant.run())
    flops = training_step_flops(make_model(name, config, device), *batches[0]) / batch
    return Rates(n, flops, {v.label: statistics.median(v.times) for v in variants})


def _rate(value: float) -> str:
    return f"{value:>10,.0f}" if value >= 1000 else f"{value:>10.1f}"


def benchmark_table(rates: Rates, precisions: list[str], skipped: dict[str, str]) -> list[str]:
    old = rates.rate("old") if "old" in rates.seconds else None
    header = f"{'precision':<10}{'loop':<30}{'images/s':>10}{'vs bare':>9}{'GFLOP/s':>10}{'vs old':>8}"
    lines = [header]
    if old is not None:
        lines.append(
            f"{'fp32':<10}{'bare, NCHW (old baseline)':<30}{_rate(old)}{'':>9}{rates.gflops('old'):>10,.1f}{1:>8.2f}"
        )
    for precision in precisions:
        if precision in skipped:
            lines.append(f"{precision:<10}skipped: {skipped[precision]}")
            continue
        project, bare = rates.rate(f"project {precision}"), rates.rate(f"bare {precision}")
        for loop, rate, label in (
            ("project (train_epoch), chl", project, f"project {precision}"),
            ("bare, channels_last", bare, f"bare {precision}"),
        ):
            ratio = f"{project / bare:>9.3f}" if loop.startswith("project") else f"{'':>9}"
            versus = f"{rate / old:>8.2f}" if old else ""
            lines.append(f"{precision:<10}{loop:<30}{_rate(rate)}{ratio}{rates.gflops(label):>10,.1f}{versus}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="model config and training recipe come from here")
    parser.add_argument("--model", default="resnet", choices=sorted(MODELS))
    parser.add_argument("--width", type=int, help="override resnet.width (smaller is feasible on CPU)")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch_size")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16")
    parser.add_argument("--emulated-bf16", action="store_true", help="time bf16 even where it is not native")
    parser.add_argument("--device", help="override the device param")
    args = parser.parse_args()

    params = load_params(args.params, "seed", "device", **train_sections(args.model))
    config, recipe = model_and_recipe(params, args.model)
    if args.width is not None and args.model == "resnet":
        config["width"] = args.width
    recipe = replace(recipe, batch_size=args.batch_size or recipe.batch_size)
    device = resolve_device(args.device or params.device)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    skipped = {}
    for precision in precisions:
        if precision not in ("fp32", "bf16"):
            parser.error(f"--precisions: {precision!r} is not fp32 or bf16")
        if precision == "bf16" and resolve_precision("bf16", device) != "bf16":
            if args.emulated_bf16 and device.type == "cpu":
                continue
            skipped[precision] = (
                f"not native on this {device.type} (no AVX-512-BF16/AMX): training with "
                "precision bf16 runs fp32 here (--emulated-bf16 times it anyway)"
            )
    if args.emulated_bf16:  # time bf16 autocast even on a CPU that only emulates it
        import visionlab.evaluation.inference as inference

        inference.cpu_has_native_bf16 = lambda: True  # noqa: E731 - this process only
    timed = [p for p in precisions if p not in skipped]
    rates = measure(args.model, config, recipe, device, timed, args.steps, args.rounds, seed=params.seed)

    native = "native bf16" if device.type == "cuda" or cpu_has_native_bf16() else "no native bf16"
    label = f"{args.model} ({', '.join(f'{k}={v}' for k, v in config.items())}), batch {recipe.batch_size}"
    print(
        f"benchmark: {label}, {device} ({torch.get_num_threads()} threads, {native}); "
        f"{args.rounds} rounds x {args.steps} steps, median; {rates.flops_per_image / 1e6:,.0f} MFLOP per image "
        "(forward+backward)"
    )
    for line in benchmark_table(rates, precisions, skipped):
        print(line)


if __name__ == "__main__":
    run_stage(main)
