"""The corrupted test set's index (``data/cifar10_c.json``) and the corruption stage's files:
``reports/metrics/<model>_corruption.json`` and ``reports/info/<model>_corruption.json``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from visionlab.errors import rule
from visionlab.metrics.probe import TrainingProvenance
from visionlab.metrics.record import Count, Fraction, Info, Metrics

Severity = rule("an integer in 1..5", int, ge=1, le=5)
Sha256 = rule("a sha256 hex digest", str, pattern="^[0-9a-f]{64}$")


@dataclass
class CorruptedSet(Info):
    """What ``data/cifar10_c.npy`` holds: uint8 (corruption, severity, image, 3, 32, 32) of the first ``images``
    test images, and the digest of those clean images and labels (a stale set is refused)."""

    images: Count
    corruptions: Annotated[list[str], Field(min_length=1)]
    severities: Annotated[list[Severity], Field(min_length=1)]
    seed: Count
    source_sha256: Sha256
    left_out: list[str]  # corruptions of make_cifar_c.py not made here


@dataclass
class CorruptionMetrics(Metrics):
    clean_accuracy: Fraction  # on the same test images, uncorrupted
    mean_corruption_accuracy: Fraction  # over every corruption and severity


@dataclass
class CorruptionScore:
    name: str
    accuracy: list[Fraction]  # per severity, in CorruptionInfo.severities' order
    mean: Fraction


@dataclass
class CorruptionInfo(Info):
    model: str
    checkpoint: str
    trained_model: TrainingProvenance
    images: Count
    severities: list[Severity]
    corruptions: list[CorruptionScore]
    worst: str  # the corruption with the lowest mean accuracy
    left_out: list[str]  # corruptions of make_cifar_c.py not made (from the set's index)
