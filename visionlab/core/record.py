"""Typed JSON records, dataclasses checked by pydantic: written by the stage that produces them, checked field
by field by whoever reads them. Keys a dataclass does not name are ignored (DVCLive adds its own to the train
stage's summary)."""

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from visionlab.core.errors import Count as Count  # the metrics modules import both from here
from visionlab.core.errors import NonNegative as NonNegative
from visionlab.core.errors import PipelineError, one_line, rule
from visionlab.core.io import read_text, write_json

Fraction = rule("a number in [0, 1]", float, ge=0, le=1, allow_inf_nan=False)  # accuracies, probabilities, rates
V = TypeVar("V")
NonEmpty = Annotated[dict[str, V], Field(min_length=1)]  # one entry per key (a conv1 channel, a param)

# Every field of a record (nested records too) strictly its type: no "1" for 1, no 1 for true, no NaN.
STRICT = ConfigDict(strict=True, allow_inf_nan=False)
PHRASES = {"dataclass_type": "an object", "dict_type": "an object", "too_short": "a non-empty object"}


class Metrics:
    """Base of the records under ``metrics:`` in dvc.yaml: numbers worth comparing between experiments."""

    __pydantic_config__ = STRICT


class Info:
    """Base of the side files: provenance, names, settings and details the report shows beside the metrics."""

    __pydantic_config__ = STRICT


R = TypeVar("R")


def record_dict(record: Any) -> dict[str, Any]:
    """The record as JSON values, without the optional fields that are None."""
    return _drop_none(dataclasses.asdict(record))


def write_record(path: str | Path, record: Any) -> Path:
    """Check ``record`` against its own schema, then write it atomically as JSON."""
    data = record_dict(record)
    _check(type(record), json.dumps(data), Path(path))  # a NaN or out-of-range value fails here, not in the report
    return write_json(path, data)


def load_record(cls: type[R], path: str | Path) -> R:
    """The record of type ``cls`` in ``path``; one PipelineError line naming the file and the field if not."""
    path = Path(path)
    text = read_text(path, f"{path}: not found (run `dvc repro` to produce it)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    return _check(cls, text, path)


@functools.cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def _show(value: Any) -> str:
    return json.dumps(value)[:60] if not isinstance(value, float) or math.isfinite(value) else str(value)


def _check(cls: type[R], text: str, path: Path) -> R:
    # As JSON, where strict still takes an object for a record (and an integer for a float).
    try:
        return _adapter(cls).validate_json(text)
    except ValidationError as err:
        raise one_line(err, str(path), _show, PHRASES) from None


def _drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_none(v) for v in data]
    return data
