"""The typed schema of the metrics and side files (each package's record.py): what a file may hold, one-line errors."""

from __future__ import annotations

import dataclasses
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
from records import leaf_fields

from visionlab.core.errors import PipelineError
from visionlab.core.record import Count, Fraction, Info, Metrics, NonEmpty, load_record, write_record

# Every package's record module (a package's records: what its stages write and the report reads).
MODULES = [
    importlib.import_module(f"visionlab.{p.parent.name}.record") for p in sorted(Path("visionlab").glob("*/record.py"))
]
RECORDS = sorted(
    {
        obj
        for module in MODULES
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Metrics | Info) and obj not in (Metrics, Info)
    },
    key=lambda cls: cls.__name__,
)


@dataclass
class Inner:
    rate: Fraction
    count: Count


@dataclass
class Sample(Metrics):
    inner: Inner
    loss: float
    per_key: NonEmpty[Inner]
    optional: Inner | None = None


def sample() -> Sample:
    return Sample(Inner(0.5, 3), 1.25, {"7": Inner(1.0, 0)})


def test_a_record_round_trips_and_leaves_out_none(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    write_record(path, sample())
    assert json.loads(path.read_text()) == {
        "inner": {"rate": 0.5, "count": 3},
        "loss": 1.25,
        "per_key": {"7": {"rate": 1.0, "count": 0}},
    }
    assert load_record(Sample, path) == sample()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["inner"].pop("rate"), "m.json: missing inner.rate"),
        (lambda d: d.pop("per_key"), "m.json: missing per_key"),
        (lambda d: d["per_key"]["7"].pop("count"), "m.json: missing per_key.7.count"),
        (lambda d: d["inner"].update(rate=1.5), "m.json: inner.rate must be a number in [0, 1], got 1.5"),
        (lambda d: d["inner"].update(rate=True), "m.json: inner.rate must be a number in [0, 1], got true"),
        (lambda d: d["inner"].update(count=-1), "m.json: inner.count must be a non-negative integer, got -1"),
        (lambda d: d["inner"].update(count=2.5), "m.json: inner.count must be a non-negative integer, got 2.5"),
        (lambda d: d.update(loss="low"), 'm.json: loss must be a finite number, got "low"'),
        (lambda d: d.update(loss=float("inf")), "m.json: loss must be a finite number, got inf"),
        (lambda d: d.update(loss=None), "m.json: loss must be a finite number, got null"),
        (lambda d: d.update(inner=[1]), "m.json: inner must be an object, got [1]"),
        (lambda d: d.update(per_key={}), "m.json: per_key must be a non-empty object, got {}"),
        (lambda d: d.update(optional={"rate": 0.5}), "m.json: missing optional.count"),
    ],
)
def test_load_names_the_file_and_the_field(tmp_path: Path, change, message: str) -> None:
    path = tmp_path / "m.json"
    write_record(path, sample())
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(PipelineError) as err:
        load_record(Sample, path)
    assert str(err.value) == f"{path.parent}/{message}"


def test_an_optional_field_may_be_absent_or_null(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(
        json.dumps(
            {"inner": {"rate": 0, "count": 0}, "loss": 2, "per_key": {"a": {"rate": 1, "count": 1}}, "optional": None}
        )
    )
    record = load_record(Sample, path)
    assert record.optional is None and record.loss == 2.0 and isinstance(record.loss, float)


@pytest.mark.parametrize("bad", [float("nan"), 1.5])
def test_a_stage_cannot_write_a_value_its_reader_would_refuse(tmp_path: Path, bad: float) -> None:
    path = tmp_path / "m.json"
    record = sample()
    record.inner.rate = bad
    with pytest.raises(PipelineError, match=r"m\.json: inner\.rate must be a number in \[0, 1\]"):
        write_record(path, record)
    assert not path.exists() and not list(tmp_path.iterdir())


def _leaf_base(hint: Any) -> Any:
    if get_origin(hint) is Annotated:
        hint = get_args(hint)[0]
    return get_origin(hint) or hint


def test_every_schema_module_has_records() -> None:
    names = {cls.__name__ for cls in RECORDS}
    assert {
        "EvalMetrics",
        "EvalInfo",
        "TrainingSummary",
        "TrainingInfo",
        "PredictMetrics",
        "PredictInfo",
        "FiltersInfo",
        "ChannelsMetrics",
        "ChannelsInfo",
        "ClassMetrics",
        "ClassInfo",
        "AttackMetrics",
        "AttackInfo",
    } <= names


@pytest.mark.parametrize("cls", [c for c in RECORDS if issubclass(c, Metrics)], ids=lambda c: c.__name__)
def test_metrics_records_hold_numbers_only(cls: type) -> None:
    """What `dvc metrics show` and `dvc exp show` list: numbers, never text, booleans or lists."""
    for name, hint, _ in leaf_fields(cls):
        base = _leaf_base(hint)
        if base is dict:  # dict[str, record of numbers]: e.g. one entry per conv1 channel
            value = get_args(hint)[1]
            assert dataclasses.is_dataclass(value), name
            assert all(
                _leaf_base(h) in (int, float) for _, h, _ in leaf_fields(value) if not dataclasses.is_dataclass(h)
            ), name
        else:
            assert dataclasses.is_dataclass(base) or base in (int, float), f"{cls.__name__}.{name}: {hint}"
