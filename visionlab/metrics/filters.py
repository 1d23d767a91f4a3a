"""The filters stage's files: ``reports/metrics/filters.json`` and ``reports/info/filters.json``."""

from __future__ import annotations

from dataclasses import dataclass

from visionlab.metrics.probe import ProbedModel
from visionlab.metrics.record import Count, Info, Metrics, NonNegative


@dataclass
class WeightStats:
    min: float
    max: float
    std: NonNegative


@dataclass
class FiltersMetrics(Metrics):
    conv1_weight: WeightStats


@dataclass
class ConvShape:
    in_channels: Count
    out_channels: Count
    kernel: Count
    stride: Count
    padding: Count
    output_size: Count  # side of the output map for the info's input_size


@dataclass
class FiltersInfo(Info):
    model: ProbedModel
    input_size: Count
    conv1: ConvShape
    conv2: ConvShape
