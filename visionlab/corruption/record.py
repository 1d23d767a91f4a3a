"""The corrupted test set's index (``data/cifar10_c.json``) and the corruption stage's files:
``reports/metrics/<model>_corruption.json`` and ``reports/info/<model>_corruption.json``."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from visionlab.core.errors import rule
from visionlab.core.record import Count, Fraction, Info, Metrics
from visionlab.corruption.corruptions import CORRUPTIONS
from visionlab.probe.record import TrainingProvenance

CORRUPTION_NAMES = tuple(CORRUPTIONS)
Severity = rule("an integer in 1..5", int, ge=1, le=5)
Sha256 = rule("a sha256 hex digest", str, pattern="^[0-9a-f]{64}$")


def _first_problem(values: Sequence[Any], known: Sequence[Any] | None = None) -> str | None:
    """The first value of ``values`` that repeats or (``known`` given) is none of ``known``; "empty" if empty."""
    for i, value in enumerate(values):
        if known is not None and value not in known:
            return f"{value!r} is none of {', '.join(known)}"
        if value in values[:i]:
            return f"{value!r} twice"
    return None if values else "empty"


def _distinct(what: str, known: Sequence[Any] | None = None) -> AfterValidator:
    """A list's rule: non-empty, no repeats, each in ``known``; worded ``must be <what> (<the first problem>)``."""

    def after(values: list[Any]) -> list[Any]:
        if (problem := _first_problem(values, known)) is not None:
            raise PydanticCustomError("rule", f"{what} ({problem})")
        return values

    return AfterValidator(after)


Severities = Annotated[list[Severity], _distinct("a non-empty list of distinct severities")]
Corruptions = Annotated[list[str], _distinct("a non-empty list of distinct corruptions", CORRUPTION_NAMES)]


@dataclass
class CorruptedSet(Info):
    """What ``data/cifar10_c.npy`` holds: uint8 (corruption, severity, image, 3, 32, 32) of the first ``images``
    test images, the digest of those clean images and labels (a stale set is refused) and of the .npy itself."""

    images: Count
    corruptions: Corruptions
    severities: Severities
    seed: Count
    source_sha256: Sha256
    left_out: list[str]  # corruptions of make_cifar_c.py not made here
    sha256: Sha256  # of the .npy itself, checked (streamed) by whoever reads it


@dataclass
class CorruptionMetrics(Metrics):
    clean_accuracy: Fraction  # on the same test images, uncorrupted
    mean_corruption_accuracy: Fraction  # over every corruption and severity


@dataclass
class CorruptionScore:
    name: str
    accuracy: list[Fraction]  # per severity, in CorruptionInfo.severities' order
    mean: Fraction


def _scores(scores: list[CorruptionScore], info: ValidationInfo) -> list[CorruptionScore]:
    severities = info.data.get("severities", [])  # absent: refused already
    short = [f"{s.name}: {len(s.accuracy)} for {len(severities)}" for s in scores if len(s.accuracy) != len(severities)]
    if problem := _first_problem([s.name for s in scores], CORRUPTION_NAMES) or next(iter(short), None):
        raise PydanticCustomError("rule", f"scores of distinct corruptions, one accuracy per severity ({problem})")
    return scores


def _worst(name: str, info: ValidationInfo) -> str:
    if name not in [s.name for s in info.data.get("corruptions", [])]:
        raise PydanticCustomError("rule", "one of the scored corruptions")
    return name


@dataclass
class CorruptionInfo(Info):
    model: str
    checkpoint: str
    trained_model: TrainingProvenance
    images: Count
    severities: Severities
    corruptions: Annotated[list[CorruptionScore], AfterValidator(_scores)]
    worst: Annotated[str, AfterValidator(_worst)]  # the corruption with the lowest mean accuracy
    left_out: list[str]  # corruptions of make_cifar_c.py not made (from the set's index)
