"""The typed schema of ``params.yaml`` and its one loader.

Every section is a frozen dataclass. Each field carries a check; :func:`load_params`
rejects unknown keys, wrong types and out-of-range values before any work starts, in one
line that names the key, e.g. ``params.yaml: train.epochs must be a positive integer, got -3``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from visionlab.errors import PipelineError
from visionlab.io import read_text

MODEL_NAMES = ("cnn", "resnet", "fast")
PRECISIONS = ("auto", "fp32", "bf16")

# --- value checks: each returns the phrase "must be ..." when the value is wrong ---------------

Check = Callable[[Any], "str | None"]


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return _int(value) or (isinstance(value, float) and math.isfinite(value))


def positive_int(value: Any) -> str | None:
    return None if _int(value) and value > 0 else "a positive integer"


def non_negative_int(value: Any) -> str | None:
    return None if _int(value) and value >= 0 else "a non-negative integer"


def positive_number(value: Any) -> str | None:
    return None if _number(value) and value > 0 else "a positive number"


def non_negative_number(value: Any) -> str | None:
    return None if _number(value) and value >= 0 else "a non-negative number"


def fraction_open(value: Any) -> str | None:
    return None if _number(value) and 0 < value < 1 else "a number strictly between 0 and 1"


def fraction_closed_open(value: Any) -> str | None:
    return None if _number(value) and 0 <= value < 1 else "a number in [0, 1)"


def int_range(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        return None if _int(value) and low <= value <= high else f"an integer in {low}..{high}"

    return check


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else "one of " + ", ".join(choices)

    return check


def text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def md5_hex(value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value.lower())
    return None if ok else "a 32-digit hex md5"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def device_name(value: Any) -> str | None:
    ok = isinstance(value, str) and re.fullmatch(r"auto|cpu|cuda|cuda:[0-9]+|mps", value) is not None
    return None if ok else "one of auto, cpu, cuda, cuda:N, mps"


def list_of(item: Check, min_len: int = 1, max_len: int | None = None) -> Check:
    def check(value: Any) -> str | None:
        wrong_len = max_len is not None and len(value) > max_len if isinstance(value, list) else False
        if not isinstance(value, list) or len(value) < min_len or wrong_len:
            size = f"{min_len}" if max_len == min_len else f"at least {min_len}"
            return f"a list of {size} values, each {item(None)}"
        for element in value:
            if item(element) is not None:
                return f"a list whose values are each {item(element)}"
        return None

    return check


# torch.manual_seed takes up to 2**64 - 1 and numpy's default_rng any size, but stages also seed
# with seed + 1, and numpy's legacy generators (and much else) take only 32 bits: one bound for all.
MAX_SEED = 2**32 - 1
IMAGE_SIZE = 32  # CIFAR-10 images are 32x32


def feature_maps(blocks: int, size: int = IMAGE_SIZE) -> list[int]:
    """The map size each of ``blocks`` stages sees when every stage after the first halves it (32, 16, 8, 4)."""
    maps = [size]
    for _ in range(blocks - 1):
        maps.append(-(-maps[-1] // 2))
    return maps


def param(default: Any, check: Check) -> Any:
    """A dataclass field with a default (copied if mutable) and a value check."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


# --- sections ----------------------------------------------------------------------------------

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"


@dataclass(frozen=True)
class DataParams:
    url: str = param(OFFICIAL_URL, text)
    md5: str = param(OFFICIAL_MD5, md5_hex)
    val_fraction: float = param(0.1, fraction_open)


@dataclass(frozen=True)
class AugmentParams:
    crop_padding: int = param(4, non_negative_int)
    flip: bool = param(True, boolean)


@dataclass(frozen=True)
class RecipeParams:
    """Everything that shapes a training run: the seed's recipe by default (``train``), ``fast.train`` for ``fast``."""

    epochs: int = param(100, positive_int)
    batch_size: int = param(128, positive_int)
    optimizer: str = param("nadam", one_of("nadam", "adamw", "sgd"))
    lr: float = param(0.002, positive_number)
    weight_decay: float = param(0.0, non_negative_number)
    momentum: float = param(0.9, fraction_closed_open)
    schedule: str = param("none", one_of("none", "cosine", "onecycle", "linear"))
    warmup: float = param(0.3, fraction_closed_open)
    label_smoothing: float = param(0.0, fraction_closed_open)
    augment: AugmentParams = field(default_factory=AugmentParams)
    lookahead: float = param(0.0, fraction_closed_open)
    precision: str = param("auto", one_of(*PRECISIONS))


@dataclass(frozen=True)
class TrainParams(RecipeParams):
    """A recipe plus how it runs, shared by every model (``fast`` too): neither changes the result."""

    resume: bool = param(False, boolean)
    processes: int = param(1, positive_int)  # data-parallel ranks (torchrun); the global batch is split among them


