"""The CIFAR-10 models, built by name from their params section, and trained-checkpoint loading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from visionlab.errors import PipelineError
from visionlab.models.cnn import CNN
from visionlab.models.normalize import Normalize, Normalized
from visionlab.models.resnet import ResNet

MODELS: dict[str, type[nn.Module]] = {"cnn": CNN, "resnet": ResNet}

__all__ = ["CNN", "MODELS", "Normalize", "Normalized", "ResNet", "TrainedModel", "build_model", "load_trained"]


def build_model(name: str, config: dict[str, Any], num_classes: int = 10) -> nn.Module:
    """Build ``cnn`` or ``resnet`` from its params section (a dict of constructor arguments)."""
    if name not in MODELS:
        raise PipelineError(f"unknown model {name!r}; choices: {', '.join(MODELS)}")
    return MODELS[name](**config, num_classes=num_classes)


@dataclass
class TrainedModel:
    """A trained CIFAR model that takes [0, 1] pixels (normalisation included) and what it was trained on."""

    name: str
    config: dict[str, Any]
    model: Normalized
    class_names: tuple[str, ...]
    mean: list[float]
    std: list[float]
    summary: dict[str, Any]


def load_trained(path: str | Path, map_location: str | torch.device = "cpu") -> TrainedModel:
    """Load ``models/<name>.pt`` as written by the train stage (weights_only: no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"trained checkpoint {path} not found: run `dvc repro train@{path.stem}` first")
    try:
        saved = torch.load(path, map_location=map_location, weights_only=True)
        net = build_model(saved["model"], saved["config"], num_classes=len(saved["class_names"]))
        wrapped = Normalized(net, saved["mean"], saved["std"])
        wrapped.net.load_state_dict(saved["state_dict"])
    except PipelineError:
        raise
    except Exception as err:  # a corrupt, foreign or mismatched file
        reason = f"{type(err).__name__}: {err}"
        raise PipelineError(f"{path} is not a checkpoint written by the train stage ({reason})") from None
    wrapped.eval()
    return TrainedModel(
        name=saved["model"],
        config=dict(saved["config"]),
        model=wrapped,
        class_names=tuple(saved["class_names"]),
        mean=list(saved["mean"]),
        std=list(saved["std"]),
        summary=dict(saved.get("summary", {})),
    )
