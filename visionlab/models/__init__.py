"""The CIFAR-10 models, built by name from their params section.

Each model lives in its own module, imported only when that model is built: a stage that trains
or analyses one model imports (and so depends on) that model's definition alone.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from visionlab.errors import PipelineError

# name -> (module, class); the params section of each model has the same name (``fast``: ``fast.model``).
MODEL_CLASSES: dict[str, tuple[str, str]] = {
    "cnn": ("visionlab.models.cnn", "CNN"),
    "resnet": ("visionlab.models.resnet", "ResNet"),
    "fast": ("visionlab.models.fast", "FastNet"),
}
MODELS: tuple[str, ...] = tuple(MODEL_CLASSES)


def build_model(name: str, config: dict[str, Any], num_classes: int = 10) -> nn.Module:
    """Build a model by name from its params section (a dict of constructor arguments)."""
    if name not in MODEL_CLASSES:
        raise PipelineError(f"unknown model {name!r}; choices: {', '.join(MODELS)}")
    module, cls = MODEL_CLASSES[name]
    return getattr(importlib.import_module(module), cls)(**config, num_classes=num_classes)
