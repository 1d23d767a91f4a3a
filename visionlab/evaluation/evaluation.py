"""Test-set evaluation of a trained CIFAR model: loss, accuracy, per-class accuracy, confusion matrix."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from visionlab.data.cifar import Split
from visionlab.evaluation.inference import DeviceSplit, loss_and_predictions
from visionlab.evaluation.record import DataCounts, EvalInfo, EvalMetrics, EvalScores


@dataclass
class TestResult:
    loss: float
    accuracy: float
    predictions: np.ndarray  # predicted class per test image
    labels: np.ndarray
    confusion: np.ndarray  # confusion[actual, predicted] counts


def evaluate_test(model: nn.Module, test: Split, device: torch.device, batch_size: int, num_classes: int) -> TestResult:
    data = DeviceSplit.from_split(test, device)
    loss, predictions = loss_and_predictions(model, data, batch_size)
    confusion = np.bincount(test.labels * num_classes + predictions, minlength=num_classes**2)
    accuracy = float((predictions == test.labels).mean())
    return TestResult(loss, accuracy, predictions, test.labels, confusion.reshape(num_classes, num_classes))


def evaluation_records(
    model_name: str, config: dict[str, Any], result: TestResult, summary: dict[str, Any], class_names: Sequence[str]
) -> tuple[EvalMetrics, EvalInfo]:
    """The metrics file of one model's evaluation and its info file (a pure function of params and data)."""
    metrics = EvalMetrics(EvalScores(accuracy=result.accuracy, loss=result.loss))
    info = EvalInfo(
        model=model_name,
        config=config,
        epochs=summary["epochs"],
        device=summary["device"],
        data=DataCounts(summary["train_images"], summary["val_images"], len(result.labels), summary["subset"]),
        class_names=list(class_names),
    )
    return metrics, info


def per_class_csv(result: TestResult, class_names: Sequence[str]) -> str:
    """Test accuracy per class as a CSV (class, accuracy) for DVC's bar plot; empty where a class has no image."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["class", "accuracy"])
    totals = result.confusion.sum(axis=1)
    accuracies = np.divide(np.diag(result.confusion), totals, out=np.full(len(totals), np.nan), where=totals > 0)
    for name, accuracy in zip(class_names, accuracies, strict=True):
        writer.writerow([name, "" if np.isnan(accuracy) else repr(float(accuracy))])
    return out.getvalue()
