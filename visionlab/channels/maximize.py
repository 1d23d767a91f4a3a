"""Activation maximisation of AlexNet conv1 units (seed 3), against their analytic maximum. A conv unit before its ReLU
is affine in the pixels, ``bias + sum w * (x - mean) / std``, so over the box [0, 1] its maximum sets each pixel to 1
where ``w / std > 0`` and to 0 where it is negative."""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from visionlab.models.alexnet import IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE, LoadedAlexNet
from visionlab.probe.objectives import centre_unit, conv_unit
from visionlab.probe.optimize import gradient_ascent, noise_image


@dataclass(frozen=True)
class ReceptiveField:
    """Input rows/cols [start, stop) a unit sees (clipped to the image) and where they sit in the kernel."""

    rows: tuple[int, int]
    cols: tuple[int, int]
    kernel_rows: tuple[int, int]
    kernel_cols: tuple[int, int]


def _span(position: int, kernel: int, stride: int, padding: int, size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    start = position * stride - padding
    stop = start + kernel
    clipped = max(start, 0), min(stop, size)
    return clipped, (clipped[0] - start, clipped[1] - start)


def receptive_field(conv: nn.Conv2d, row: int, col: int, input_size: int) -> ReceptiveField:
    """For AlexNet conv1 unit (27, 27): rows and cols 106..116 inclusive, i.e. [106, 117)."""
    if conv.dilation != (1, 1) or conv.groups != 1:
        raise ValueError("receptive_field supports undilated, ungrouped convolutions only")
    rows, kernel_rows = _span(row, conv.kernel_size[0], conv.stride[0], conv.padding[0], input_size)
    cols, kernel_cols = _span(col, conv.kernel_size[1], conv.stride[1], conv.padding[1], input_size)
    return ReceptiveField(rows, cols, kernel_rows, kernel_cols)


@dataclass
class AnalyticMax:
    value: float  # the largest pre-ReLU activation any [0, 1] image can give
    pattern: torch.Tensor  # (3, h, w) pixels over the receptive field that reach it (0.5 where w == 0)
    field: ReceptiveField


def conv_unit_max(
    conv: nn.Conv2d, mean: Sequence[float], std: Sequence[float], channel: int, row: int, col: int, input_size: int
) -> AnalyticMax:
    """Maximum of ``conv(normalize(x))[channel, row, col]`` over x in [0, 1]. Zero padding is added after normalisation,
    so padded positions contribute nothing."""
    field = receptive_field(conv, row, col, input_size)
    with torch.no_grad():
        weight = conv.weight[channel].detach().double().cpu()
        weight = weight[:, slice(*field.kernel_rows), slice(*field.kernel_cols)]
        mean_t = torch.tensor(mean, dtype=torch.float64).view(-1, 1, 1)
        std_t = torch.tensor(std, dtype=torch.float64).view(-1, 1, 1)
        slope = weight / std_t  # d activation / d pixel
        best = torch.where(slope > 0, 1.0, torch.where(slope < 0, 0.0, 0.5)).double()
        bias = float(conv.bias[channel]) if conv.bias is not None else 0.0
        value = bias + float((slope * (best - mean_t)).sum())
    return AnalyticMax(value=value, pattern=best.float(), field=field)


@dataclass
class ChannelResult:
    channel: int
    unit: tuple[int, int]  # (row, col) in the conv1 map
    image: torch.Tensor  # (3, 224, 224) on the CPU
    initial_activation: float
    activation: float  # pre-ReLU, after the last step
    analytic: AnalyticMax

    @property
    def fraction(self) -> float:
        return self.activation / self.analytic.value


def maximize_conv1_channels(
    alex: LoadedAlexNet,
    channels: Sequence[int],
    steps: int,
    step_size: float,
    init_mean: float,
    init_std: float,
    seed: int,
) -> list[ChannelResult]:
    """Gradient ascent on the centre unit of each conv1 channel, all from the same seeded noise image."""
    channels = list(dict.fromkeys(channels))  # a repeated channel would only repeat the work
    device = next(alex.model.parameters()).device
    row, col = centre_unit(alex.conv1, INPUT_SIZE)
    init = noise_image(INPUT_SIZE, init_mean, init_std, seed, device).repeat(len(channels), 1, 1, 1)
    objective = conv_unit(alex.conv1, alex.normalize, channels, row, col)
    result = gradient_ascent(objective, init, steps, step_size, desc="conv1 channels")
    return [
        ChannelResult(
            channel=channel,
            unit=(row, col),
            image=result.images[i].cpu(),
            initial_activation=float(result.history[0, i]),
            activation=float(result.history[-1, i]),
            analytic=conv_unit_max(alex.conv1, IMAGENET_MEAN, IMAGENET_STD, channel, row, col, INPUT_SIZE),
        )
        for i, channel in enumerate(channels)
    ]
