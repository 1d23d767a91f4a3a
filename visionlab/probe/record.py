"""What an analysis probed: AlexNet (which weights) or a trained CIFAR model (which checkpoint, trained how)."""

from dataclasses import dataclass
from typing import Any

from visionlab.core.record import Count


@dataclass
class TrainingProvenance:
    """What a CIFAR checkpoint says about its training (None where an old checkpoint does not say)."""

    epochs: Count | None = None
    subset: bool | None = None
    train_images: Count | None = None


@dataclass
class ProbedModel:
    name: str  # alexnet, cnn, resnet, ...
    random_weights: bool
    alexnet_weights: str | None = None  # AlexNet: alexnet.weights
    checkpoint: str | None = None  # a CIFAR model: models/<name>.pt
    trained_model: TrainingProvenance | None = None


def training_provenance(summary: dict[str, Any]) -> TrainingProvenance:
    """From a trained checkpoint's summary (``TrainedModel.summary``)."""
    return TrainingProvenance(summary.get("epochs"), summary.get("subset"), summary.get("train_images"))


def probed_model(name: str, random_weights: bool, provenance: dict[str, Any]) -> ProbedModel:
    """From a classifier's name, weights flag and provenance (``Classifier.provenance``)."""
    summary = provenance.get("trained_model")
    trained = None if summary is None else training_provenance(summary)
    return ProbedModel(name, random_weights, provenance.get("alexnet_weights"), provenance.get("checkpoint"), trained)
