"""The filters stage's side file ``reports/info/filters.json``; no metrics file: the shapes and weight statistics
describe the loaded weights, not a result that changes between experiments."""

from dataclasses import dataclass

from visionlab.core.record import Count, Info, NonNegative
from visionlab.probe.record import ProbedModel


@dataclass
class WeightStats:
    min: float
    max: float
    std: NonNegative


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
    conv1_weight: WeightStats
