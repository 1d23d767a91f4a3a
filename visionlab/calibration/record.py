"""The calibrate stage's files: ``reports/metrics/<model>_calibration.json`` and
``reports/info/<model>_calibration.json``."""

from dataclasses import dataclass

from visionlab.core.errors import rule
from visionlab.core.record import Count, Fraction, Info, Metrics, NonNegative
from visionlab.probe.record import TrainingProvenance

Temperature = rule("a positive number", float, gt=0, allow_inf_nan=False)


@dataclass
class CalibrationMetrics(Metrics):
    ece: Fraction  # test split, the model as evaluate runs it (15 bins, L1)
    ece_temperature: Fraction  # the same after dividing the logits by the temperature
    temperature: Temperature  # fitted on the validation split (NLL)


@dataclass
class ReliabilityBin:
    index: Count
    lower: Fraction
    upper: Fraction
    count: Count
    confidence: Fraction
    accuracy: Fraction


@dataclass
class SplitScores:
    images: Count
    nll: NonNegative
    nll_temperature: NonNegative


@dataclass
class CalibrationInfo(Info):
    model: str
    checkpoint: str
    trained_model: TrainingProvenance
    validation: SplitScores  # where the temperature was fitted
    test: SplitScores
    test_accuracy: Fraction
    bins: list[ReliabilityBin]  # test split, before temperature scaling
    bins_temperature: list[ReliabilityBin]  # after
