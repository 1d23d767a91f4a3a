"""The params.yaml schema: defaults, and one exact, one-line message for each kind of mistake."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import committed_params

from stages.check_params import SECTIONS
from visionlab.core.errors import PipelineError
from visionlab.core.params import TOP, load_params, parse_params, parse_section
from visionlab.data.params import DataParams
from visionlab.models.params import CNNParams, FastModelParams
from visionlab.training.params import FastParams, RecipeParams, model_and_recipe, train_sections

TOP_KEYS = (
    "seed, device, run, data, train, cnn, resnet, fast, evaluate, alexnet, predict, maximize_channels, "
    "maximize_class, attack, attribute, visualize, corrupt"
)


def parse_whole(raw: Any) -> Any:
    """``raw`` checked as stage check_params checks the whole file."""
    return parse_params(raw, *TOP, whole=True, **SECTIONS)


def error_of(raw: Any) -> str:
    with pytest.raises(PipelineError) as info:
        parse_whole(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def load_error(path: Path) -> str:
    with pytest.raises(PipelineError) as info:
        load_params(path, *TOP, whole=True, **SECTIONS)
    message = str(info.value)
    assert "\n" not in message
    return message


def assert_contains(expected: dict[str, Any], actual: dict[str, Any], where: str = "") -> None:
    """Every key of ``expected`` (nested) is in ``actual`` with an equal value."""
    for key, value in expected.items():
        assert key in actual, f"{where}{key} missing"
        if isinstance(value, dict):
            assert_contains(value, actual[key], f"{where}{key}.")
        else:
            assert actual[key] == value and type(actual[key]) is type(value), (
                f"{where}{key}: {actual[key]!r} != {value!r}"
            )


def test_repo_params_yaml_loads_every_value(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(committed_params(), encoding="utf-8")  # the shipped file, as committed
    raw = yaml.safe_load(committed_params())
    params = load_params(tmp_path / "params.yaml", *TOP, whole=True, **SECTIONS)
    assert_contains(raw, dataclasses.asdict(params))
    assert params.data.md5 == "c58f30108f718f92721af3b95e74349a"
    assert params.train.augment.flip is True


def test_an_empty_params_file_is_refused_in_one_line(tmp_path: Path) -> None:
    # A stage must never run on silent defaults because params.yaml was emptied.
    for text in ("# nothing set\n", "{}\n", ""):
        empty = tmp_path / "params.yaml"
        empty.write_text(text, encoding="utf-8")
        with pytest.raises(PipelineError, match=r"params.yaml: empty"):
            load_params(empty, "seed")


def test_a_stage_needs_and_checks_its_sections_and_leaves_the_rest_to_check_params(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("seed: 1\ndata:\n  val_fraction: 0.2\ntrain: {epochs: -3}\ntrian: 5\n", encoding="utf-8")
    assert load_params(path, "seed", data=DataParams).data.val_fraction == 0.2
    with pytest.raises(PipelineError, match=r"params.yaml: no cnn, fast \(this stage reads seed, data, cnn, fast\)$"):
        load_params(path, "seed", data=DataParams, cnn=CNNParams, fast=FastParams)
    with pytest.raises(PipelineError, match=r"params.yaml: train.epochs must be an integer in 1..100000, got -3$"):
        load_params(path, "seed", data=DataParams, train=RecipeParams)


def test_empty_mapping_gives_the_defaults() -> None:
    defaults = parse_whole({})
    assert (defaults.seed, defaults.device, defaults.train.epochs, defaults.data.val_fraction) == (0, "auto", 100, 0.1)
    assert (defaults.run.resume, defaults.run.processes) == (False, 1)
    assert defaults.cnn.channels == [64, 128, 256, 512]
    # list defaults are copied, never shared between instances
    assert parse_whole({}).cnn.channels is not defaults.cnn.channels is not CNNParams().channels


def test_partial_section_keeps_the_other_defaults() -> None:
    params = parse_whole({"train": {"epochs": 3, "augment": {"flip": False}}})
    assert params.train.epochs == 3
    assert params.train.augment.flip is False
    assert params.train.augment.crop_padding == 4
    assert params.train.batch_size == 128
    assert params.seed == 0


def test_a_partial_fast_augment_keeps_fasts_other_augment_values() -> None:
    # fast's crop padding is 2, the seed's 4: switching fast's flip off must not bring the seed's padding.
    augment = parse_whole({"fast": {"train": {"augment": {"flip": False}}}}).fast.train.augment
    assert (augment.crop_padding, augment.flip) == (2, False)


def test_fast_trains_from_its_own_section_and_every_model_runs_as_run_says(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("run: {resume: true, processes: 4}\nfast: {train: {epochs: 3, lr: 0.4}}\n", encoding="utf-8")
    params = load_params(path, "run", **train_sections("fast"))  # no train section: fast never reads it
    config, recipe = model_and_recipe(params, "fast")
    assert config == dataclasses.asdict(params.fast.model)
    assert (recipe.epochs, recipe.lr, recipe.optimizer, params.run.resume, params.run.processes) == (
        3,
        0.4,
        "sgd",
        True,
        4,
    )
    params = parse_whole({"train": {"epochs": 7}, "resnet": {"width": 8}})
    config, recipe = model_and_recipe(params, "resnet")
    assert config == dataclasses.asdict(params.resnet) and recipe is params.train and recipe.epochs == 7


def test_valid_values_are_accepted() -> None:
    params = parse_whole(
        {
            "device": "cuda:1",
            "data": {"url": "../x.tar.gz", "md5": "76684CD32AC2A0F71E51AF6727B0C6AD", "val_fraction": 0.5},
            "train": {"lr": 1, "momentum": 0, "optimizer": "sgd", "schedule": "onecycle"},
            "maximize_channels": {"channels": [0, 63]},
            "predict": {"top_k": 1000},
        }
    )
    assert params.device == "cuda:1"
    assert params.train.lr == 1 and params.train.momentum == 0
    assert params.maximize_channels.channels == [0, 63]


def test_largest_seed_and_kernels_that_fit_their_maps_are_accepted() -> None:
    params = parse_whole({"seed": 2**32 - 1, "cnn": {"kernel_sizes": [32, 16, 8, 4]}, "resnet": {"kernel_size": 4}})
    assert (params.seed, params.cnn.kernel_sizes, params.resnet.kernel_size) == (2**32 - 1, [32, 16, 8, 4], 4)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"sed": 1}, f"params.yaml: unknown key sed (known: {TOP_KEYS})"),
        ({1: 2}, f"params.yaml: unknown key 1 (known: {TOP_KEYS})"),
        (
            {"train": {"augment": {"flip": True, "rotate": 5}}},
            "params.yaml: unknown key train.augment.rotate (known: crop_padding, flip)",
        ),
        ({"data": {"URL": "x"}}, "params.yaml: unknown key data.URL (known: url, md5, val_fraction)"),
        ({"train": {"epochs": -3}}, "params.yaml: train.epochs must be an integer in 1..100000, got -3"),
        ({"train": {"epochs": 0}}, "params.yaml: train.epochs must be an integer in 1..100000, got 0"),
        ({"train": {"epochs": "ten"}}, "params.yaml: train.epochs must be an integer in 1..100000, got 'ten'"),
        ({"train": {"epochs": 10.0}}, "params.yaml: train.epochs must be an integer in 1..100000, got 10.0"),
        ({"train": {"epochs": True}}, "params.yaml: train.epochs must be an integer in 1..100000, got true"),
        ({"seed": False}, "params.yaml: seed must be an integer in 0..4294967295, got false"),
        ({"seed": None}, "params.yaml: seed must be an integer in 0..4294967295, got null"),
        # bounds where torch or the hardware has them (issue #10)
        ({"seed": 2**70}, "params.yaml: seed must be an integer in 0..4294967295, got 1180591620717411303424"),
        ({"seed": 2**32}, "params.yaml: seed must be an integer in 0..4294967295, got 4294967296"),
        ({"seed": -1}, "params.yaml: seed must be an integer in 0..4294967295, got -1"),
        (
            {"cnn": {"kernel_sizes": [64, 64, 64, 64]}},
            "params.yaml: cnn.kernel_sizes must be at most the map size each block sees (32, 16, 8, 4), "
            "got [64, 64, 64, 64]",
        ),
        (
            {"cnn": {"kernel_sizes": [7, 5, 3, 5]}},
            "params.yaml: cnn.kernel_sizes must be at most the map size each block sees (32, 16, 8, 4), "
            "got [7, 5, 3, 5]",
        ),
        (
            {"resnet": {"kernel_size": 100}},
            "params.yaml: resnet.kernel_size must be at most 4, the smallest map its layers see (32, 16, 8, 4), "
            "got 100",
        ),
        (
            {"resnet": {"kernel_size": 5}},
            "params.yaml: resnet.kernel_size must be at most 4, the smallest map its layers see (32, 16, 8, 4), got 5",
        ),
        ({"train": {"lr": True}}, "params.yaml: train.lr must be a number in (0, 10], got true"),
        (  # one class per probed model (maximize_class@<model>, attack@<model>)
            {"attack": {"target_class": {"vgg": 5}}},
            "params.yaml: unknown key attack.target_class.vgg (known: alexnet, cnn, resnet, fast)",
        ),
        (
            {"maximize_class": {"class_index": 5}},
            "params.yaml: maximize_class.class_index must be a mapping, got 5",
        ),
        (
            {"maximize_class": {"class_index": {"cnn": -1}}},
            "params.yaml: maximize_class.class_index.cnn must be an integer in 0..999, got -1",
        ),
        ({"train": {"lr": math.nan}}, "params.yaml: train.lr must be a number in (0, 10], got .nan"),
        ({"train": {"lr": math.inf}}, "params.yaml: train.lr must be a number in (0, 10], got .inf"),
        ({"train": {"weight_decay": -0.1}}, "params.yaml: train.weight_decay must be a number in [0, 1], got -0.1"),
        (  # resume and processes are run's, for every model
            {"train": {"resume": True}},
            "params.yaml: unknown key train.resume (known: epochs, batch_size, optimizer, lr, "
            "weight_decay, momentum, schedule, warmup, label_smoothing, augment, lookahead, precision)",
        ),
        ({"train": {"augment": {"flip": 1}}}, "params.yaml: train.augment.flip must be true or false, got 1"),
        ({"run": {"processes": 0}}, "params.yaml: run.processes must be an integer in 1..8192, got 0"),
        ({"run": {"processes": 2.0}}, "params.yaml: run.processes must be an integer in 1..8192, got 2.0"),
        ({"run": {"resume": "yes"}}, "params.yaml: run.resume must be true or false, got 'yes'"),
        ({"train": {"optimizer": "adam"}}, "params.yaml: train.optimizer must be one of nadam, adamw, sgd, got 'adam'"),
        ({"train": {"momentum": 1}}, "params.yaml: train.momentum must be a number in [0, 1), got 1"),
        ({"train": {"precision": "fp16"}}, "params.yaml: train.precision must be one of auto, fp32, bf16, got 'fp16'"),
        (
            {"fast": {"train": {"resume": True}}},
            "params.yaml: unknown key fast.train.resume (known: epochs, batch_size, optimizer, lr, weight_decay, "
            "momentum, schedule, warmup, label_smoothing, augment, lookahead, precision)",
        ),
        (
            {"fast": {"train": {"processes": 2}}},
            "params.yaml: unknown key fast.train.processes (known: epochs, batch_size, optimizer, lr, weight_decay, "
            "momentum, schedule, warmup, label_smoothing, augment, lookahead, precision)",
        ),
        (
            {"fast": {"model": {"widths": [64, 256]}}},
            "params.yaml: fast.model.widths must be a list of 3 values, each an integer in 1..1024, got [64, 256]",
        ),
        (
            {"fast": {"model": {"tta": "six"}}},
            "params.yaml: fast.model.tta must be one of none, flip, flip_shift, got 'six'",
        ),
        (
            {"data": {"val_fraction": 1.0}},
            "params.yaml: data.val_fraction must be a number strictly between 0 and 1, got 1.0",
        ),
        (
            {"data": {"val_fraction": 0}},
            "params.yaml: data.val_fraction must be a number strictly between 0 and 1, got 0",
        ),
        ({"data": {"md5": "abc"}}, "params.yaml: data.md5 must be a 32-digit hex md5, got 'abc'"),
        ({"data": {"md5": "g" * 32}}, f"params.yaml: data.md5 must be a 32-digit hex md5, got '{'g' * 32}'"),
        ({"data": {"url": "  "}}, "params.yaml: data.url must be a non-empty string, got '  '"),
        ({"device": "gpu"}, "params.yaml: device must be one of auto, cpu, cuda, cuda:N, mps, got 'gpu'"),
        ({"device": "cuda:abc"}, "params.yaml: device must be one of auto, cpu, cuda, cuda:N, mps, got 'cuda:abc'"),
        ({"device": "cuda:"}, "params.yaml: device must be one of auto, cpu, cuda, cuda:N, mps, got 'cuda:'"),
        ({"predict": {"top_k": 1001}}, "params.yaml: predict.top_k must be an integer in 1..1000, got 1001"),
        (
            {"cnn": {"channels": [64, 0, 256, 512]}},
            "params.yaml: cnn.channels must be a list whose values are each an integer in 1..1024, "
            "got [64, 0, 256, 512]",
        ),
        (
            {"cnn": {"channels": [64, 128, 256]}},
            "params.yaml: cnn.channels must be a list of 4 values, each an integer in 1..1024, got [64, 128, 256]",
        ),
        (
            {"cnn": {"channels": 64}},
            "params.yaml: cnn.channels must be a list of 4 values, each an integer in 1..1024, got 64",
        ),
        (
            {"maximize_channels": {"channels": []}},
            "params.yaml: maximize_channels.channels must be a list of at least 1 values, "
            "each an integer in 0..63, got []",
        ),
        (
            {"visualize": {"models": {"alexnet": {"transforms": {"shift": 10**19}}}}},
            "params.yaml: visualize.models.alexnet.transforms.shift must be an integer in 0..224, "
            "got 10000000000000000000",
        ),
        (
            {"visualize": {"diversity_batch": 1_000_000}},
            "params.yaml: visualize.diversity_batch must be an integer in 2..32, got 1000000",
        ),
        (
            {"visualize": {"robust_trials": 10_000_000}},
            "params.yaml: visualize.robust_trials must be an integer in 1..1024, got 10000000",
        ),
        ({"attribute": {"n_steps": 1001}}, "params.yaml: attribute.n_steps must be an integer in 1..1000, got 1001"),
        ({"visualize": {"sd": 2.0}}, "params.yaml: visualize.sd must be a number in (0, 1], got 2.0"),
        (
            {"visualize": {"diversity_weight": 1.0e39}},
            "params.yaml: visualize.diversity_weight must be a number in [0, 10000], got 1.0e+39",
        ),
        (
            {"visualize": {"models": {"fast": {"transforms": {"scale_min": 0.01}}}}},
            "params.yaml: visualize.models.fast.transforms.scale_min must be a number in [0.03125, 32], got 0.01",
        ),
        ({"train": 5}, "params.yaml: train must be a mapping, got 5"),
        ({"train": [1, 2]}, "params.yaml: train must be a mapping, got [1, 2]"),
        ({"train": None}, "params.yaml: train must be a mapping, got null"),
        ({"train": {"augment": "yes"}}, "params.yaml: train.augment must be a mapping, got 'yes'"),
        ([1, 2], "params.yaml: top level must be a mapping, got [1, 2]"),
        ("seed: 1", "params.yaml: top level must be a mapping, got 'seed: 1'"),
    ],
)
def test_bad_value_gives_one_exact_line(raw: Any, message: str) -> None:
    assert error_of(raw) == message


def test_long_value_is_still_one_line() -> None:
    # PyYAML wraps long flow lists at 80 columns; the message must not
    values = list(range(1, 60))
    message = error_of({"cnn": {"channels": values}})
    assert message == f"params.yaml: cnn.channels must be a list of 4 values, each an integer in 1..1024, got {values}"


def test_first_problem_in_file_order_is_reported() -> None:
    # unknown keys are checked before values, then fields in schema order
    assert error_of({"seed": -1, "bogus": 1}).startswith("params.yaml: unknown key bogus ")
    assert (
        error_of({"train": {"lr": 0, "epochs": 0}})
        == "params.yaml: train.epochs must be an integer in 1..100000, got 0"
    )


def test_source_name_is_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "my-params.yaml"
    path.write_text("train:\n  epochs: -3\n", encoding="utf-8")
    assert load_error(path) == f"{path}: train.epochs must be an integer in 1..100000, got -3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train:\n  lr: .nan\n", "train.lr must be a number in (0, 10], got .nan"),
        ("train:\n  lr: 1e400\n", "train.lr must be a number in (0, 10], got .inf"),
        # YAML 1.2, as DVC reads it: yes is text, never true
        ("train:\n  epochs: yes\n", "train.epochs must be an integer in 1..100000, got 'yes'"),
        ("train:\n  augment:\n    flip: yes\n", "train.augment.flip must be true or false, got 'yes'"),
        ("train:\n  epochs: 1e2\n", "train.epochs must be an integer in 1..100000, got 100.0"),
        ("train:\n", "train must be a mapping, got null"),
        ("- 1\n- 2\n", "top level must be a mapping, got [1, 2]"),
        (
            "seed: 0\ntrain:\n  epochs: [1, 2\n",
            "not valid YAML at line 4 (expected ',' or ']', but got '<stream end>')",
        ),
        ("seed: 0\n  device: cpu\n", "not valid YAML at line 2 (mapping values are not allowed here)"),
        (
            "seed: 0\nseed: 1\n",
            'not valid YAML at line 2 (found duplicate key "seed" with value "1" (original value: "0"))',
        ),
        (
            "train:\n  lr: 0.1\n  epochs: 2\n  lr: 0.2\n",
            'not valid YAML at line 4 (found duplicate key "lr" with value "0.2" (original value: "0.1"))',
        ),
    ],
)
def test_bad_file_gives_one_exact_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_error(path) == f"{path}: {message}"


def test_exponent_floats_read_as_numbers(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML) reads 3e-4 as text; YAML 1.2 (and so DVC's params view) reads a float
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  lr: 3e-4\n  weight_decay: 5E-2\n", encoding="utf-8")
    params = load_params(path, train=RecipeParams)
    assert params.train.lr == pytest.approx(3e-4) and isinstance(params.train.lr, float)
    assert params.train.weight_decay == pytest.approx(0.05)


def test_a_leading_zero_is_read_as_dvc_reads_it(tmp_path: Path) -> None:
    # YAML 1.1 (PyYAML) reads 010 as octal 8; DVC reads YAML 1.2, and dvc.lock records 10: so must the run.
    from dvc.utils.serialize import load_yaml

    path = tmp_path / "params.yaml"
    path.write_text("predict:\n  top_k: 010\n", encoding="utf-8")
    assert load_params(path, *TOP, whole=True, **SECTIONS).predict.top_k == load_yaml(path)["predict"]["top_k"] == 10


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("evaluate: &e {batch_size: 64}\ntrain:\n  <<: *e\n  batch_size: 32\n", encoding="utf-8")
    assert load_params(path, train=RecipeParams).train.batch_size == 32


def leaves(section: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted key, default) of every value of a params section, nested sections walked."""
    found = []
    for field in dataclasses.fields(section):
        value = getattr(section, field.name)
        key = f"{path}{field.name}"
        found += leaves(value, f"{key}.") if dataclasses.is_dataclass(value) else [(key, value)]
    return found


