"""The seed report's own numbers (../shared/seed-report.md), shown beside the pipeline's."""

from __future__ import annotations

from typing import Any

# Part 1: CIFAR-10 classifiers. Accuracies are fractions in 0..1.
SEED_CIFAR: dict[str, dict[str, Any]] = {
    "cnn": {"test_accuracy": 0.847},
    "resnet": {
        "test_accuracy": 0.8919,
        "test_loss": 0.3675,
        "train_accuracy": 0.884,
        "val_accuracy": 0.898,
        "epochs": 100,
        # epoch: (train acc, val acc, train loss, val loss), from the seed's training log
        "log": {
            1: (0.3723, 0.4630, 1.7184, 1.5769),
            30: (0.8492, 0.8788, 0.4434, 0.3726),
            60: (0.8744, 0.8944, 0.3666, 0.3408),
            90: (0.8845, 0.8850, 0.3402, 0.3727),
            100: (0.8842, 0.8984, 0.3386, 0.3194),
        },
    },
}
