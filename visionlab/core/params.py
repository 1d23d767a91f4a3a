"""The typed schema of ``params.yaml`` and its one loader.

Every section is a frozen pydantic dataclass whose fields carry their rules; :func:`load_params` refuses
unknown keys, wrong types and out-of-range values before any work starts, in one line that names the
key, e.g. ``params.yaml: train.epochs must be an integer in 1..100000, got -3``. The file is read as DVC
reads it (ruamel.yaml, YAML 1.2), so what runs is what ``dvc.lock`` records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML, YAMLError

from visionlab.core.errors import PipelineError, check, one_line, rule
from visionlab.core.io import read_text

MODEL_NAMES = ("cnn", "resnet", "fast")
PRECISIONS = ("auto", "fp32", "bf16")
# torch.manual_seed takes up to 2**64 - 1 and numpy's default_rng any size, but stages also seed
# with seed + 1, and numpy's legacy generators (and much else) take only 32 bits: one bound for all.
MAX_SEED = 2**32 - 1
# The map size each of the 4 stages of a model sees on CIFAR-10's 32x32 images, each halving it.
MAPS = (32, 16, 8, 4)

OpenFraction = rule("a number strictly between 0 and 1", float, gt=0, lt=1)
FractionBelowOne = rule("a number in [0, 1)", float, ge=0, lt=1)
Flag = rule("true or false", bool)
Text = rule("a non-empty string", str, pattern=r"\S")


def one_of(*choices: str) -> Any:
    return rule("one of " + ", ".join(choices), Literal[choices], strict=None)  # a literal matches exactly


def int_range(low: int, high: int) -> Any:
    return rule(f"an integer in {low}..{high}", int, ge=low, le=high)


def number_in(low: float, high: float, open_low: bool = False) -> Any:
    """A finite number in [low, high], or (low, high] if ``open_low``."""
    bounds = {"gt" if open_low else "ge": low, "le": high}
    return rule(f"a number in {'(' if open_low else '['}{low:g}, {high:g}]", float, allow_inf_nan=False, **bounds)


def int_list(size: int | None, phrase: str, **bounds: int) -> Any:
    """A list of ``size`` integers (None: at least one), each ``phrase`` within ``bounds``."""
    count = f"{size}" if size else "at least 1"
    values = list[rule(phrase, int, **bounds)]
    length = {"min_length": size or 1, "max_length": size}
    return rule(f"a list of {count} values, each {phrase}", values, f"a list whose values are each {phrase}", **length)


# Every number has an upper bound (issue 27): past a C long or float32's 3.4e38 a value fails deep inside torch,
# and a count claims memory or time in proportion. Each bound is the most the code here has a use for:
Steps = int_range(1, 100_000)  # epochs, optimisation steps: time (the defaults are 14 to 512)
Batch = int_range(1, 8192)  # images per pass: memory (16 times the largest default, 512)
WIDEST = 1024  # channels or units of a layer: twice the seed's widest (512)
Widths4 = int_list(4, f"an integer in 1..{WIDEST}", ge=1, le=WIDEST)
Widths3 = int_list(3, f"an integer in 1..{WIDEST}", ge=1, le=WIDEST)
ClassIndex = int_range(0, 999)  # ImageNet's 1,000 classes, the most of any model here (each model checks its own)
Ships = int_range(1, 1000)  # CIFAR-10's test split holds 1,000 ships
Shift = int_range(0, 224)  # pixels: AlexNet's image size, the largest here (a larger shift leaves no image)
Rate = number_in(0, 10, open_low=True)  # learning rates: 20 times the largest default (fast's 0.5)
StepSize = number_in(0, 1000, open_low=True)  # raw-gradient steps on pixels in [0, 1]: 200 times the seed's 5
Spread = number_in(0, 1, open_low=True)  # std of a starting image whose pixels are in [0, 1]
section = dataclass(frozen=True, config=ConfigDict(extra="forbid"))

# --- sections ----------------------------------------------------------------------------------


@section
class DataParams:
    url: Text = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    md5: rule("a 32-digit hex md5", str, pattern="^[0-9a-fA-F]{32}$") = "c58f30108f718f92721af3b95e74349a"
    val_fraction: OpenFraction = 0.1


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
    momentum: FractionBelowOne = 0.9
    schedule: one_of("none", "cosine", "onecycle", "linear") = "none"
    warmup: FractionBelowOne = 0.3
    label_smoothing: FractionBelowOne = 0.0
    augment: AugmentParams = AugmentParams()
    lookahead: FractionBelowOne = 0.0
    precision: one_of(*PRECISIONS) = "auto"


@section
class TrainParams(RecipeParams):
    """A recipe plus how it runs, shared by every model (``fast`` too): neither changes the result."""

    resume: Flag = False
    processes: Batch = 1  # data-parallel ranks (torchrun); the global batch is split among them (1 image each at least)


@section
class CNNParams:
    channels: Widths4 = Field(default=[64, 128, 256, 512])
    # Block i convolves maps of 32 / 2**i (each block ends in a 2x2 max-pool).
    kernel_sizes: Annotated[
        int_list(4, "a positive integer", gt=0),
        check(
            f"at most the map size each block sees ({', '.join(map(str, MAPS))})",
            lambda kernels: all(k <= size for k, size in zip(kernels, MAPS, strict=True)),
        ),
    ] = Field(default=[7, 5, 3, 2])
    dropout: FractionBelowOne = 0.25
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
    tta: one_of("none", "flip", "flip_shift") = "flip_shift"


# The ``fast`` recipe: the keys of ``train`` (but resume and processes), with its own values for these.
# The report holds a fast run to this length, and docs/fast.md's measurements are of it.
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


@section
class FastParams:
    model: FastModelParams = FastModelParams()
    # A partial fast.train (or fast.train.augment) keeps fast's values, not the seed's, for the keys it leaves out.
    train: Annotated[RecipeParams, BeforeValidator(lambda raw: _fast_recipe(raw))] = Field(
        default_factory=dict, validate_default=True
    )


def _fast_recipe(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw  # the schema refuses it in its own words
    augment = raw.get("augment", {})
    return {
        **FAST_RECIPE,
        **raw,
        "augment": {**FAST_RECIPE["augment"], **augment} if isinstance(augment, dict) else augment,
    }


@section
class EvaluateParams:
    batch_size: Batch = 512
    misclassified: int_range(1, 256) = 32  # a grid of 8 a row: 256 is 32 rows


@section
class AlexNetParams:
    weights: Text = "IMAGENET1K_V1"


@section
class PredictParams:
    input_dir: Text = "data/images"
    cifar_images: int_range(0, 10_000) = 4  # CIFAR-10's test split holds 10,000
    top_k: int_range(1, 1000) = 5


@section
class MaximizeChannelsParams:
    channels: int_list(None, "an integer in 0..63", ge=0, le=63) = Field(default=[0, 5, 10, 20])
    steps: Steps = 30
    step_size: StepSize = 5.0
    init_mean: OpenFraction = 0.5
    init_std: Spread = 0.01


@section
class ClassPerModel:
    """A class index for each model the analyses probe (``<stage>@<model>``): ImageNet's, then CIFAR-10's."""

    alexnet: ClassIndex = 207  # golden retriever
    cnn: ClassIndex = 5  # dog, the CIFAR-10 class nearest to a golden retriever
    resnet: ClassIndex = 5
    fast: ClassIndex = 5

    def of(self, model: str) -> int:
        return getattr(self, model)


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
    max_shift: FractionBelowOne = 0.05
    max_scale: FractionBelowOne = 0.1


@section
class AttackParams:
    """The adversarial ship (seed 5) on AlexNet and on each trained CIFAR model."""

    ship_index: int_range(0, 999) = 0  # of CIFAR-10's 1,000 test ships
    target_class: ClassPerModel = ClassPerModel()
    steps: Steps = 40
    step_size: StepSize = 5.0
    epsilon: OpenFraction = 8 / 255
    epsilon_step: OpenFraction = 1 / 255
    max_images: Ships = 100


@section
class AttributeParams:
    """Where the attack's ship looks, clean and adversarial: Integrated Gradients and Grad-CAM (Captum)."""

    # IG's steps from the black image. Captum's Gauss-Legendre nodes solve an n x n eigenproblem (twice): about
    # 4 s at 1,000 steps and 70 s at 4,000 on one CPU core, growing as n**3; memory is bounded apart (IG_BATCH).
    n_steps: int_range(1, 1000) = 50


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


