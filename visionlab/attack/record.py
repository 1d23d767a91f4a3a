"""The attack stage's files (attack@<model>): metrics and info."""

from dataclasses import dataclass

from visionlab.core.record import Count, Fraction, Info, Metrics, NonNegative
from visionlab.probe.record import ProbedModel


@dataclass
class UnboundedScores:
    target_probability: Fraction  # p(target) of the one ship after the seed's unbounded attack


@dataclass
class BoundedScores:
    success_rate: Fraction  # ships classified as the target after the bounded attack


@dataclass
class AttackMetrics(Metrics):
    unbounded: UnboundedScores
    bounded: BoundedScores


@dataclass
class AttackTop1:
    top1_index: Count
    top1_name: str
    top1_probability: Fraction
    original_top1_probability: Fraction  # p of the class the clean image was classified as


@dataclass
class UnboundedInfo:
    steps: Count
    step_size: NonNegative
    target_probability_before: Fraction
    before: AttackTop1
    after: AttackTop1
    linf: NonNegative
    linf_255: NonNegative
    l2: NonNegative
    rms: NonNegative


@dataclass
class BoundedInfo:
    epsilon: NonNegative
    epsilon_step: NonNegative
    steps: Count
    images: Count  # ships attacked
    successes: Count
    success_rate_uint8: Fraction  # the success rate after rounding the adversarial images to 8-bit pixels
    clean_predicted_as_target: Count
    max_linf: NonNegative
    median_steps_to_success: NonNegative | None = None  # None: no success
    clean_accuracy: Fraction | None = None  # None: the model has no class "ship"


@dataclass
class AttackInfo(Info):
    model: ProbedModel
    target_class: Count
    target_name: str
    ship_test_index: Count  # position of the attacked ship in the test split
    input_size: Count
    unbounded: UnboundedInfo
    bounded: BoundedInfo
