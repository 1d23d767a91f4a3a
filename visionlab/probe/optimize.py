"""Gradient ascent in pixel space from seeded noise: the seed's clamped loop, and a bounded L-infinity variant."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from visionlab.probe.objectives import Objective


def noise_image(size: int, mean: float, std: float, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A (1, 3, size, size) image of N(mean, std) pixels, clamped to [0, 1]; drawn on the CPU from its own
    generator, so the same seed gives the same image on any device, whatever else drew from the global RNG."""
    generator = torch.Generator().manual_seed(seed)
    image = mean + std * torch.randn((1, 3, size, size), generator=generator)
    return image.clamp_(0, 1).to(device)


@dataclass
class AscentResult:
    images: torch.Tensor  # (N, 3, H, W) after the last step, in [0, 1]
    history: torch.Tensor  # (steps + 1, N): the objective before each step, then after the last


def gradient_ascent(
    objective: Objective, init: torch.Tensor, steps: int, step_size: float, desc: str | None = None
) -> AscentResult:
    """``img = img + step_size * grad; img.clamp_(0, 1)`` for ``steps`` steps: the seed's raw gradient, on
    purpose, to reproduce its numbers. The images of a batch do not interact (the models are in eval mode)."""
    image = init.detach().clone()
    values = []
    for _ in tqdm(range(steps), desc=desc, disable=None, leave=False):
        image.requires_grad_(True)
        value = objective(image)
        (grad,) = torch.autograd.grad(value.sum(), image)
        values.append(value.detach())
        with torch.no_grad():
            image = (image + step_size * grad).clamp_(0, 1)
    with torch.no_grad():
        values.append(objective(image))
    return AscentResult(images=image, history=torch.stack(values))


@dataclass
class AttackResult:
    images: torch.Tensor  # (N, 3, H, W) after the last step
    first_success: torch.Tensor  # (N,) steps taken when first classified as the target; -1 if never
    success: torch.Tensor  # (N,) bool: classified as the target after the last step


def targeted_linf_attack(
    model: nn.Module,
    images: torch.Tensor,
    target: int,
    epsilon: float,
    step_size: float,
    steps: int,
    desc: str | None = None,
) -> AttackResult:
    """Projected signed-gradient ascent on log p(target) within ``epsilon`` (L-infinity) of ``images`` and [0, 1],
    from the clean images (no random start: deterministic)."""
    lower = (images - epsilon).clamp(min=0)
    upper = (images + epsilon).clamp(max=1)
    rows = torch.arange(images.shape[0], device=images.device)
    first = torch.full((images.shape[0],), -1, dtype=torch.long, device=images.device)
    adv = images.detach().clone()
    for step in tqdm(range(steps), desc=desc, disable=None, leave=False):
        adv.requires_grad_(True)
        logits = model(adv)
        hit = logits.argmax(dim=1) == target
        first = torch.where((first < 0) & hit, step, first)
        log_prob = F.log_softmax(logits, dim=1)[rows, target]
        (grad,) = torch.autograd.grad(log_prob.sum(), adv)
        with torch.no_grad():
            adv = torch.minimum(torch.maximum(adv + step_size * grad.sign(), lower), upper)
    with torch.no_grad():
        hit = model(adv).argmax(dim=1) == target
    first = torch.where((first < 0) & hit, steps, first)
    return AttackResult(images=adv.detach(), first_success=first, success=hit)