@dataclass(frozen=True)
class CNNParams:
    channels: list[int] = param([64, 128, 256, 512], list_of(positive_int, 4, 4))
    kernel_sizes: list[int] = param([7, 5, 3, 2], list_of(positive_int, 4, 4))
    dropout: float = param(0.25, fraction_closed_open)
    fc_widths: list[int] = param([512, 256, 128], list_of(positive_int, 3, 3))

    def cross_check(self) -> tuple[str, str] | None:
        """Block i convolves maps of 32 / 2**i (each block ends in a 2x2 max-pool)."""
        maps = feature_maps(len(self.kernel_sizes))
        if all(kernel <= size for kernel, size in zip(self.kernel_sizes, maps, strict=True)):
            return None
        return "kernel_sizes", f"at most the map size each block sees ({', '.join(map(str, maps))})"


@dataclass(frozen=True)
class ResNetParams:
    width: int = param(64, positive_int)
    blocks: list[int] = param([2, 2, 2, 2], list_of(positive_int, 4, 4))
    kernel_size: int = param(3, positive_int)

    def cross_check(self) -> tuple[str, str] | None:
        """Layer i convolves maps of 32 / 2**i (conv1 and layer1 at 32; each later layer strides by 2)."""
        maps = feature_maps(len(self.blocks))
        if self.kernel_size <= maps[-1]:
            return None
        return "kernel_size", f"at most {maps[-1]}, the smallest map its layers see ({', '.join(map(str, maps))})"


@dataclass(frozen=True)
class FastModelParams:
    widths: list[int] = param([32, 64, 128], list_of(positive_int, 3, 3))
    logit_scale: float = param(1 / 9, positive_number)
    tta: str = param("flip_shift", one_of("none", "flip", "flip_shift"))


@dataclass(frozen=True)
class FastRecipeParams(RecipeParams):
    """The ``fast`` recipe: the same keys as ``train`` (but ``resume``), with its own defaults.

    The defaults are the recipe params.yaml ships (a test keeps them equal): the report holds a fast run
    to this length, and the README's measurements are of it.
    """

    epochs: int = param(14, positive_int)
    batch_size: int = param(256, positive_int)
    optimizer: str = param("sgd", one_of("nadam", "adamw", "sgd"))
    lr: float = param(0.5, positive_number)
    weight_decay: float = param(5e-4, non_negative_number)
    momentum: float = param(0.85, fraction_closed_open)
    schedule: str = param("linear", one_of("none", "cosine", "onecycle", "linear"))
    warmup: float = param(0.2, fraction_closed_open)
    label_smoothing: float = param(0.2, fraction_closed_open)
    augment: AugmentParams = field(default_factory=lambda: AugmentParams(crop_padding=2, flip=True))
    precision: str = param("bf16", one_of(*PRECISIONS))


@dataclass(frozen=True)
class FastParams:
    model: FastModelParams = field(default_factory=FastModelParams)
    train: FastRecipeParams = field(default_factory=FastRecipeParams)


@dataclass(frozen=True)
class EvaluateParams:
    batch_size: int = param(512, positive_int)
    misclassified: int = param(32, positive_int)


@dataclass(frozen=True)
class AlexNetParams:
    weights: str = param("IMAGENET1K_V1", text)


@dataclass(frozen=True)
class PredictParams:
    input_dir: str = param("data/images", text)
    cifar_images: int = param(4, non_negative_int)
    top_k: int = param(5, int_range(1, 1000))


@dataclass(frozen=True)
class MaximizeChannelsParams:
    channels: list[int] = param([0, 5, 10, 20], list_of(int_range(0, 63)))
    steps: int = param(30, positive_int)
    step_size: float = param(5.0, positive_number)
    init_mean: float = param(0.5, fraction_open)
    init_std: float = param(0.01, positive_number)


@dataclass(frozen=True)
class ClassPerModel:
    """A class index for each model the analyses probe (``<stage>@<model>``): ImageNet's, then CIFAR-10's."""

    alexnet: int = param(207, non_negative_int)  # golden retriever
    cnn: int = param(5, non_negative_int)  # dog, the CIFAR-10 class nearest to a golden retriever
    resnet: int = param(5, non_negative_int)
    fast: int = param(5, non_negative_int)

    def of(self, model: str) -> int:
        return getattr(self, model)


