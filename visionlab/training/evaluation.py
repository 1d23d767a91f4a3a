"""Test-set evaluation of a trained CIFAR model: loss, accuracy, per-class accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from visionlab.data.cifar import Split
from visionlab.training.loop import DeviceSplit, predict


@dataclass
class TestResult:
    loss: float
    accuracy: float
    predictions: np.ndarray  # predicted class per test image
    labels: np.ndarray
    confusion: np.ndarray  # confusion[actual, predicted] counts

    def per_class_accuracy(self) -> np.ndarray:
        totals = self.confusion.sum(axis=1)
        return np.divide(np.diag(self.confusion), totals, out=np.full(len(totals), np.nan), where=totals > 0)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(labels * num_classes + predictions, minlength=num_classes**2).reshape(num_classes, num_classes)


def evaluate_test(model: nn.Module, test: Split, device: torch.device, batch_size: int, num_classes: int) -> TestResult:
    data = DeviceSplit.from_split(test, device)
    loss, predictions = predict(model, data, batch_size)
    return TestResult(
        loss=loss,
        accuracy=float((predictions == test.labels).mean()),
        predictions=predictions,
        labels=test.labels,
        confusion=confusion_matrix(test.labels, predictions, num_classes),
    )


def metrics_record(
    model_name: str, config: dict[str, Any], result: TestResult, summary: dict[str, Any], class_names: Sequence[str]
) -> dict:
    """The metrics file of one model's evaluation: accuracies are fractions in 0..1.

    A pure function of params and data: two CPU runs with the same params write identical files.
    Training time is measured by the train stage (its DVCLive ``metrics.json``).
    """
    final = summary["history"][-1]
    return {
        "model": model_name,
        "config": config,
        "test": {
            "accuracy": result.accuracy,
            "loss": result.loss,
            "per_class_accuracy": dict(zip(class_names, map(float, result.per_class_accuracy()), strict=True)),
        },
        "train": {"accuracy": final["train_accuracy"], "loss": final["train_loss"]},
        "val": {"accuracy": final["val_accuracy"], "loss": final["val_loss"]},
        "epochs": summary["epochs"],
        "device": summary["device"],
        "data": {
            "train_images": summary["train_images"],
            "val_images": summary["val_images"],
            "test_images": len(result.labels),
            "subset": summary["subset"],
        },
    }
