"""A CIFAR-10 model trained by the train stage (``models/<name>.pt``) as a :class:`Classifier`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from visionlab.data.cifar import load_stats
from visionlab.models.classifier import Classifier
from visionlab.models.trained import TrainedModel, load_trained

CIFAR_INPUT_SIZE = 32
STATS_TOLERANCE = 1e-4


def trained_classifier(
    name: str, checkpoint: str | Path, device: torch.device, stats_path: str | Path | None = None
) -> Classifier:
    """The ``name`` model from ``checkpoint``, on ``device``; refuses a checkpoint of another model."""
    checkpoint = Path(checkpoint)
    trained = load_trained(checkpoint, map_location=device, expected=name)  # resnet.pt must hold a resnet
    trained.model.to(device).eval()
    if stats_path is not None:
        warn_if_stats_differ(trained, Path(stats_path))
    summary = json.loads(json.dumps(trained.summary, default=str))  # plain JSON values (exotic ones as text)
    return Classifier(
        name=trained.name,
        model=trained.model,
        class_names=trained.class_names,
        input_size=CIFAR_INPUT_SIZE,
        random_weights=False,
        provenance={"checkpoint": checkpoint.as_posix(), "trained_model": summary},
    )


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
