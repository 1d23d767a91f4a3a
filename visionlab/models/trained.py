"""Loading a trained CIFAR model as written by the train stage (``models/<name>.pt``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from visionlab.errors import PipelineError
from visionlab.models import build_model
from visionlab.models.normalize import Normalized


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
    wrapped.to(memory_format=torch.channels_last).eval()
    return TrainedModel(
        name=saved["model"],
        config=dict(saved["config"]),
        model=wrapped,
        class_names=tuple(saved["class_names"]),
        mean=list(saved["mean"]),
        std=list(saved["std"]),
        summary=dict(saved.get("summary", {})),
    )
