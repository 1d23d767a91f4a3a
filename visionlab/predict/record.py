"""The predict stage's files: ``reports/metrics/predict.json`` and ``reports/info/predict.json``."""

from dataclasses import dataclass

from visionlab.core.record import Count, Fraction, Info, Metrics
from visionlab.probe.record import ProbedModel


@dataclass
class ModeScores:
    median_top1_confidence: Fraction
    above_0_98: Count  # images predicted with more than 0.98 confidence


@dataclass
class PredictMetrics(Metrics):
    without_normalization: ModeScores
    with_normalization: ModeScores
    top1_agreement: Fraction  # images whose top-1 class is the same with and without


@dataclass
class Top1:
    class_index: Count
    class_name: str
    confidence: Fraction


@dataclass
class ImagePrediction:
    image: str
    without_normalization: Top1
    with_normalization: Top1


@dataclass
class PredictInfo(Info):
    model: ProbedModel
    device: str
    top_k: Count
    images: list[ImagePrediction]  # the full top-k is in reports/predict/predictions.csv
