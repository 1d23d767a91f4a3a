"""What visualize@<model> renders: AlexNet's conv1 centre units and conv5 channels, each model's last conv
channels and its class, always read before the activation that follows (pre-ReLU); the diversity rung's Gram matrices
after it, where Lucent's examples read theirs (docs/visualize.md: measured both ways), except AlexNet's conv1 units."""

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from visionlab.core.errors import PipelineError
from visionlab.models.classifier import Classifier, last_activation
from visionlab.probe.objectives import centre_unit, channel_mean, class_objective, conv_unit
from visionlab.visualize.param import IMAGENET_COLOUR_SQRT, colour_sqrt
from visionlab.visualize.params import VisualizedModel
from visionlab.visualize.render import Target

# The module whose output feeds each model's last conv activation, and what it is.
LAST_CONV: dict[str, tuple[Callable[[Any], nn.Module], str]] = {
    "alexnet": (lambda net: net.features[10], "conv5"),  # features[11] is ReLU(inplace=True)
    "cnn": (lambda net: net.features[-1][1], "the last conv block's BatchNorm (before its ReLU)"),
    "resnet": (lambda net: net.layer4[-1].bn2, "layer4's last BatchNorm (before the residual sum and its ReLU)"),
    "fast": (lambda net: net.layers[-1][5], "the last conv group's BatchNorm (before its GELU)"),
}


def last_conv(name: str, net: nn.Module) -> nn.Module:
    """The module of :data:`LAST_CONV` in ``net`` (the network inside the :class:`Normalized` wrapper)."""
    return LAST_CONV[name][0](net)


def targets(clf: Classifier, units: VisualizedModel) -> list[Target]:
    """What to render on ``clf``, checked against the network (channel and class ranges)."""
    key = f"visualize.models.{clf.name}"
    net, normalize = clf.model.net, clf.model[0]
    gram_layer = last_activation(clf.name, net)  # first: a model it does not know is refused in one line
    layer = last_conv(clf.name, net)
    found: list[Target] = []
    if units.conv1_channels:
        if clf.name != "alexnet":
            raise PipelineError(f"{key}.conv1_channels: only alexnet has them (the seed's conv1 units)")
        conv1 = net.features[0]
        row, col = centre_unit(conv1, clf.input_size)
        for channel in units.conv1_channels:  # Gram matrices at conv1 itself: the only layer the objective runs
            objective = conv_unit(conv1, normalize, channel, row, col)
            found.append(Target(f"conv1_{channel}", f"conv1 channel {channel}, centre unit", objective, conv1))
    channels = layer.num_features if isinstance(layer, nn.BatchNorm2d) else layer.out_channels
    if bad := [c for c in units.channels if c >= channels]:
        raise PipelineError(f"{key}.channels: {bad} out of range, {clf.name} has {channels} there (0..{channels - 1})")
    name = "conv5" if clf.name == "alexnet" else "last conv"
    for channel in units.channels:
        objective = channel_mean(clf.model, layer, channel)
        found.append(Target(f"{name.replace(' ', '_')}_{channel}", f"{name} channel {channel}", objective, gram_layer))
    clf.check_class(units.class_index, f"{key}.class_index")
    for kind in units.class_objectives:
        objective = class_objective(clf.model, units.class_index, kind)
        title = f"class {clf.label(units.class_index)}, {'probability' if kind == 'prob' else kind}"
        found.append(Target(f"class_{kind}", title, objective, gram_layer))
    return found


def colour_matrix(name: str, covariance: list[list[float]] | None) -> torch.Tensor:
    """The square root of the colour covariance the model's images are decorrelated with (not yet normalised)."""
    if name == "alexnet":
        return torch.tensor(IMAGENET_COLOUR_SQRT)
    if covariance is None:
        raise PipelineError(f"--model {name} needs --colour-stats (data/colour.json from the stats stage)")
    return colour_sqrt(torch.tensor(covariance))
