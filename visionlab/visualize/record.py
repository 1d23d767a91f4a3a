"""The feature-visualisation stage's file ``reports/visualize/<model>.json``: a cached output, not a DVC metric
(four numbers per objective and rung would not fit the metrics budget)."""

from dataclasses import dataclass

from visionlab.core.record import Count, Fraction, Info, NonEmpty, NonNegative
from visionlab.probe.record import ProbedModel

# The ladder's rungs, in order, and how the figure and the report name them.
RUNG_TITLES = {"naive": "naive", "fft": "fft", "fft_transforms": "fft + transforms", "diversity": "diversity"}
RUNGS = tuple(RUNG_TITLES)


@dataclass
class RungScores:
    activation: float  # the objective of the result (mean over a batch), pre-ReLU
    robust_activation: float  # its mean over the seeded random transforms
    high_frequency: Fraction  # share of spectral energy above half the Nyquist frequency
    seconds: NonNegative


@dataclass
class ObjectiveScores:
    key: str  # conv1_0, conv5_0, last_conv_1, class_logit, class_prob
    title: str
    rungs: NonEmpty[RungScores]  # naive, fft, fft_transforms, diversity


@dataclass
class TransformInfo:
    shift: Count
    jitter: Count
    scale_min: NonNegative
    scale_max: NonNegative
    rotate: NonNegative


@dataclass
class VisualizeInfo(Info):
    model: ProbedModel
    input_size: Count
    colour: str  # where the colour decorrelation comes from
    last_conv: str  # which module the channel objectives read
    naive_steps: Count
    naive_step_size: NonNegative
    steps: Count
    lr: NonNegative
    diversity_batch: Count
    diversity_weight: NonNegative
    robust_trials: Count
    transforms: TransformInfo
    objectives: list[ObjectiveScores]
