from visionlab.core.params import OpenFraction, Steps, StepSize, int_range, section
from visionlab.models.registry import ClassPerModel


@section
class AttackParams:
    """The adversarial ship (seed 5) on AlexNet and on each trained CIFAR model."""

    ship_index: int_range(0, 999) = 0  # of CIFAR-10's 1,000 test ships
    target_class: ClassPerModel = ClassPerModel()
    steps: Steps = 40
    step_size: StepSize = 5.0
    epsilon: OpenFraction = 8 / 255
    epsilon_step: OpenFraction = 1 / 255
    max_images: int_range(1, 1000) = 100  # CIFAR-10's test split holds 1,000 ships
