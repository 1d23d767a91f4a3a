"""The attribute stage's side file (attribute@<model>): where the model looks at the attack's ship, clean and
adversarial, by Integrated Gradients and Grad-CAM. No metrics file: its numbers are details, not headlines."""

from dataclasses import dataclass

from visionlab.core.record import Count, Fraction, Info, NonNegative
from visionlab.probe.record import ProbedModel


@dataclass
class ClassAttribution:
    """One image's attributions toward one class; f is the class's logit."""

    logit: float  # f(x)
    baseline_logit: float  # f(black image)
    ig_sum: float  # the sum of the IG attributions: f(x) - f(baseline) up to convergence_delta
    convergence_delta: float  # Captum's: ig_sum - (f(x) - f(baseline))
    gradcam_sum: NonNegative  # the sum of the upsampled Grad-CAM map (ReLU'd, so >= 0)


@dataclass
class AttributedImage:
    predicted_class: Count
    predicted_name: str
    predicted_probability: Fraction
    toward_ship: ClassAttribution
    toward_target: ClassAttribution


@dataclass
class MassOverlap:
    """How much of a map's mass stays in place from the clean to the adversarial image: the overlap
    sum(min(a, b)) of the two maps each normalised to sum 1 (IG: |attribution| summed over colour channels).
    1: the same map; 0: disjoint. None where one of the maps is all zero."""

    ig_ship: Fraction | None = None
    ig_target: Fraction | None = None
    gradcam_ship: Fraction | None = None
    gradcam_target: Fraction | None = None


@dataclass
class AttributionInfo(Info):
    model: ProbedModel
    ship_test_index: Count  # the attack stage's ship: its position in the test split
    input_size: Count
    ship_class: Count  # the true class the maps are taken toward (AlexNet: ImageNet's "container ship")
    ship_name: str
    target_class: Count  # the attack's target
    target_name: str
    attack_steps: Count  # the seed's unbounded attack that made the adversarial image
    attack_step_size: NonNegative
    n_steps: Count  # IG's steps from the black image
    gradcam_layer: str  # the last conv activation (classifiers.LAST_ACTIVATION), as named in the model
    gradcam_single_view: bool  # the model's test-time views were switched off for Grad-CAM (fast's tta)
    clean: AttributedImage
    adversarial: AttributedImage
    overlap: MassOverlap
