"""The report stage: provenance stated plainly, the seed's figure beside each number, bad input in one line.

Metrics are written by hand here (the schemas of evaluate's metrics_record and the AlexNet stages);
every expected string is typed out, not computed by the code under test.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from visionlab.reporting.page import Inputs, input_paths

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_metrics(model: str, test_acc: float, epochs: int, subset: bool) -> dict[str, Any]:
    return {
        "model": model,
        "test": {"accuracy": test_acc, "loss": 0.4321, "per_class_accuracy": dict.fromkeys(CLASSES, test_acc)},
        "train": {"accuracy": 0.9012, "loss": 0.2345},
        "val": {"accuracy": 0.8771, "loss": 0.3456},
        "epochs": epochs,
        "device": "cuda",
        "data": {"train_images": 45000, "val_images": 5000, "test_images": 10000, "subset": subset},
        "timing": {"train_seconds": 1234.4, "images_per_second": 5678.9},
        "seed_report": {},
    }


def full_metrics() -> dict[str, dict[str, Any]]:
    """A full run: pretrained AlexNet, full data, the seed's epochs and steps."""
    alexnet = {"model": "alexnet", "alexnet_weights": "IMAGENET1K_V1", "random_weights": False}
    return {
        "cnn": cifar_metrics("cnn", 0.8123, 100, False),
        "resnet": cifar_metrics("resnet", 0.9001, 100, False),
        "predict": {
            **alexnet, "device": "cuda", "top_k": 5, "images": 5,
            "without_normalization": {"median_top1_confidence": 0.4, "min_top1_confidence": 0.2112,
                                      "max_top1_confidence": 0.9999, "above_0_98": 1},
            "with_normalization": {"median_top1_confidence": 0.99, "min_top1_confidence": 0.7,
                                   "max_top1_confidence": 1.0, "above_0_98": 3},
            "top1_agreement": 0.6,
        },
        "filters": {
            **alexnet, "input_size": 224,
            "conv1": {"in_channels": 3, "out_channels": 64, "kernel": 11, "stride": 4, "padding": 2, "output_size": 55},
            "conv2": {"in_channels": 64, "out_channels": 192, "kernel": 5, "stride": 1, "padding": 2,
                      "output_size": 27},
        },
        "maximize_channels": {
            **alexnet, "unit": {"row": 27, "col": 27}, "steps": 30, "step_size": 5.0,
            "channels": {
                "0": {"initial_activation": 0.5, "activation": 61.234, "analytic_max": 70.0,
                      "fraction_of_analytic_max": 0.8748},
                "5": {"initial_activation": 0.1, "activation": 33.333, "analytic_max": 40.0,
                      "fraction_of_analytic_max": 0.8333},
                "10": {"initial_activation": 0.2, "activation": 44.444, "analytic_max": 50.0,
                       "fraction_of_analytic_max": 0.8889},
                "20": {"initial_activation": 0.3, "activation": 99.876, "analytic_max": 110.0,
                       "fraction_of_analytic_max": 0.9080},
            },
        },
        "maximize_class": {
            **alexnet, "class_index": 207, "class_name": "golden retriever", "objective": "prob", "steps": 40,
            "step_size": 5.0, "initial_probability": 0.0009, "probability": 0.9954, "logit": 20.0,
            "robustness": {"trials": 8, "max_shift": 0.05, "max_scale": 0.1, "mean_probability": 0.5,
                           "min_probability": 0.1, "top1_kept_fraction": 0.75},
        },
        "attack": {
            **alexnet, "target_class": 207, "target_name": "golden retriever", "ship_test_index": 1, "input_size": 224,
            "unbounded": {
                "steps": 40, "step_size": 5.0,
                "before": {"top1_index": 510, "top1_name": "container ship", "top1_probability": 0.6,
                           "target_probability": 0.0001, "original_top1_probability": 0.6},
                "after": {"top1_index": 207, "top1_name": "golden retriever", "top1_probability": 0.9987,
                          "target_probability": 0.9987, "original_top1_probability": 0.0001},
                "linf": 0.1, "linf_255": 25.5, "l2": 3.0, "rms": 0.01,
            },
            "bounded": {"epsilon": 8 / 255, "epsilon_step": 1 / 255, "steps": 40, "images": 100,
                        "targeted_success_rate": 0.97, "successes": 97, "median_steps_to_success": 6,
                        "success_rate_after_uint8_rounding": 0.95, "clean_predicted_as_target": 0,
                        "clean_accuracy": None, "max_linf": 0.0314},
        },
    }


