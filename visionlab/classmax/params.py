from visionlab.core.params import Fraction, OpenFraction, Spread, Steps, StepSize, int_range, one_of, section
from visionlab.models.registry import ClassPerModel


@section
class MaximizeClassParams:
    """Class maximisation (seed 4) on AlexNet and on each trained CIFAR model."""

    class_index: ClassPerModel = ClassPerModel()
    steps: Steps = 40
    step_size: StepSize = 5.0
    objective: one_of("prob", "logit") = "prob"
    init_mean: OpenFraction = 0.5
    init_std: Spread = 0.01
    robustness_trials: int_range(0, 256) = 8  # one batch: about 2.7 MiB a copy on AlexNet at 224 px
    max_shift: Fraction = 0.05
    max_scale: Fraction = 0.1
