"""A trained CIFAR model on the corrupted test set: accuracy per corruption and severity, and the records."""

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from visionlab.core.progress import progress_enabled
from visionlab.corruption.record import CorruptedSet, CorruptionInfo, CorruptionMetrics, CorruptionScore
from visionlab.data.cifar import Split
from visionlab.evaluation.inference import DeviceSplit, loss_and_accuracy
from visionlab.models.trained import TrainedModel
from visionlab.probe.record import training_provenance


def score_corrupted(
    model: nn.Module, clean: Split, corrupted: np.ndarray, index: CorruptedSet, device: torch.device, batch_size: int
) -> tuple[float, dict[str, list[float]]]:
    """Clean accuracy, and accuracy per corruption (one value per severity); one (corruption, severity)
    block of images in memory at a time."""

    def accuracy(images: np.ndarray) -> float:
        return loss_and_accuracy(model, DeviceSplit.from_split(Split(images, clean.labels), device), batch_size)[1]

    table: dict[str, list[float]] = {name: [] for name in index.corruptions}
    cells = [(c, s) for c in range(len(index.corruptions)) for s in range(len(index.severities))]
    for c, s in tqdm(cells, desc="corruption x severity", leave=False, disable=not progress_enabled()):
        table[index.corruptions[c]].append(accuracy(np.array(corrupted[c, s])))
    return accuracy(clean.images), table


def corruption_records(
    trained: TrainedModel, checkpoint: str, index: CorruptedSet, clean_accuracy: float, table: dict[str, list[float]]
) -> tuple[CorruptionMetrics, CorruptionInfo]:
    scores = [CorruptionScore(name, values, float(np.mean(values))) for name, values in table.items()]
    mean = float(np.mean([v for values in table.values() for v in values]))
    worst = min(scores, key=lambda score: score.mean).name
    metrics = CorruptionMetrics(clean_accuracy=clean_accuracy, mean_corruption_accuracy=mean)
    info = CorruptionInfo(
        trained.name,
        str(checkpoint),
        training_provenance(trained.summary),
        index.images,
        index.severities,
        scores,
        worst,
        index.left_out,
    )
    return metrics, info
