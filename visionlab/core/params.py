"""What every params section shares: its bounded types, the keys any stage may read, and the loader.

Each package owns the schema of its sections (``visionlab/<package>/params.py``): a frozen pydantic dataclass
whose fields carry their rules. A stage names the sections it reads, and :func:`load_params` refuses unknown
keys, wrong types and out-of-range values in them before any work starts, in one line that names the key, e.g.
``params.yaml: train.epochs must be an integer in 1..100000, got -3``; the stage ``check_params`` checks the
whole file. The file is read as DVC reads it (ruamel.yaml, YAML 1.2), so what runs is what ``dvc.lock`` records.
"""

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass
from ruamel.yaml import YAML, YAMLError

from visionlab.core.errors import PipelineError, one_line, rule
from visionlab.core.io import read_text

# torch.manual_seed takes up to 2**64 - 1 and numpy's default_rng any size, but stages also seed
# with seed + 1, and numpy's legacy generators (and much else) take only 32 bits: one bound for all.
MAX_SEED = 2**32 - 1

OpenFraction = rule("a number strictly between 0 and 1", float, gt=0, lt=1)
Fraction = rule("a number in [0, 1)", float, ge=0, lt=1)
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
Rate = number_in(0, 10, open_low=True)  # learning rates: 20 times the largest default (fast's 0.5)
StepSize = number_in(0, 1000, open_low=True)  # raw-gradient steps on pixels in [0, 1]: 200 times the seed's 5
Spread = number_in(0, 1, open_low=True)  # std of a starting image whose pixels are in [0, 1]
section = dataclass(frozen=True, config=ConfigDict(extra="forbid"))


def keeping(kind: type, values: dict[str, Any]) -> tuple[Any, Any]:
    """A field of ``kind`` (its annotation and default) whose mapping keeps ``values`` for the keys it leaves out,
    one level down too, not ``kind``'s defaults: a partial ``fast.train.augment`` keeps fast's padding."""

    def merge(raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw  # the schema refuses it in its own words
        nested = {k: {**v, **raw[k]} for k, v in values.items() if isinstance(v, dict) and isinstance(raw.get(k), dict)}
        return {**values, **raw, **nested}

    return Annotated[kind, BeforeValidator(merge)], Field(default_factory=dict, validate_default=True)


@section
class RunParams:
    """How each train stage runs (``fast`` too), not what it trains: resumed or split, a run equals one that is
    not (split: to rounding)."""

    resume: Flag = False
    processes: Batch = 1  # data-parallel ranks (torchrun); the global batch is split among them (1 image each at least)


# The keys any stage may read besides its packages' sections: each one's type and default.
TOP: dict[str, tuple[Any, Any]] = {
    "seed": (int_range(0, MAX_SEED), 0),
    "device": (rule("one of auto, cpu, cuda, cuda:N, mps", str, pattern="^(auto|cpu|cuda|cuda:[0-9]+|mps)$"), "auto"),
    "run": (RunParams, RunParams()),
}


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    dumped = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...")
    return " ".join(dumped.split())  # one line: PyYAML wraps long flow lists at 80 columns


def _validate(schema: Any, raw: Any, source: str, prefix: tuple[str, ...] = ()) -> Any:
    def known(loc: tuple[Any, ...]) -> Any:  # the keys of the section at ``loc``
        section = schema
        for part in loc[len(prefix) :]:
            section = section.__pydantic_fields__[part].annotation
        return section.__pydantic_fields__

    try:
        return TypeAdapter(schema).validate_python(raw)
    except ValidationError as err:
        raise one_line(err, source, _describe, known=known, prefix=prefix) from None


def parse_params(raw: Any, *keys: str, source: str = "params.yaml", whole: bool = False, **sections: type) -> Any:
    """Validate an already-parsed mapping: core's ``keys`` (of :data:`TOP`) and each of ``sections`` with its
    schema, into an object with one attribute each. Each must be in ``raw`` (a stage never runs on silent
    defaults) and any other key is left to ``check_params``; with ``whole`` (the whole file) each may be left
    out (its defaults) and any other key is refused."""
    fields = [(key, *TOP[key]) for key in keys]
    fields += [(name, kind, dataclasses.field(default_factory=kind)) for name, kind in sections.items()]
    config = ConfigDict(extra="forbid" if whole else "ignore")
    schema = dataclass(dataclasses.make_dataclass("Params", fields, frozen=True), frozen=True, config=config)
    parsed = _validate(schema, {} if raw is None else raw, source)
    if not whole and (missing := [name for name in (*keys, *sections) if name not in raw]):
        raise PipelineError(f"{source}: no {', '.join(missing)} (this stage reads {', '.join((*keys, *sections))})")
    return parsed


def load_params(path: str | Path, *keys: str, whole: bool = False, **sections: type) -> Any:
    """Read ``path`` and validate it as :func:`parse_params` does; raise :class:`PipelineError` naming the problem."""
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
    return parse_params(raw, *keys, source=str(path), whole=whole, **sections)


def parse_section(name: str, schema: type, raw: Any, source: str) -> Any:
    """Validate ``raw`` as the section ``name`` (dotted for a nested one: ``fast.model``) of type ``schema``,
    e.g. a model config stored in a checkpoint."""
    return _validate(schema, raw, source, tuple(name.split(".")))
