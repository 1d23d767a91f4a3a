"""The evaluate stage's files: test metrics ``reports/metrics/<model>.json`` and ``reports/info/<model>.json``;
the last epoch's training and validation scores are the train stage's metrics, not repeated here."""

from dataclasses import dataclass
from typing import Any

from visionlab.core.record import Count, Fraction, Info, Metrics, NonEmpty, NonNegative


@dataclass
class EvalScores:
    accuracy: Fraction
    loss: NonNegative


@dataclass
class EvalMetrics(Metrics):
    test: EvalScores


@dataclass
class DataCounts:
    train_images: Count
    val_images: Count
    test_images: Count
    subset: bool  # the CIFAR-10 sample, not the full data set


@dataclass
class EvalInfo(Info):
    model: str
    config: NonEmpty[Any]  # the model's params section
    epochs: Count
    device: str  # where it was trained
    data: DataCounts
    class_names: list[str]
