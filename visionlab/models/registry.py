"""The one list of models: the CIFAR-10 ones by name, each built from its params section (``fast``: ``fast.model``),
and AlexNet beside them where the analyses probe."""

from typing import Any

from torch import nn

from visionlab.core.errors import PipelineError
from visionlab.models.cnn import CNN
from visionlab.models.fast import FastNet
from visionlab.models.resnet import ResNet

MODEL_CLASSES: dict[str, type[nn.Module]] = {"cnn": CNN, "resnet": ResNet, "fast": FastNet}
MODELS: tuple[str, ...] = tuple(MODEL_CLASSES)  # the CIFAR-10 models: train, evaluate, calibrate, corruption
PROBED: tuple[str, ...] = ("alexnet", *MODELS)  # the models the analyses probe (maximize_class, attack, ...)


def build_model(name: str, config: dict[str, Any], num_classes: int = 10) -> nn.Module:
    """Build a model by name from its params section (a dict of constructor arguments)."""
    if name not in MODEL_CLASSES:
        raise PipelineError(f"unknown model {name!r}; choices: {', '.join(MODELS)}")
    return MODEL_CLASSES[name](**config, num_classes=num_classes)