def smoke_metrics() -> dict[str, dict[str, Any]]:
    """What `.ci/pipeline.sh` produces: random AlexNet weights, the sample, 2 epochs, few ships."""
    metrics = copy.deepcopy(full_metrics())
    for name in ("cnn", "resnet"):
        metrics[name]["epochs"] = 2
        metrics[name]["data"] = {"train_images": 4119, "val_images": 458, "test_images": 1017, "subset": True}
    for name in ("predict", "filters", "maximize_channels", "maximize_class", "attack"):
        metrics[name].update(alexnet_weights="none", random_weights=True)
    metrics["attack"]["bounded"].update(images=8, successes=0, targeted_success_rate=0.0,
                                        median_steps_to_success=None)
    return metrics


PREDICTIONS_MD = """# AlexNet predictions with and without ImageNet normalisation

Weights: `IMAGENET1K_V1`.

| image | input | normalisation | top 1 |
|---|---|---|---|
| dog.jpg | folder | none | golden retriever (0.512) |
"""
FILTERS_MD = """# AlexNet conv1 and conv2

| layer | in channels | out channels |
|---|---|---|
| conv2 | 64 | 192 |
"""


def write_inputs(root: Path, metrics: dict[str, dict[str, Any]]) -> Inputs:
    inputs = Inputs(root / "reports", root / "data" / "stats.json")
    inputs.stats.parent.mkdir(parents=True)
    inputs.stats.write_text(json.dumps({"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.2435, 0.2616]}))
    for name, data in metrics.items():
        path = inputs.metrics(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    inputs.predictions_md.parent.mkdir(parents=True)
    inputs.predictions_md.write_text(PREDICTIONS_MD)
    inputs.filters_md.parent.mkdir(parents=True)
    inputs.filters_md.write_text(FILTERS_MD)
    for path in input_paths(inputs):
        if path.suffix == ".png":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x89PNG\r\n\x1a\n")  # only linked, never decoded
    return inputs


def run_report(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stages.report", "--reports", "reports", "--stats", "data/stats.json",
         "--out", "reports/README.md", "--html", "reports/index.html", *extra],
        cwd=root, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def sections(markdown: str) -> dict[str, str]:
    """The page split at its `## ` headings: {"top": ..., "1. Data": ..., ...}."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    found = {"top": parts[0]}
    found.update({parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)})
    return found


def row(markdown: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is ``label``."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == label:
            return cells
    raise AssertionError(f"no table row {label!r} in:\n{markdown}")


@pytest.fixture
def smoke_page(tmp_path: Path) -> dict[str, str]:
    write_inputs(tmp_path, smoke_metrics())
    result = run_report(tmp_path)
    assert result.returncode == 0, result.stderr
    return sections((tmp_path / "reports/README.md").read_text(encoding="utf-8"))


@pytest.fixture
def full_page(tmp_path: Path) -> tuple[Path, str]:
    write_inputs(tmp_path, full_metrics())
    result = run_report(tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path, (tmp_path / "reports/README.md").read_text(encoding="utf-8")


# --- provenance -----------------------------------------------------------------------------------


def test_page_states_random_weights_sample_and_smoke_at_the_top(smoke_page: dict[str, str]) -> None:
    top = smoke_page["top"].lower()
    assert "not comparable with the seed report" in top
    assert "random weights" in top and "alexnet.weights=none" in top
    assert "sample" in top and "4,119 training" in top
    assert "smoke" in top and "2 epochs (the seed: 100)" in top
    assert "8 ships (a full run: 100)" in top


def test_each_affected_section_says_so(smoke_page: dict[str, str]) -> None:
    titles = list(smoke_page)
    cifar = smoke_page[next(t for t in titles if t.startswith("2."))].lower()
    assert "sample data" in cifar and "smoke settings" in cifar and "random weights" not in cifar
    for number in ("3.", "4.", "5.", "6.", "7."):
        section = smoke_page[next(t for t in titles if t.startswith(number))].lower()
        assert "random weights" in section, number
    data = smoke_page[next(t for t in titles if t.startswith("1."))].lower()
    assert "sample" in data and "5,594" in data  # 4,119 + 458 + 1,017


def test_full_settings_raise_no_warning(full_page: tuple[Path, str]) -> None:
    _, markdown = full_page
    lower = markdown.lower()
    assert "full settings" in lower
    for word in ("random weights", "sample data", "smoke", "not comparable"):
        assert word not in lower, word


def test_provenance_comes_from_the_metrics_even_when_only_one_stage_differs(tmp_path: Path) -> None:
    metrics = full_metrics()
    metrics["maximize_channels"].update(random_weights=True, alexnet_weights="none", steps=3)
    write_inputs(tmp_path, metrics)
    assert run_report(tmp_path).returncode == 0
    page = sections((tmp_path / "reports/README.md").read_text(encoding="utf-8"))
    channels = page[next(t for t in page if t.startswith("5."))].lower()
    assert "random weights" in channels and "maximised for 3 steps (the seed: 30)" in channels
    others = page[next(t for t in page if t.startswith("4."))].lower()
    assert "random weights" not in others


def test_a_narrow_resnet_is_flagged_when_the_metrics_record_its_config(tmp_path: Path) -> None:
    metrics = full_metrics()
    metrics["resnet"]["config"] = {"width": 16, "blocks": [2, 2, 2, 2], "kernel_size": 3}
    write_inputs(tmp_path, metrics)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert "ResNet was trained with width 16 (the seed: 64)" in markdown
    assert row(markdown, "architecture")[3:5] == ["width 16, blocks 2-2-2-2, kernel_size 3", "width 64"]


# --- numbers beside the seed's -----------------------------------------------------------------


def test_cifar_table_puts_the_seed_figure_beside_each_number(full_page: tuple[Path, str]) -> None:
    _, markdown = full_page
    # columns: label, CNN, CNN (seed), ResNet, ResNet (seed)
    assert row(markdown, "test accuracy") == ["test accuracy", "81.2 %", "84.7 %", "90.0 %", "89.2 %"]
    assert row(markdown, "test loss") == ["test loss", "0.4321", "—", "0.4321", "0.3675"]
    assert row(markdown, "validation accuracy") == ["validation accuracy", "87.7 %", "—", "87.7 %", "89.8 %"]
    assert row(markdown, "training accuracy") == ["training accuracy", "90.1 %", "—", "90.1 %", "88.4 %"]
    assert row(markdown, "epochs") == ["epochs", "100", "—", "100", "100"]
    assert row(markdown, "training time")[1] == "1,234 s"
    assert row(markdown, "training speed")[1] == "5,679 images/s"
    assert row(markdown, "device")[1] == "`cuda`"


def test_fast_is_shown_beside_the_seed_models_when_asked_for(tmp_path: Path) -> None:
    metrics = full_metrics()
    metrics["fast"] = cifar_metrics("fast", 0.7345, 14, False)
    metrics["fast"]["config"] = {"widths": [32, 64, 128], "logit_scale": 0.111, "tta": "flip_shift"}
    inputs = write_inputs(tmp_path, metrics)
    assert inputs.metrics("fast") not in input_paths(inputs)  # not read unless asked for
    fast_inputs = Inputs(inputs.reports, inputs.stats, ("cnn", "resnet", "fast"))
    for path in input_paths(fast_inputs):
        if path.suffix == ".png" and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert run_report(tmp_path, "--models", "cnn", "resnet", "fast").returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    # columns: label, CNN, CNN (seed), ResNet, ResNet (seed), fast (no seed column)
    header = ["", "CNN", "CNN (seed)", "ResNet", "ResNet (seed)", "fast"]
    assert any([c.strip() for c in line.strip().strip("|").split("|")] == header for line in markdown.splitlines())
    assert row(markdown, "test accuracy") == ["test accuracy", "81.2 %", "84.7 %", "90.0 %", "89.2 %", "73.5 %"]
    assert row(markdown, "epochs")[-1] == "14" and "smoke" not in markdown.lower()  # 14 epochs is its recipe
    assert "## 2. CIFAR-10: CNN, ResNet and fast" in markdown and "figures/fast/curves.png" in markdown
    assert {inputs.metrics("fast"), inputs.figure("fast_confusion")} <= set(input_paths(fast_inputs))


def test_alexnet_numbers_sit_beside_the_seed_figures(full_page: tuple[Path, str]) -> None:
    _, markdown = full_page
    assert row(markdown, "0")[2:] == ["61.23", "70.00", "87.48 %", "62.038 (seed)"]
    assert row(markdown, "5")[-1] == "34.98 (seed)"
    assert row(markdown, "20")[-1] == "104 (seed)"
    assert row(markdown, "10")[-1] == "—"  # the seed reports no number for channel 10
    assert row(markdown, "probability after") == ["probability after", "0.995", "1.0 (seed)"]
    success = row(markdown, "targeted success rate, ε = 8/255")
    assert success[1:] == ["0.970 (97 of 100 ships)", "1.0 (1 of 1 ship, unbounded) (seed)"]
    assert row(markdown, "images above 0.98 confidence with normalisation")[1:] == ["3 of 5", "4 of 5 (seed)"]
    assert row(markdown, "conv2 output channels")[1:] == ["192", "192 (seed)"]


def test_another_class_is_not_compared_with_the_seeds(tmp_path: Path) -> None:
    metrics = full_metrics()
    metrics["maximize_class"].update(class_index=1, class_name="goldfish")
    write_inputs(tmp_path, metrics)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert row(markdown, "probability after")[1:] == ["0.995", "—"]
    assert "its figure does not compare" in markdown


def test_the_page_shows_no_number_that_was_not_measured_or_seeded(full_page: tuple[Path, str]) -> None:
    """Every number in the CIFAR table is one of ours (by hand above) or the seed's."""
    _, markdown = full_page
    allowed = {"81.2", "90.0", "84.7", "89.2", "0.4321", "0.3675", "87.7", "89.8", "0.3456", "0.3194", "90.1",
               "88.4", "0.2345", "0.3386", "100", "1,234", "5,679"}
    table = markdown.split("| test accuracy |")[1].split("\n\n")[0]
    numbers = set(re.findall(r"\d[\d,]*(?:\.\d+)?", table))
    assert numbers <= allowed, numbers - allowed


def test_html_page_links_every_figure_by_a_relative_path_that_exists(full_page: tuple[Path, str]) -> None:
    root, markdown = full_page
    page = (root / "reports/index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 11
    for src in sources:
        assert not src.startswith("/") and (root / "reports" / src).is_file(), src
    assert "<td>81.2 %</td><td>84.7 %</td>" in page
    assert re.findall(r"!\[(?:[^\]\\]|\\.)*\]\(([^)]+)\)", markdown) == sources  # the same figures in the markdown


def test_html_escapes_text_from_the_metrics(tmp_path: Path) -> None:
    metrics = full_metrics()
    metrics["maximize_class"]["class_name"] = "<script>alert(1)</script>"
    write_inputs(tmp_path, metrics)
    assert run_report(tmp_path).returncode == 0
    page = (tmp_path / "reports/index.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page


# --- bad input -------------------------------------------------------------------------------------


def assert_one_line_failure(root: Path, result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert (root / "reports/README.md").read_text() == "previous page\n"  # untouched
    assert not (root / "reports/index.html").exists()
    assert not list((root / "reports").glob(".*tmp*"))  # no temp file left behind


@pytest.mark.parametrize(
    ("damage", "fragments"),
    [
        (lambda i: i.metrics("resnet").unlink(), ("reports/metrics/resnet.json: not found",)),
        (lambda i: i.metrics("attack").write_text('{"model": "alexnet",'), ("attack.json: not valid JSON",)),
        (lambda i: i.metrics("cnn").write_text("[1, 2]"), ("cnn.json: must hold a JSON object",)),
        (lambda i: i.stats.write_text('{"mean": [0.5], "std": [0.2, 0.2, 0.2]}'),
         ("stats.json: mean must be a list of 3 numbers",)),
        (lambda i: i.filters_md.unlink(), ("reports/filters/summary.md: not found",)),
        (lambda i: i.figure("attack").unlink(), ("reports/figures/attack.png: not found",)),
    ],
    ids=["missing-metrics", "truncated-json", "not-an-object", "bad-stats", "missing-table", "missing-figure"],
)
def test_missing_or_malformed_input_is_one_line_and_writes_nothing(tmp_path: Path, damage, fragments) -> None:
    inputs = write_inputs(tmp_path, full_metrics())
    (tmp_path / "reports/README.md").write_text("previous page\n")
    damage(inputs)
    assert_one_line_failure(tmp_path, run_report(tmp_path), *fragments)


@pytest.mark.parametrize(
    ("name", "change", "fragments"),
    [
        ("cnn", lambda m: m["test"].update(accuracy="high"), ("cnn.json: test.accuracy must be a number in [0, 1]",)),
        ("cnn", lambda m: m["test"].update(accuracy=float("nan")), ("test.accuracy must be a number in [0, 1]",)),
        ("resnet", lambda m: m.pop("val"), ("resnet.json: missing val.accuracy",)),
        ("resnet", lambda m: m.update(model="cnn"), ("resnet.json: holds the metrics of 'cnn', not 'resnet'",)),
        ("attack", lambda m: m.pop("random_weights"), ("attack.json: missing random_weights",)),
        ("maximize_channels", lambda m: m["channels"]["5"].pop("activation"), ("missing channels.5.activation",)),
        ("predict", lambda m: m.update(images=-1), ("predict.json: images must be a non-negative integer",)),
    ],
)
def test_a_malformed_field_names_file_and_key(tmp_path: Path, name: str, change, fragments) -> None:
    metrics = full_metrics()
    change(metrics[name])
    write_inputs(tmp_path, metrics)
    (tmp_path / "reports/README.md").write_text("previous page\n")
    assert_one_line_failure(tmp_path, run_report(tmp_path), *fragments)


# --- the report reads exactly its DVC deps ---------------------------------------------------------


def test_dvc_deps_of_the_report_stage_are_exactly_the_files_it_reads() -> None:
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]
    inputs = Inputs(Path("reports"), Path("data/stats.json"))
    code = {"stages/report.py", "visionlab/reporting/page.py", "visionlab/seed_report.py"}
    assert set(stage["deps"]) == code | {p.as_posix() for p in input_paths(inputs)}
    assert "--stats data/stats.json" in stage["cmd"] and "--reports reports" in stage["cmd"]


def test_the_stage_opens_no_file_outside_its_inputs(tmp_path: Path) -> None:
    """An audit hook records every file opened while the page is built and written."""
    inputs = write_inputs(tmp_path, full_metrics())
    (tmp_path / "params.yaml").write_text("alexnet: {weights: none}\n")  # present, and must not be read
    probe = """
import json, sys
from pathlib import Path
from visionlab.reporting.page import Inputs, write_report
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
write_report(Inputs(Path("reports"), Path("data/stats.json")), Path("reports/README.md"), Path("reports/index.html"))
print(json.dumps(opened))
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    opened = {(tmp_path / p).resolve() for p in json.loads(result.stdout) if not p.endswith(".pyc")}
    local = {p for p in opened if tmp_path.resolve() in p.parents}
    allowed = {(tmp_path / p).resolve() for p in input_paths(Inputs(Path("reports"), Path("data/stats.json")))}
    written = {p for p in local if p.name.startswith((".README.md.", ".index.html."))}  # the atomic temp files
    assert local - written <= allowed, local - written - allowed
    assert (tmp_path / "reports/metrics/attack.json").resolve() in local  # the hook did see the reads
    assert inputs.stats.resolve() in local
