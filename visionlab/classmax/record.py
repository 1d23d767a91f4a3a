"""The class-maximisation stage's files (maximize_class@<model>): metrics and info."""

from dataclasses import dataclass

from visionlab.core.record import Count, Fraction, Info, Metrics, NonNegative
from visionlab.probe.record import ProbedModel


@dataclass
class ClassMetrics(Metrics):
    probability: Fraction  # p(class) of the result (the robustness scores are in the info file)


@dataclass
class Guess:
    class_index: Count
    class_name: str
    probability: Fraction


@dataclass
class RobustnessInfo:
    trials: Count
    max_shift: NonNegative
    max_scale: NonNegative
    mean_probability: Fraction  # p(class) averaged over the randomly shifted/rescaled copies
    min_probability: Fraction
    top1_kept_fraction: Fraction  # copies still classified as the class


@dataclass
class ClassInfo(Info):
    model: ProbedModel
    class_index: Count
    class_name: str
    objective: str  # prob | logit
    steps: Count
    step_size: NonNegative
    initial_probability: Fraction  # p(class) of the starting noise
    logit: float  # the class's logit of the result
    top5: list[Guess]
    robustness: RobustnessInfo | None = None
