"""AlexNet (ImageNet weights, or seeded random ones) as a :class:`Classifier`."""

from __future__ import annotations

import torch

from visionlab.interpret.alexnet import INPUT_SIZE, load_alexnet
from visionlab.interpret.classifiers import Classifier


def alexnet_classifier(weights: str, device: torch.device) -> Classifier:
    """``alexnet.weights`` loaded on ``device`` (see :func:`visionlab.interpret.alexnet.load_alexnet`)."""
    loaded = load_alexnet(weights, device)
    return Classifier(
        name="alexnet",
        model=loaded.model,
        class_names=loaded.class_names,
        input_size=INPUT_SIZE,
        random_weights=loaded.random_weights,
        provenance={"alexnet_weights": loaded.weights},
    )
