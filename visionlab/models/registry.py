"""The one list of models: the CIFAR-10 ones by name, each built from its params section (``fast``: ``fast.model``),
and AlexNet beside them where the analyses probe."""

import dataclasses
from typing import Any

from torch import nn

from visionlab.core.errors import PipelineError
from visionlab.core.params import int_range, section
from visionlab.models.cnn import CNN
from visionlab.models.fast import FastNet
from visionlab.models.params import CNNParams, FastModelParams, ResNetParams
from visionlab.models.resnet import ResNet

MODEL_CLASSES: dict[str, type[nn.Module]] = {"cnn": CNN, "resnet": ResNet, "fast": FastNet}
MODEL_CONFIGS: dict[str, type] = {"cnn": CNNParams, "resnet": ResNetParams, "fast": FastModelParams}  # fast.model
MODELS: tuple[str, ...] = tuple(MODEL_CLASSES)  # the CIFAR-10 models: train, evaluate, calibrate, corruption
PROBED: tuple[str, ...] = ("alexnet", *MODELS)  # the models the analyses probe (stages <analysis>@<model>)


def build_model(name: str, config: dict[str, Any], num_classes: int = 10) -> nn.Module:
    """Build a model by name from its params section (a dict of constructor arguments)."""
    if name not in MODEL_CLASSES:
        raise PipelineError(f"unknown model {name!r}; choices: {', '.join(MODELS)}")
    return MODEL_CLASSES[name](**config, num_classes=num_classes)


def per_model(name: str, kind: Any, default: Any, **own: tuple[Any, Any]) -> Any:
    """A params section with a ``kind`` for each model of PROBED (``<stage>@<model>``), e.g.
    ``attack.target_class.cnn``; ``own`` gives a model its own (kind, default). ``section.of(model)`` reads one."""
    fields = [(model, *own.get(model, (kind, default))) for model in PROBED]
    of = {"of": lambda self, model: getattr(self, model)}
    return section(dataclasses.make_dataclass(name, fields, frozen=True, namespace=of))


ClassIndex = int_range(0, 999)  # ImageNet's 1,000 classes, the most of any model here (each model checks its own)
# A class index for each model: ImageNet's golden retriever; dog, the CIFAR-10 class nearest to it.
ClassPerModel = per_model("ClassPerModel", ClassIndex, 5, alexnet=(ClassIndex, 207))
