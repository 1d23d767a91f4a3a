"""The maximize_channels stage's files: ``reports/metrics/maximize_channels.json`` and its info file, each
mapping a conv1 channel number (a string: JSON keys are strings) to that channel's values."""

from dataclasses import dataclass

from visionlab.core.record import Count, Info, Metrics, NonEmpty, NonNegative
from visionlab.probe.record import ProbedModel


@dataclass
class ChannelScores:
    activation: float  # pre-ReLU, after the last step


@dataclass
class ChannelsMetrics(Metrics):
    channels: NonEmpty[ChannelScores]


@dataclass
class ChannelDetail:
    initial_activation: float
    analytic_max: float  # the largest value the unit can take over [0, 1] images


@dataclass
class Unit:
    row: Count
    col: Count


@dataclass
class ReceptiveField:
    row_first: Count
    row_last: Count
    col_first: Count
    col_last: Count


@dataclass
class ChannelsInfo(Info):
    model: ProbedModel
    unit: Unit
    receptive_field: ReceptiveField
    steps: Count
    step_size: NonNegative
    channels: NonEmpty[ChannelDetail]
