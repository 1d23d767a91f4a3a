"""The models' sections: ``cnn``, ``resnet``, ``fast.model`` (constructor arguments), ``alexnet``; fast's recipe."""

from typing import Annotated

from pydantic import Field

from visionlab.core.errors import check, rule
from visionlab.core.params import WIDEST, Fraction, Text, int_list, int_range, number_in, one_of, section
from visionlab.models.fast import TTA_MODES

# The map size each of the 4 stages of a model sees on CIFAR-10's 32x32 images, each halving it.
MAPS = (32, 16, 8, 4)
Widths3 = int_list(3, f"an integer in 1..{WIDEST}", ge=1, le=WIDEST)


@section
class CNNParams:
    channels: int_list(4, f"an integer in 1..{WIDEST}", ge=1, le=WIDEST) = Field(default=[64, 128, 256, 512])
    # Block i convolves maps of 32 / 2**i (each block ends in a 2x2 max-pool).
    kernel_sizes: Annotated[
        int_list(4, "a positive integer", gt=0),
        check(
            f"at most the map size each block sees ({', '.join(map(str, MAPS))})",
            lambda kernels: all(k <= size for k, size in zip(kernels, MAPS, strict=True)),
        ),
    ] = Field(default=[7, 5, 3, 2])
    dropout: Fraction = 0.25
    fc_widths: Widths3 = Field(default=[512, 256, 128])


@section
class ResNetParams:
    width: int_range(1, WIDEST // 8) = 64  # layer4 has 8 times as many channels
    blocks: int_list(4, "an integer in 1..36", ge=1, le=36) = Field(default=[2, 2, 2, 2])  # ResNet-152's most: 36
    # Layer i convolves maps of 32 / 2**i (conv1 and layer1 at 32; each later layer strides by 2).
    kernel_size: Annotated[
        rule("a positive integer", int, gt=0),
        check(
            f"at most {MAPS[-1]}, the smallest map its layers see ({', '.join(map(str, MAPS))})",
            lambda kernel: kernel <= MAPS[-1],
        ),
    ] = 3


@section
class FastModelParams:
    widths: Widths3 = Field(default=[32, 64, 128])
    logit_scale: number_in(0, 10, open_low=True) = 1 / 9  # 1 is a plain linear head
    tta: one_of(*TTA_MODES) = "flip_shift"


@section
class AlexNetParams:
    weights: Text = "IMAGENET1K_V1"


# The ``fast`` recipe (``fast.train``): the keys of ``train``, with its own values for these. The report holds a
# fast run to this length, and docs/fast.md's measurements are of it. Here, not in training/, as evaluation reads it.
FAST_RECIPE = {
    "epochs": 14,
    "batch_size": 256,
    "optimizer": "sgd",
    "lr": 0.5,
    "weight_decay": 5e-4,
    "momentum": 0.85,
    "schedule": "linear",
    "warmup": 0.2,
    "label_smoothing": 0.2,
    "augment": {"crop_padding": 2, "flip": True},
    "precision": "bf16",
}
