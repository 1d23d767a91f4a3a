"""The ``visualize`` section: the ladder's settings, and what to render for each model."""

from typing import Literal

from pydantic import Field
from pydantic_core import PydanticCustomError

from visionlab.core.errors import rule
from visionlab.core.params import WIDEST, Rate, Spread, Steps, StepSize, int_range, keeping, number_in, section
from visionlab.models.registry import ClassIndex, per_model

Shift = int_range(0, 224)  # pixels: AlexNet's image size, the largest here (a larger shift leaves no image)


@section
class TransformParams:
    """Random transformation robustness, ours: one resampling at the model's own size (docs/visualize.md)."""

    shift: Shift = 2  # a whole-pixel shift of -shift..shift first (grey coming in)
    jitter: Shift = 1  # a whole-pixel shift of -jitter..jitter, after scaling and rotating
    # A scale of s shows the image s times its size: under 1/32 a CIFAR image is less than a pixel, over 32 one
    # of its pixels fills it (and under about 1e-38 float32 cannot hold s: the transforms turn NaN).
    scale_min: number_in(1 / 32, 32) = 0.95
    scale_max: number_in(1 / 32, 32) = 1.05
    rotate: rule("a number of degrees in [0, 180]", float, ge=0, le=180) = 5.0  # up to this, either way

    def __post_init__(self) -> None:
        if self.scale_min > self.scale_max:
            raise PydanticCustomError("rule", "a range with scale_min <= scale_max")


@section
class VisualizedModel:
    """What ``visualize@<model>`` renders for one model, and the transforms its image size calls for."""

    class_index: ClassIndex = 5
    class_objectives: rule("a list of logit, prob", list[Literal["logit", "prob"]]) = Field(default=["logit"])
    channels: rule(f"a list of integers in 0..{WIDEST - 1}", list[int_range(0, WIDEST - 1)]) = Field(default=[0, 1])
    conv1_channels: rule("a list of integers in 0..63", list[int_range(0, 63)]) = Field(default=[])  # AlexNet only
    transforms: TransformParams = TransformParams()

    def __post_init__(self) -> None:
        if not (self.class_objectives or self.channels or self.conv1_channels):  # a figure of no rows
            raise PydanticCustomError(
                "rule", "a model with an objective in class_objectives, channels or conv1_channels"
            )


# AlexNet's defaults (a partial ``visualize.models.alexnet`` keeps them for the keys it leaves out): the seed's
# conv1 units, one conv5 channel, class 207 as logit and probability, transforms that spread the content as much
# as Lucent's standard_transforms do (2.45 px per axis against 2.55; docs/visualize.md, "Transforms").
VISUALIZED_ALEXNET = {
    "class_index": 207,
    "class_objectives": ["logit", "prob"],
    "channels": [0],
    "conv1_channels": [0, 5, 10, 20],
    "transforms": {"shift": 3, "jitter": 2, "scale_min": 0.9, "scale_max": 1.1, "rotate": 10.0},
}


# One VisualizedModel per model visualize@<model> renders.
VisualizedModels = per_model(
    "VisualizedModels", VisualizedModel, VisualizedModel(), alexnet=keeping(VisualizedModel, VISUALIZED_ALEXNET)
)


@section
class VisualizeParams:
    """Feature visualisation (stage visualize@<model>): the seed's naive ascent, then Lucid's ladder."""

    naive_steps: Steps = 40  # rung 1: the seed's pixel ascent (class maximisation's 40 steps of 5)
    naive_step_size: StepSize = 5.0
    steps: Steps = 512  # rungs 2-4: Adam on a Fourier-space image (Lucent's defaults)
    lr: Rate = 0.05
    # Within these bounds the image stays finite: it turns NaN only far beyond them (measured on the smoke CNN at
    # 32 px: sd from 1e37, decay_power from 26; at 224 px about 16, where 224**decay_power passes float32's 3.4e38).
    # The bounds are where the start stops being usable: at decay_power 1 the pre-sigmoid start has std 1.5 (32 px)
    # to 2 (224 px) times sd, so past sd 1 the sigmoid starts flat (sd 1e10 and 1e30 render one frozen image); at
    # Lucid's sd 0.01 that std is 1.7 at decay_power 2, 312 at 3 (224 px). Natural images fall as 1/f (Lucid's 1).
    sd: Spread = 0.01  # of the initial spectrum
    decay_power: number_in(0, 2) = 1.0  # spectrum scaled by 1 / f**decay_power
    # A batch is one forward pass (its Gram matrices are compared pairwise), so it cannot be split: about 13 MiB an
    # image on AlexNet at 224 px (measured); 32 is 8 times Lucent's 4.
    diversity_batch: int_range(2, 32) = 4
    # batch-mean objective - weight * Gram similarity (Lucent's weight: 100). Adam divides out the gradient's
    # scale, so the weight only sets diversity against the objective: Lucent's 100 already outweighs every
    # objective here (see docs/visualize.md); the bound is 100 times it.
    diversity_weight: number_in(0, 10_000) = 100.0
    robust_trials: int_range(1, 1024) = 16  # seeded random transforms of each result, re-scored (time: 64 a pass)
    models: VisualizedModels = VisualizedModels()
