"""Activation maximisation (seed 3 and 4): conv1 units against their analytic maximum, and a class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from visionlab.interpret.alexnet import IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE, LoadedAlexNet
from visionlab.interpret.analytic import AnalyticMax, conv_unit_max
from visionlab.interpret.classifiers import Classifier
from visionlab.interpret.objectives import centre_unit, class_objective, conv_unit
from visionlab.interpret.optimize import gradient_ascent
from visionlab.interpret.parametrization import noise_image
from visionlab.interpret.transforms import Jittered, random_shift_rescale


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


@dataclass
class ClassResult:
    class_index: int
    objective: str
    initial: torch.Tensor  # (3, S, S) on the CPU
    image: torch.Tensor
    initial_probability: float
    probability: float
    logit: float
    top: list[tuple[int, float]]  # top-5 (class index, probability)
    jittered: Jittered  # on the CPU
    jittered_probabilities: torch.Tensor  # (trials,) p(class) of each jittered copy
    jittered_top1: torch.Tensor  # (trials,) top-1 class of each jittered copy


def maximize_class(
    clf: Classifier,
    class_index: int,
    objective: str,
    steps: int,
    step_size: float,
    init_mean: float,
    init_std: float,
    seed: int,
    trials: int,
    max_shift: float,
    max_scale: float,
) -> ClassResult:
    """Ascend p(class) or its logit from seeded noise, then re-score randomly shifted/rescaled copies."""
    device = next(clf.model.parameters()).device
    init = noise_image(clf.input_size, init_mean, init_std, seed, device)
    result = gradient_ascent(class_objective(clf.model, class_index, objective), init, steps, step_size, desc="class")
    image = result.images
    jittered = random_shift_rescale(image.cpu(), trials, max_shift, max_scale, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        logits = clf.model(torch.cat([init, image, jittered.images.to(device)]))
        probs = F.softmax(logits, dim=1).cpu()
    values, indices = probs[1].topk(min(5, clf.num_classes))
    return ClassResult(
        class_index=class_index,
        objective=objective,
        initial=init[0].cpu(),
        image=image[0].cpu(),
        initial_probability=float(probs[0, class_index]),
        probability=float(probs[1, class_index]),
        logit=float(logits[1, class_index]),
        top=[(int(i), float(p)) for p, i in zip(values, indices, strict=True)],
        jittered=jittered,
        jittered_probabilities=probs[2:, class_index],
        jittered_top1=probs[2:].argmax(dim=1),
    )
