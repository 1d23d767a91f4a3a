"""One interface over the networks the analyses can probe: ImageNet AlexNet or a trained CIFAR model."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from visionlab.data.cifar import load_stats
from visionlab.errors import PipelineError
from visionlab.interpret.alexnet import INPUT_SIZE, LoadedAlexNet, load_alexnet
from visionlab.models.trained import TrainedModel, load_trained

CIFAR_INPUT_SIZE = 32
STATS_TOLERANCE = 1e-4


@dataclass
class Classifier:
    """A network that maps [0, 1] pixels of ``input_size`` squares to logits over ``class_names``."""

    name: str
    model: nn.Module
    class_names: tuple[str, ...]
    input_size: int
    random_weights: bool
    provenance: dict[str, Any]  # copied into every metrics file: which weights / what it was trained on
    alexnet: LoadedAlexNet | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label(self, index: int) -> str:
        return f"{index} ({self.class_names[index]})"

    def check_class(self, index: int, key: str, hint: str = "") -> None:
        """Reject a class index this network does not have, in one line naming the param."""
        if not 0 <= index < self.num_classes:
            examples = ", ".join(f"{i}={n}" for i, n in enumerate(self.class_names[:10]))
            more = ", ..." if self.num_classes > 10 else ""
            raise PipelineError(
                f"{key}={index} is out of range for model={self.name}: classes are 0..{self.num_classes - 1} "
                f"({examples}{more}){hint}"
            )

    def metrics_header(self) -> dict[str, Any]:
        return {"model": self.name, "random_weights": self.random_weights, **self.provenance}


def from_alexnet(loaded: LoadedAlexNet) -> Classifier:
    return Classifier(
        name="alexnet",
        model=loaded.model,
        class_names=loaded.class_names,
        input_size=INPUT_SIZE,
        random_weights=loaded.random_weights,
        provenance={"alexnet_weights": loaded.weights},
        alexnet=loaded,
    )


def from_trained(trained: TrainedModel, checkpoint: Path) -> Classifier:
    return Classifier(
        name=trained.name,
        model=trained.model,
        class_names=trained.class_names,
        input_size=CIFAR_INPUT_SIZE,
        random_weights=False,
        provenance={"checkpoint": str(checkpoint), "trained_model": _jsonable(trained.summary)},
    )


def load_classifier(
    name: str,
    alexnet_weights: str,
    models_dir: str | Path,
    device: torch.device,
    stats_path: str | Path | None = None,
) -> Classifier:
    """``alexnet`` (with ``alexnet_weights``) or ``models_dir/<name>.pt`` from the train stage, on ``device``."""
    if name == "alexnet":
        return from_alexnet(load_alexnet(alexnet_weights, device))
    checkpoint = Path(models_dir) / f"{name}.pt"
    trained = load_trained(checkpoint, map_location=device, expected=name)  # resnet.pt must hold a resnet
    trained.model.to(device).eval()
    if stats_path is not None:
        warn_if_stats_differ(trained, Path(stats_path))
    return from_trained(trained, checkpoint)


def warn_if_stats_differ(trained: TrainedModel, stats_path: Path) -> None:
    """The checkpoint carries its own normalisation; say so if data/stats.json has since changed."""
    if not stats_path.is_file():
        return
    mean, std = load_stats(stats_path)
    drift = max(abs(a - b) for a, b in zip([*mean, *std], [*trained.mean, *trained.std], strict=True))
    if drift > STATS_TOLERANCE:
        def fmt(values: list[float]) -> str:
            return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"

        print(
            f"warning: {trained.name} was trained with mean {fmt(trained.mean)}, std {fmt(trained.std)} but "
            f"{stats_path} now says {fmt(mean)}, {fmt(std)}; using the checkpoint's own (retrain to match)",
            file=sys.stderr,
        )


def _jsonable(value: Any) -> Any:
    """The train stage's summary as plain JSON values (anything exotic becomes its string)."""
    return json.loads(json.dumps(value, default=str))
