"""Activation maximisation of AlexNet conv1 units (seed 3), against their analytic maximum."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from visionlab.interpret.alexnet import IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE, LoadedAlexNet
from visionlab.interpret.analytic import AnalyticMax, conv_unit_max
from visionlab.interpret.objectives import centre_unit, conv_unit
from visionlab.interpret.optimize import gradient_ascent
from visionlab.interpret.parametrization import noise_image


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
