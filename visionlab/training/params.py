"""The training sections: the seed's recipe (``train``) and ``fast`` (its model and its own recipe)."""

import dataclasses
from typing import Any

from visionlab.core.params import Batch, Flag, Fraction, Rate, Steps, int_range, keeping, number_in, one_of, section
from visionlab.models.params import FAST_RECIPE, FastModelParams
from visionlab.models.registry import MODEL_CONFIGS


@section
class AugmentParams:
    crop_padding: int_range(0, 31) = 4  # a padding of 32 (the image's size) lets a crop miss the image
    flip: Flag = True


@section
class RecipeParams:
    """Everything that shapes a training run: the seed's recipe (``train``), or fast's (``fast.train``)."""

    epochs: Steps = 100
    batch_size: Batch = 128
    optimizer: one_of("nadam", "adamw", "sgd") = "nadam"
    lr: Rate = 0.002
    weight_decay: number_in(0, 1) = 0.0  # at 1 each step shrinks every weight by the fraction lr (recipes: 0, 5e-4)
    momentum: Fraction = 0.9
    schedule: one_of("none", "cosine", "onecycle", "linear") = "none"
    warmup: Fraction = 0.3
    label_smoothing: Fraction = 0.0
    augment: AugmentParams = AugmentParams()
    lookahead: Fraction = 0.0
    precision: one_of("auto", "fp32", "bf16") = "auto"


FastRecipe, FAST_DEFAULT = keeping(RecipeParams, FAST_RECIPE)  # a partial fast.train keeps fast's, not the seed's


@section
class FastParams:
    model: FastModelParams = FastModelParams()
    train: FastRecipe = FAST_DEFAULT


def train_sections(*names: str) -> dict[str, type]:
    """The sections models ``names`` train from: the seed's recipe ``train`` and each model's own; fast's ``fast``."""
    recipe = {"train": RecipeParams} if set(names) - {"fast"} else {}
    return recipe | {name: FastParams if name == "fast" else MODEL_CONFIGS[name] for name in names}


def model_and_recipe(params: Any, name: str) -> tuple[dict[str, Any], RecipeParams]:
    """The constructor arguments and the training recipe of model ``name``, from params holding its sections."""
    if name == "fast":
        return dataclasses.asdict(params.fast.model), params.fast.train
    return dataclasses.asdict(getattr(params, name)), params.train
