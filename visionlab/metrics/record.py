"""Typed JSON records: written by the stage that produces them, checked field by field by whoever reads them.

A record is a dataclass. :func:`write_record` checks it and writes it as JSON (optional fields that are
None are left out); :func:`load_record` reads a file back into the dataclass and stops at the first
missing or malformed field with one :class:`PipelineError` line naming the file and the field, e.g.
``reports/metrics/attack.json: missing bounded.success_rate``. Keys the dataclass does not name are
ignored (DVCLive, which writes the train stage's summary, may add its own).

Two kinds of records: :class:`Metrics` (declared under ``metrics:`` in dvc.yaml; numbers only, the
ones worth comparing between experiments) and :class:`Info` (a cached side file beside them: what the
numbers were measured on, names, settings and details).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

from visionlab.errors import PipelineError
from visionlab.io import read_text, write_json


@dataclass(frozen=True)
class Bounds:
    """The closed range a number must lie in (None: unbounded on that side)."""

    low: float | None = None
    high: float | None = None


Fraction = Annotated[float, Bounds(0.0, 1.0)]  # accuracies, probabilities, rates
NonNegative = Annotated[float, Bounds(0.0)]  # losses, seconds, norms
Count = Annotated[int, Bounds(0)]  # images, steps, indices


class Metrics:
    """Base of the records DVC tracks as metrics: every field a number (or a nested record of numbers)."""


class Info:
    """Base of the side files: provenance, names, settings and details the report shows beside the metrics."""


R = TypeVar("R")


def record_dict(record: Any) -> dict[str, Any]:
    """The record as JSON values, without the optional fields that are None."""
    return _drop_none(dataclasses.asdict(record))


def write_record(path: str | Path, record: Any) -> Path:
    """Check ``record`` against its own schema, then write it atomically as JSON."""
    data = record_dict(record)
    check(type(record), data, Path(path))  # a NaN or out-of-range value fails here, not in the report
    return write_json(path, data)


def load_record(cls: type[R], path: str | Path) -> R:
    """The record of type ``cls`` in ``path``; one PipelineError line naming the file and the field if not."""
    path = Path(path)
    try:
        data = json.loads(read_text(path, f"{path}: not found (run `dvc repro` to produce it)"))
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    return check(cls, data, path)


def check(cls: type[R], data: dict[str, Any], path: Path) -> R:
    """``data`` (a JSON object) as a ``cls``, every field checked; ``path`` only names the file in errors."""
    return _value(cls, data, "", path)


def leaf_fields(cls: type, prefix: str = "") -> list[tuple[str, Any, bool]]:
    """(dotted name, type, optional) of every field, through nested records (a record field comes first)."""
    found = []
    for f in dataclasses.fields(cls):
        hint, optional = _strip_optional(_hints(cls)[f.name])
        name = f"{prefix}{f.name}"
        base, _ = _unannotate(hint)
        if dataclasses.is_dataclass(base):
            found.append((name, base, optional))
            found += leaf_fields(base, name + ".")  # required where the record itself is present
        else:
            found.append((name, hint, optional))
    return found


# --- checking ----------------------------------------------------------------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, include_extras=True)


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return args[0], True
    return hint, False


def _unannotate(hint: Any) -> tuple[Any, Bounds]:
    if get_origin(hint) is Annotated:
        base, *extra = get_args(hint)
        return base, next((e for e in extra if isinstance(e, Bounds)), Bounds())
    return hint, Bounds()


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _fail(path: Path, where: str, what: str, value: Any) -> PipelineError:
    shown = json.dumps(value)[:60] if not isinstance(value, float) or math.isfinite(value) else str(value)
    return PipelineError(f"{path}: {where} must be {what}, got {shown}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range_text(bounds: Bounds, kind: str) -> str:
    low, high = bounds.low, bounds.high
    if low is not None and high is not None:
        return f"a number in [{low:g}, {high:g}]"
    if low == 0:
        return f"a non-negative {kind}"
    if low is not None:
        return f"a {kind} >= {low:g}"
    if high is not None:
        return f"a {kind} <= {high:g}"
    return "a finite number" if kind == "number" else "an integer"


def _in_bounds(value: float, bounds: Bounds) -> bool:
    return (bounds.low is None or value >= bounds.low) and (bounds.high is None or value <= bounds.high)


def _value(hint: Any, value: Any, where: str, path: Path) -> Any:
    hint, optional = _strip_optional(hint)
    if value is None:
        if optional:
            return None
        raise PipelineError(f"{path}: {where} must not be null")
    hint, bounds = _unannotate(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _fail(path, where, "an object", value)
        kwargs = {}
        for f in dataclasses.fields(hint):
            key = _join(where, f.name)
            if f.name not in value:
                if _strip_optional(_hints(hint)[f.name])[1]:
                    kwargs[f.name] = None
                    continue
                raise PipelineError(f"{path}: missing {key}")
            kwargs[f.name] = _value(_hints(hint)[f.name], value[f.name], key, path)
        return hint(**kwargs)
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(path, where, "true or false", value)
        return value
    if hint is int:
        if not (_is_number(value) and float(value).is_integer() and _in_bounds(value, bounds)):
            raise _fail(path, where, _range_text(bounds, "integer"), value)
        return int(value)
    if hint is float:
        if not (_is_number(value) and math.isfinite(value) and _in_bounds(value, bounds)):
            raise _fail(path, where, _range_text(bounds, "number"), value)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _fail(path, where, "a string", value)
        return value
    origin, args = get_origin(hint), get_args(hint)
    if origin is list:
        if not isinstance(value, list):
            raise _fail(path, where, "a list", value)
        return [_value(args[0], item, f"{where}[{i}]", path) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict) or not value:
            raise _fail(path, where, "a non-empty object", value)
        return {k: _value(args[1], v, _join(where, k), path) for k, v in value.items()}
    raise TypeError(f"unsupported field type {hint!r} at {where}")  # a schema bug, not a user error


def _drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_none(v) for v in data]
    return data
