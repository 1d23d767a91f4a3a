"""Training throughput: the project's own training step against a bare PyTorch loop.

    python -m visionlab.training.benchmark --model resnet --width 16 --steps 20

Both run in one process on the same model, batch size and device. The project's step is
``train_epoch`` exactly as the train stage uses it (shuffle, batched crop+flip on the device,
forward/backward/step, loss and accuracy bookkeeping, finite-loss checks); the bare loop gets
pre-made float batches and does forward/backward/step only. Prints images/second of both, their
ratio, and the achieved FLOP/s.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from visionlab.device import resolve_device
from visionlab.errors import run_stage
from visionlab.models import MODELS, build_model
from visionlab.models.normalize import Normalized
from visionlab.params import as_dict, load_params
from visionlab.training.loop import DeviceSplit, autocast_for, build_optimizer, synchronize, train_epoch


def bare_loop_seconds(model: nn.Module, optimizer: torch.optim.Optimizer, batches: list, device: torch.device) -> float:
    model.train()
    synchronize(device)
    start = time.perf_counter()
    for images, labels in batches:
        with autocast_for(device):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="model config and training recipe come from here")
    parser.add_argument("--model", default="resnet", choices=sorted(MODELS))
    parser.add_argument("--width", type=int, help="override resnet.width (smaller is feasible on CPU)")
    parser.add_argument("--batch-size", type=int, help="override train.batch_size")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported")
    parser.add_argument("--device", help="override the device param")
    args = parser.parse_args()

    params = load_params(args.params)
    config = as_dict(getattr(params, args.model))
    if args.width is not None and args.model == "resnet":
        config["width"] = args.width
    train_params = replace(params.train, batch_size=args.batch_size or params.train.batch_size)
    batch = train_params.batch_size
    device = resolve_device(args.device or params.device)
    torch.manual_seed(params.seed)

    def fresh_model() -> nn.Module:
        model = Normalized(build_model(args.model, config), [0.5] * 3, [0.25] * 3).to(device)
        return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model

    n = batch * args.steps
    data = DeviceSplit(
        torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, device=device),
        torch.randint(0, 10, (n,), device=device),
    )
    batches = [(data.images[i : i + batch].float() / 255, data.labels[i : i + batch]) for i in range(0, n, batch)]
    project_model, bare_model = fresh_model(), fresh_model()
    bare_model.load_state_dict(copy.deepcopy(project_model.state_dict()))
    project_opt, bare_opt = build_optimizer(train_params, project_model), build_optimizer(train_params, bare_model)
    generator = torch.Generator(device=device).manual_seed(params.seed)

    # Warm up both (allocator, kernels) before timing.
    train_epoch(project_model, project_opt, None, DeviceSplit(data.images[: 2 * batch], data.labels[: 2 * batch]),
                train_params, generator, 0, progress=False)
    bare_loop_seconds(bare_model, bare_opt, batches[:2], device)

    project_times, bare_times = [], []
    for _ in range(args.rounds):  # alternate so drift in machine load hits both alike
        project_times.append(train_epoch(project_model, project_opt, None, data, train_params, generator, 0,
                                         progress=False).seconds)
        bare_times.append(bare_loop_seconds(bare_model, bare_opt, batches, device))
    project_rate = n / statistics.median(project_times)
    bare_rate = n / statistics.median(bare_times)
    flops = training_step_flops(fresh_model(), *batches[0]) * args.steps

    label = f"{args.model} ({', '.join(f'{k}={v}' for k, v in config.items())}), batch {batch}, {device}"
    print(f"benchmark: {label}; {args.rounds} rounds x {args.steps} steps, median")
    print(f"project training step: {project_rate:10,.0f} images/s")
    print(f"bare PyTorch loop:     {bare_rate:10,.0f} images/s")
    print(f"ratio project/bare:    {project_rate / bare_rate:10.3f}")
    print(f"achieved (project):    {flops / statistics.median(project_times) / 1e9:10,.1f} GFLOP/s "
          f"({flops / args.steps / batch / 1e6:,.0f} MFLOP per image, forward+backward)")


if __name__ == "__main__":
    run_stage(main)
