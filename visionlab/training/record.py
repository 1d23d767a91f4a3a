"""The train stage's files: DVCLive's summary ``reports/train/<model>/metrics.json`` (the last epoch's values, its
``step`` and ``timing.train_seconds``) and the side file ``reports/info/<model>_train.json`` (timing details)."""

from dataclasses import dataclass

from visionlab.core.record import Count, Fraction, Info, Metrics, NonNegative


@dataclass
class SplitScores:
    loss: NonNegative
    accuracy: Fraction


@dataclass
class Timing:
    train_seconds: NonNegative  # time in training steps only, summed over resumed runs


@dataclass
class TrainingSummary(Metrics):
    step: Count  # the last epoch
    train: SplitScores
    val: SplitScores
    timing: Timing


@dataclass
class TrainingInfo(Info):
    wall_seconds: NonNegative  # the whole loop: steps, validation and checkpoints
    images_per_second: NonNegative  # training images per second of train_seconds
    precision: str  # what ran: fp32 or bf16
    processes: Count  # data-parallel ranks (torchrun); images_per_second is all of theirs together