OBJECTIVE_KINDS = ("logit", "prob")


@section
class VisualizedModel:
    """What ``visualize@<model>`` renders for one model, and the transforms its image size calls for."""

    class_index: ClassIndex = 5
    class_objectives: rule(f"a list of {', '.join(OBJECTIVE_KINDS)}", list[Literal[OBJECTIVE_KINDS]]) = Field(
        default=["logit"]
    )
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


def _visualized_alexnet(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw  # the schema refuses it in its own words
    transforms = raw.get("transforms", {})
    merged = {**VISUALIZED_ALEXNET["transforms"], **transforms} if isinstance(transforms, dict) else transforms
    return {**VISUALIZED_ALEXNET, **raw, "transforms": merged}


@section
class VisualizedModels:
    """One :class:`VisualizedModel` per model ``visualize@<model>`` renders (like :class:`ClassPerModel`)."""

    alexnet: Annotated[VisualizedModel, BeforeValidator(_visualized_alexnet)] = Field(
        default_factory=dict, validate_default=True
    )
    cnn: VisualizedModel = VisualizedModel()
    resnet: VisualizedModel = VisualizedModel()
    fast: VisualizedModel = VisualizedModel()

    def of(self, model: str) -> VisualizedModel:
        return getattr(self, model)


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


@section
class CorruptParams:
    """The CIFAR-10-C-style test set (stage corrupt), shared by every model's corruption@<model>."""

    images: int_range(1, 10_000) = 1000  # the first N test images (all if fewer; CIFAR-10's test split holds 10,000)
    batch_size: Batch = 256  # images corrupted at a time: bounds the stage's memory
    severities: Annotated[
        int_list(None, "an integer in 1..5", ge=1, le=5),
        check("a list without repeats", lambda values: len(set(values)) == len(values)),
    ] = Field(default=[1, 2, 3, 4, 5])


@section
class Params:
    seed: int_range(0, MAX_SEED) = 0
    device: rule("one of auto, cpu, cuda, cuda:N, mps", str, pattern="^(auto|cpu|cuda|cuda:[0-9]+|mps)$") = "auto"
    data: DataParams = DataParams()
    train: TrainParams = TrainParams()
    cnn: CNNParams = CNNParams()
    resnet: ResNetParams = ResNetParams()
    fast: FastParams = FastParams()
    evaluate: EvaluateParams = EvaluateParams()
    alexnet: AlexNetParams = AlexNetParams()
    predict: PredictParams = PredictParams()
    maximize_channels: MaximizeChannelsParams = MaximizeChannelsParams()
    maximize_class: MaximizeClassParams = MaximizeClassParams()
    attack: AttackParams = AttackParams()
    attribute: AttributeParams = AttributeParams()
    visualize: VisualizeParams = VisualizeParams()
    corrupt: CorruptParams = CorruptParams()


# --- loading -----------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    dumped = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...")
    return " ".join(dumped.split())  # one line: PyYAML wraps long flow lists at 80 columns


def _section_type(path: Sequence[Any]) -> Any:
    """The section class at the dotted ``path`` from the top level, or None where there is none."""
    section: Any = Params
    for part in path:
        spec = getattr(section, "__pydantic_fields__", {}).get(part)
        section = spec.annotation if spec is not None else None
    return section if dataclasses.is_dataclass(section) else None


def _validate(path: tuple[str, ...], raw: Any, source: str) -> Any:
    try:
        return TypeAdapter(_section_type(path)).validate_python(raw)
    except ValidationError as err:
        raise one_line(
            err, source, _describe, known=lambda loc: _section_type(loc).__pydantic_fields__, prefix=path
        ) from None


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-parsed mapping into :class:`Params`."""
    return _validate((), {} if raw is None else raw, source)


def load_params(path: str | Path = "params.yaml", required: Sequence[str] = ()) -> Params:
    """Read and validate ``params.yaml``; raise :class:`PipelineError` naming the first bad key.

    Every key of the file is checked, whatever the caller reads. ``required`` names the top-level
    keys the calling stage reads: each must be in the file, so a stage never runs on silent defaults.
    """
    path = Path(path)
    text = read_text(path, f"{path}: file not found (run from the project root)")
    try:
        # As DVC's own loader does (dvc/utils/serialize/_yaml.py): YAML 1.2, so 010 is 10, yes is text,
        # 3e-4 a float; a key given twice is an error; aliases are shared, never copied.
        raw = YAML(typ="safe").load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None)
        raise PipelineError(f"{path}: not valid YAML{where}" + (f" ({problem})" if problem else "")) from None
    if raw is None or raw == {}:
        raise PipelineError(f"{path}: empty; it must hold the pipeline's params (see the README)")
    params = parse_params(raw, source=str(path))
    missing = [key for key in required if key not in raw]
    if missing:
        raise PipelineError(f"{path}: no {', '.join(missing)} (this stage reads {', '.join(required)})")
    return params


def parse_section(name: str, raw: Any, source: str) -> Any:
    """Validate ``raw`` as the section ``name``, dotted for a nested one (``fast.model``), e.g. a model
    config stored in a checkpoint."""
    path = tuple(name.split("."))
    if _section_type(path) is None:
        raise PipelineError(f"{source}: {name!r} is not a section of params.yaml")
    return _validate(path, raw, source)


def model_section(name: str) -> str:
    """The params section holding model ``name``'s constructor arguments: ``fast.model`` for fast, else ``name``."""
    return "fast.model" if name == "fast" else name


def as_dict(section: Any) -> dict[str, Any]:
    """A plain dict of a params section (for fingerprints and metrics files)."""
    return dataclasses.asdict(section)


def model_and_recipe(params: Params, name: str) -> tuple[dict[str, Any], TrainParams]:
    """The constructor arguments and the training recipe of model ``name``.

    The seed's models take their section (``cnn``, ``resnet``) and the seed's recipe (``train``);
    ``fast`` takes ``fast.model`` and ``fast.train``, with ``train.resume`` and ``train.processes``
    (how a run is carried out is not part of a recipe). An unknown name gives an empty config; the
    model registry refuses it.
    """
    if name == "fast":
        run = {"resume": params.train.resume, "processes": params.train.processes}
        return as_dict(params.fast.model), TrainParams(**vars(params.fast.train), **run)
    if name in MODEL_NAMES:
        return as_dict(getattr(params, name)), params.train
    return {}, params.train
