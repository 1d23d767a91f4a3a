"""The train stage's metrics: DVCLive's summary ``reports/train/<model>/metrics.json``.

DVCLive writes it (the last epoch's values, its ``step``, and the run's ``timing``); the report reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from visionlab.metrics.record import Count, Fraction, Metrics, NonNegative


@dataclass
class SplitScores:
    loss: NonNegative
    accuracy: Fraction


@dataclass
class Timing:
    train_seconds: NonNegative
    wall_seconds: NonNegative
    images_per_second: NonNegative


@dataclass
class TrainingSummary(Metrics):
    step: Count  # the last epoch
    train: SplitScores
    val: SplitScores
    timing: Timing