@dataclass(frozen=True)
class MaximizeClassParams:
    """Class maximisation (seed 4) on AlexNet and on each trained CIFAR model."""

    class_index: ClassPerModel = field(default_factory=ClassPerModel)
    steps: int = param(40, positive_int)
    step_size: float = param(5.0, positive_number)
    objective: str = param("prob", one_of("prob", "logit"))
    init_mean: float = param(0.5, fraction_open)
    init_std: float = param(0.01, positive_number)
    robustness_trials: int = param(8, non_negative_int)
    max_shift: float = param(0.05, fraction_closed_open)
    max_scale: float = param(0.1, fraction_closed_open)


@dataclass(frozen=True)
class AttackParams:
    """The adversarial ship (seed 5) on AlexNet and on each trained CIFAR model."""

    ship_index: int = param(0, non_negative_int)
    target_class: ClassPerModel = field(default_factory=ClassPerModel)
    steps: int = param(40, positive_int)
    step_size: float = param(5.0, positive_number)
    epsilon: float = param(8 / 255, fraction_open)
    epsilon_step: float = param(1 / 255, fraction_open)
    max_images: int = param(100, positive_int)


@dataclass(frozen=True)
class Params:
    seed: int = param(0, int_range(0, MAX_SEED))
    device: str = param("auto", device_name)
    data: DataParams = field(default_factory=DataParams)
    train: TrainParams = field(default_factory=TrainParams)
    cnn: CNNParams = field(default_factory=CNNParams)
    resnet: ResNetParams = field(default_factory=ResNetParams)
    fast: FastParams = field(default_factory=FastParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    alexnet: AlexNetParams = field(default_factory=AlexNetParams)
    predict: PredictParams = field(default_factory=PredictParams)
    maximize_channels: MaximizeChannelsParams = field(default_factory=MaximizeChannelsParams)
    maximize_class: MaximizeClassParams = field(default_factory=MaximizeClassParams)
    attack: AttackParams = field(default_factory=AttackParams)


# --- loading -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, plus floats without a dot such as ``3e-4`` (text to YAML 1.1, a float
    to YAML 1.2 and so to DVC), and an error for a key given twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            if isinstance(key, typing.Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    dumped = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...")
    return " ".join(dumped.split())  # one line: PyYAML wraps long flow lists at 80 columns


def _section_type(annotation: Any) -> type | None:
    """The dataclass type of a nested section, or None for a leaf field."""
    hint = annotation
    if isinstance(hint, types.UnionType):  # pragma: no cover - sections are never unions
        return None
    return hint if dataclasses.is_dataclass(hint) else None


def _build(cls: type, raw: Any, prefix: str, source: str) -> Any:
    where = prefix.rstrip(".") or "top level"
    if not isinstance(raw, dict):
        raise PipelineError(f"{source}: {where} must be a mapping, got {_describe(raw)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            raise PipelineError(f"{source}: unknown key {prefix}{key} (known: {', '.join(known)})")
    values = {}
    for name, spec in known.items():
        if name not in raw:
            continue  # the dataclass default applies
        section = _section_type(hints[name])
        if section is not None:
            values[name] = _build(section, raw[name], f"{prefix}{name}.", source)
            continue
        value = raw[name]
        problem = spec.metadata["check"](value)
        if problem is not None:
            raise PipelineError(f"{source}: {prefix}{name} must be {problem}, got {_describe(value)}")
        values[name] = value
    built = cls(**values)
    cross_check = getattr(built, "cross_check", None)  # checks that need several keys of the section
    problem = cross_check() if cross_check is not None else None
    if problem is not None:
        key, phrase = problem
        raise PipelineError(f"{source}: {prefix}{key} must be {phrase}, got {_describe(getattr(built, key))}")
    return built


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-parsed mapping into :class:`Params`."""
    return _build(Params, {} if raw is None else raw, "", source)


def load_params(path: str | Path = "params.yaml", required: Sequence[str] = ()) -> Params:
    """Read and validate ``params.yaml``; raise :class:`PipelineError` naming the first bad key.

    Every key of the file is checked, whatever the caller reads. ``required`` names the top-level
    keys the calling stage reads: each must be in the file, so a stage never runs on silent defaults.
    """
    path = Path(path)
    try:
        raw = yaml.load(read_text(path, f"{path}: file not found (run from the project root)"), Loader=_Loader)
    except yaml.YAMLError as err:
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
    section: type | None = Params
    for part in name.split("."):
        section = _section_type(typing.get_type_hints(section).get(part))
        if section is None:
            raise PipelineError(f"{source}: {name!r} is not a section of params.yaml")
    return _build(section, raw, f"{name}.", source)


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
        recipe = params.fast.train
        fields = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(RecipeParams)}
        return as_dict(params.fast.model), TrainParams(
            **fields, resume=params.train.resume, processes=params.train.processes
        )
    if name in MODEL_NAMES:
        return as_dict(getattr(params, name)), params.train
    return {}, params.train