def nested(key: str, value: Any) -> dict[str, Any]:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def is_number(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(v, int) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


NUMBERS = [(k, v) for k, v in leaves(parse_whole({})) if is_number(v)]  # every key but texts, flags and choices


@pytest.mark.parametrize(("key", "default"), NUMBERS, ids=[k for k, _ in NUMBERS])
def test_every_number_has_an_upper_bound(key: str, default: Any) -> None:
    # On e04381c most were unbounded: 1e300 or 10**30 went on to torch (an overflow traceback) or to memory.
    huge: Any = 1e300 if isinstance(default, float) else 10**30
    if isinstance(default, list):
        huge = [huge, *default[1:]]
    assert error_of(nested(key, huge)).startswith(f"params.yaml: {key} must be ")


def test_huge_integer_is_an_error_or_a_value_never_a_crash() -> None:
    huge = 10**400  # no float holds it
    assert error_of({"train": {"lr": huge}}).startswith("params.yaml: train.lr must be a number in (0, 10], got 1000")
    assert error_of({"train": {"momentum": huge}}).startswith(
        "params.yaml: train.momentum must be a number in [0, 1), got 1000"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert load_error(path) == f"{path}: file not found (run from the project root)"


def test_directory_and_binary_file(tmp_path: Path) -> None:
    assert load_error(tmp_path) == f"{tmp_path}: cannot read (Is a directory)"
    binary = tmp_path / "params.yaml"
    binary.write_bytes(b"seed: \xff\xfe\n")
    assert load_error(binary) == f"{binary}: not UTF-8 text"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: 0\ndata:\n  val_fraction: 2\n", "data.val_fraction must be a number strictly between 0 and 1, got 2"),
        ("seed: 0\ndata:\n  url_: x\n", "unknown key data.url_ (known: url, md5, val_fraction)"),
        ("seed: 0\ndta:\n  val_fraction: 0.2\n", "no data (this stage reads seed, data)"),
        ("seed: [0\n", "not valid YAML at line 2 (expected ',' or ']', but got '<stream end>')"),
    ],
)
def test_stage_cli_reports_bad_params_in_one_line(tmp_path: Path, run_stage: Any, text: str, message: str) -> None:
    params = tmp_path / "bad.yaml"
    params.write_text(text, encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    # the data file does not exist either: params must be checked before any work starts
    result = run_stage(
        "stats.py", "--params", params, "--data", tmp_path / "missing.npz", "--out", out_dir / "stats.json"
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: {params}: {message}"]
    assert result.stdout == ""
    assert list(out_dir.iterdir()) == []


def test_an_alias_bomb_is_refused_in_one_line_without_expanding_it(tmp_path: Path, run_stage: Any) -> None:
    # 2**40 values if expanded: YAML aliases stay shared, and neither the check nor the message copies them.
    nested = ", ".join(["&a0 [0, 0]", *(f"&a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 41))])
    params = tmp_path / "params.yaml"
    params.write_text(f"seed: [{nested}]\n", encoding="utf-8")
    result = run_stage("stats.py", "--params", params, "--data", tmp_path / "no.npz", "--out", tmp_path / "s.json")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {params}: seed must be an integer in 0..4294967295, got [&id001 [0, 0], &id002 [")


def test_a_section_is_checked_on_its_own_under_its_dotted_name() -> None:
    # A checkpoint's config is its model's constructor arguments: fast's are fast.model, not fast.
    config = {"widths": [4, 8, 8], "logit_scale": 0.125, "tta": "flip"}
    parsed = parse_section("fast.model", FastModelParams, config, "ckpt config")
    assert parsed == FastModelParams(widths=[4, 8, 8], logit_scale=0.125, tta="flip")
    with pytest.raises(PipelineError, match=r"^ckpt config: unknown key fast\.widths \(known: model, train\)$"):
        parse_section("fast", FastParams, {"widths": [4, 8, 8]}, "ckpt config")
    with pytest.raises(
        PipelineError, match=r"^ckpt config: unknown key fast\.model\.x \(known: widths, logit_scale, tta\)$"
    ):
        parse_section("fast.model", FastModelParams, {"x": 1}, "ckpt config")
    with pytest.raises(PipelineError, match=r"^ckpt config: fast\.model\.tta must be one of"):
        parse_section("fast.model", FastModelParams, {"tta": "rotate"}, "ckpt config")


def test_a_schema_edit_reruns_only_the_stages_that_import_it() -> None:
    # On d2d7944 every stage imported the one params module: an edit to visualize's schema reran train@<model>.
    from test_dvc_deps import import_closure

    assert "visionlab/visualize/params.py" not in import_closure("stages.train")
    assert "visionlab/training/params.py" not in import_closure("stages.visualize")
