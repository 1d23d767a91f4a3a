"""What to maximise: functions from a batch of [0, 1] images (N, 3, H, W) to one score per image (N,)."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

Objective = Callable[[torch.Tensor], torch.Tensor]


def centre_unit(conv: nn.Conv2d, input_size: int) -> tuple[int, int]:
    """The centre position of ``conv``'s output map: (27, 27) for AlexNet's 55x55 conv1 at 224."""
    (kernel, _), (stride, _), (padding, _) = conv.kernel_size, conv.stride, conv.padding
    centre = ((input_size + 2 * padding - kernel) // stride + 1) // 2
    return centre, centre


def conv_unit(conv: nn.Conv2d, normalize: nn.Module, channels: int | Sequence[int], row: int, col: int) -> Objective:
    """Pre-ReLU activation of unit (row, col); image i of a batch scores channel ``channels[i]`` (a batch
    optimises several channels at once)."""

    def objective(images: torch.Tensor) -> torch.Tensor:
        # Computed directly, not with a forward hook: torchvision's AlexNet follows conv1 with
        # ``ReLU(inplace=True)``, which overwrites the hooked tensor with its rectified values.
        out = conv(normalize(images))
        index = torch.as_tensor(channels, device=images.device).expand(images.shape[0])
        return out[torch.arange(images.shape[0], device=images.device), index, row, col]

    return objective


@dataclass
class Captured:
    output: torch.Tensor | None = None


@contextmanager
def capture(module: nn.Module) -> Iterator[Captured]:
    """What ``module`` returns during the ``with`` block, as it returned it. Cloned in the hook: a
    ``ReLU(inplace=True)`` after the module would otherwise rectify the very tensor we hold (lucid#68, lucent#9: grey
    images from a post-ReLU read-out). Gradients flow through the clone."""
    seen = Captured()

    def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        seen.output = output.clone()

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def channel_mean(model: nn.Module, module: nn.Module, channel: int) -> Objective:
    """The mean over its map of ``channel`` of ``module``'s output (N, C, H, W) when ``model`` runs (the module
    before an activation for a pre-activation read-out)."""

    def objective(images: torch.Tensor) -> torch.Tensor:
        with capture(module) as seen:
            model(images)
        # A model may run extra views in the same batch after the images (fast's test-time flips and shifts).
        return seen.output[: images.shape[0], channel].mean(dim=(1, 2))

    return objective


def class_probability(model: nn.Module, index: int) -> Objective:
    """Softmax probability of class ``index`` (the seed's objective)."""
    return lambda images: F.softmax(model(images), dim=1)[:, index]


def class_objective(model: nn.Module, index: int, kind: str) -> Objective:
    """``prob`` or ``logit`` of class ``index``; the raw logit keeps a useful gradient when the probability
    saturates at 0 or 1."""
    if kind == "prob":
        return class_probability(model, index)
    if kind == "logit":
        return lambda images: model(images)[:, index]
    raise ValueError(f"unknown class objective {kind!r}")
