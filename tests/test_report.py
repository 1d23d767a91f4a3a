"""The report stage: provenance stated plainly, the seed's figure beside each number, bad input in one line.

The fixture files are built from the schema's dataclasses (visionlab.metrics), so a renamed or
retyped field fails here; every expected string is typed out, not computed by the code under test.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
import yaml
from conftest import committed_params
from records import leaf_fields
from test_dvc_deps import STAGES

from visionlab.attack.record import (
    AttackInfo,
    AttackMetrics,
    AttackTop1,
    BoundedInfo,
    BoundedScores,
    UnboundedInfo,
    UnboundedScores,
)
from visionlab.attribution.record import AttributedImage, AttributionInfo, ClassAttribution, MassOverlap
from visionlab.calibration.record import CalibrationInfo, CalibrationMetrics, ReliabilityBin
from visionlab.calibration.record import SplitScores as NLLScores
from visionlab.channels.record import ChannelDetail, ChannelScores, ChannelsInfo, ChannelsMetrics, ReceptiveField, Unit
from visionlab.classmax.record import ClassInfo, ClassMetrics, Guess, RobustnessInfo
from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.record import record_dict
from visionlab.corruption.record import CorruptionInfo, CorruptionMetrics, CorruptionScore
from visionlab.evaluation.record import DataCounts, EvalInfo, EvalMetrics, EvalScores
from visionlab.filters.record import ConvShape, FiltersInfo, WeightStats
from visionlab.predict.record import ImagePrediction, ModeScores, PredictInfo, PredictMetrics, Top1
from visionlab.probe.record import ProbedModel, TrainingProvenance
from visionlab.report.build import build_page
from visionlab.report.inputs import Inputs, dep_paths, input_files
from visionlab.training.record import SplitScores, Timing, TrainingInfo, TrainingSummary
from visionlab.visualize.record import ObjectiveScores, RungScores, TransformInfo, VisualizeInfo

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SEED_CONFIGS = {  # the seed's architectures (params.yaml's defaults)
    "cnn": {
        "channels": [64, 128, 256, 512],
        "kernel_sizes": [7, 5, 3, 2],
        "dropout": 0.25,
        "fc_widths": [512, 256, 128],
    },
    "resnet": {"width": 64, "blocks": [2, 2, 2, 2], "kernel_size": 3},
    "fast": {"widths": [32, 64, 128], "logit_scale": 0.125, "tta": "flip_shift"},  # ours, not the seed's
}
PRETRAINED = ProbedModel("alexnet", random_weights=False, alexnet_weights="IMAGENET1K_V1")
RANDOM = ProbedModel("alexnet", random_weights=True, alexnet_weights="none")

# A run: "<kind>/<name>" -> record, kind = metrics | info | train (reports/<kind>/<name>.json,
# train: reports/train/<model>/metrics.json, DVCLive's summary).
Run = dict[str, Any]


def cifar_model(run: Run, model: str, test_acc: float, epochs: int, counts: DataCounts) -> None:
    run[f"metrics/{model}"] = EvalMetrics(EvalScores(accuracy=test_acc, loss=0.4321))
    run[f"info/{model}"] = EvalInfo(model, copy.deepcopy(SEED_CONFIGS[model]), epochs, "cuda", counts, CLASSES)
    run[f"train/{model}"] = TrainingSummary(
        step=epochs,
        train=SplitScores(loss=0.2345, accuracy=0.9012),
        val=SplitScores(loss=0.3456, accuracy=0.8771),
        timing=Timing(1234.4),
    )
    run[f"info/{model}_train"] = TrainingInfo(
        wall_seconds=1300.0, images_per_second=5678.9, precision="bf16", processes=1
    )


IG_TARGET_KEPT = {"alexnet": 0.2871, "cnn": 0.6544, "resnet": 0.7012, "fast": 0.5}


def attribution(run: Run, probed: ProbedModel) -> None:
    """attribute@<model>: the attack's ship (AlexNet's after attack 207, a CIFAR model's after attack 5)."""
    name = probed.name
    alexnet = name == "alexnet"
    ship, ship_name = (510, "container ship") if alexnet else (8, "ship")
    target, target_name = (207, "golden retriever") if alexnet else (5, "dog")
    run[f"info/{name}_attribution"] = AttributionInfo(
        probed,
        ship_test_index=1,
        input_size=224 if alexnet else 32,
        ship_class=ship,
        ship_name=ship_name,
        target_class=target,
        target_name=target_name,
        attack_steps=40,
        attack_step_size=5.0,
        n_steps=50,
        gradcam_layer="1.features.10",
        gradcam_single_view=name == "fast",
        clean=AttributedImage(
            ship,
            ship_name,
            0.6,
            ClassAttribution(4.0, 1.0, 3.01, 0.01, 12.5),
            ClassAttribution(-1.0, 0.5, -1.49, 0.01, 0.0),
        ),
        adversarial=AttributedImage(
            target,
            target_name,
            0.9987,
            ClassAttribution(-2.0, 1.0, -3.0, 0.002, 3.0),
            ClassAttribution(9.0, 0.5, 8.47, -0.03, 20.0),
        ),
        overlap=MassOverlap(ig_ship=0.4123, ig_target=IG_TARGET_KEPT[name], gradcam_ship=0.75),
    )


def cifar_analyses(run: Run, model: str, epochs: int, subset: bool) -> None:
    """maximize_class@<model> and attack@<model>: the AlexNet analyses on a CIFAR model, target dog."""
    probed = ProbedModel(
        model,
        random_weights=False,
        checkpoint=f"models/{model}.pt",
        trained_model=TrainingProvenance(epochs=epochs, subset=subset, train_images=45000),
    )
    run[f"metrics/{model}_maximize_class"] = copy.deepcopy(run["metrics/alexnet_maximize_class"])
    run[f"info/{model}_maximize_class"] = dataclasses.replace(
        copy.deepcopy(run["info/alexnet_maximize_class"]),
        model=probed,
        class_index=5,
        class_name="dog",
        top5=[Guess(5, "dog", 0.9954)],
    )
    run[f"metrics/{model}_attack"] = copy.deepcopy(run["metrics/alexnet_attack"])
    info = copy.deepcopy(run["info/alexnet_attack"])
    info.unbounded.before = AttackTop1(8, "ship", 0.6, 0.6)
    info.unbounded.after = AttackTop1(5, "dog", 0.9987, 0.0001)
    run[f"info/{model}_attack"] = dataclasses.replace(
        info, model=probed, target_class=5, target_name="dog", input_size=32
    )
    attribution(run, probed)


def visualized(run: Run, model: ProbedModel, steps: int = 512, naive_steps: int = 40, batch: int = 4) -> None:
    """visualize@<model>: two objectives, four rungs each (fft + transforms the smoothest and most robust on the
    first, naive the most robust on the second)."""
    rungs = [
        {
            "naive": RungScores(9.5, 1.25, 0.81, 0.5),
            "fft": RungScores(7.25, 3.5, 0.12, 20.0),
            "fft_transforms": RungScores(6.5, 5.75, 0.04, 21.0),
            "diversity": RungScores(4.5, 4.25, 0.06, 80.0),
        },
        {
            "naive": RungScores(3.5, 3.25, 0.77, 0.75),
            "fft": RungScores(2.5, 1.5, 0.09, 22.0),
            "fft_transforms": RungScores(2.25, 2.0, 0.05, 23.0),
            "diversity": RungScores(1.5, 1.25, 0.07, 85.0),
        },
    ]
    titles = [("last_conv_0", "last conv channel 0"), ("class_logit", "class 5 (dog), logit")]
    run[f"visualize/{model.name}"] = VisualizeInfo(
        model=model,
        input_size=224 if model.name == "alexnet" else 32,
        colour="the colour covariance of its 45,000 training images",
        last_conv="conv5",
        naive_steps=naive_steps,
        naive_step_size=5.0,
        steps=steps,
        lr=0.05,
        diversity_batch=batch,
        diversity_weight=100.0,
        robust_trials=16,
        transforms=TransformInfo(2, 1, 0.95, 1.05, 5.0),
        objectives=[ObjectiveScores(k, t, r) for (k, t), r in zip(titles, rungs, strict=True)],
    )


def cifar_probed(model: str, epochs: int, subset: bool) -> ProbedModel:
    trained = TrainingProvenance(epochs=epochs, subset=subset, train_images=45000)
    return ProbedModel(model, random_weights=False, checkpoint=f"models/{model}.pt", trained_model=trained)


CORRUPTION_NAMES = ["gaussian_noise", "fog", "contrast"]


def beyond_accuracy(run: Run, model: str, epochs: int, subset: bool, images: int = 1000) -> None:
    """calibrate@<model> and corruption@<model>; the CNN's worst corruption is contrast, the others' fog."""
    trained = TrainingProvenance(epochs=epochs, subset=subset, train_images=45000)
    bins = [ReliabilityBin(13, 13 / 15, 14 / 15, 600, 0.9, 0.8), ReliabilityBin(7, 7 / 15, 8 / 15, 400, 0.5, 0.45)]
    run[f"metrics/{model}_calibration"] = CalibrationMetrics(ece=0.0812, ece_temperature=0.0123, temperature=1.734)
    run[f"info/{model}_calibration"] = CalibrationInfo(
        model,
        f"models/{model}.pt",
        trained,
        validation=NLLScores(5000, 0.6543, 0.5432),
        test=NLLScores(10000, 0.6789, 0.5678),
        test_accuracy=0.8123,
        bins=bins,
        bins_temperature=bins,
    )
    worst = "contrast" if model == "cnn" else "fog"
    scores = [
        CorruptionScore(name, [0.7, 0.6, 0.5, 0.4, 0.3], 0.5)
        if name != worst
        else CorruptionScore(name, [0.5, 0.4, 0.3, 0.2, 0.1], 0.3)
        for name in CORRUPTION_NAMES
    ]
    run[f"metrics/{model}_corruption"] = CorruptionMetrics(clean_accuracy=0.8, mean_corruption_accuracy=0.4333)
    run[f"info/{model}_corruption"] = CorruptionInfo(
        model, f"models/{model}.pt", trained, images, [1, 2, 3, 4, 5], scores, worst, ["frost"]
    )


def full_run() -> Run:
    """A full run: pretrained AlexNet, full data, the seed's epochs and steps."""
    run: Run = {}
    counts = DataCounts(train_images=45000, val_images=5000, test_images=10000, subset=False)
    cifar_model(run, "cnn", 0.8123, 100, counts)
    cifar_model(run, "resnet", 0.9001, 100, counts)
    cifar_model(run, "fast", 0.9234, 14, counts)  # its own recipe's default length, 14 epochs
    raw = [0.2112, 0.3, 0.4, 0.5, 0.9999]
    norm = [0.7, 0.9, 0.99, 0.995, 1.0]
    run["metrics/predict"] = PredictMetrics(ModeScores(0.4, 1), ModeScores(0.99, 3), top1_agreement=0.6)
    run["info/predict"] = PredictInfo(
        PRETRAINED,
        "cuda",
        5,
        [
            ImagePrediction(f"photo{i}.jpg", Top1(1, "goldfish", r), Top1(1 + i % 2, "goldfish", n))
            for i, (r, n) in enumerate(zip(raw, norm, strict=True))
        ],
    )
    run["info/filters"] = FiltersInfo(
        PRETRAINED,
        224,
        ConvShape(3, 64, 11, 4, 2, 55),
        ConvShape(64, 192, 5, 1, 2, 27),
        WeightStats(min=-0.5, max=0.6, std=0.1),
    )
    scores = {"0": (61.234,), "5": (33.333,), "10": (44.444,), "20": (99.876,)}
    starts = {"0": (0.5, 70.0), "5": (0.1, 40.0), "10": (0.2, 50.0), "20": (0.3, 110.0)}
    run["metrics/maximize_channels"] = ChannelsMetrics({c: ChannelScores(*v) for c, v in scores.items()})
    run["info/maximize_channels"] = ChannelsInfo(
        PRETRAINED,
        Unit(27, 27),
        ReceptiveField(106, 116, 106, 116),
        30,
        5.0,
        {c: ChannelDetail(*v) for c, v in starts.items()},
    )
    run["metrics/alexnet_maximize_class"] = ClassMetrics(0.9954)
    run["info/alexnet_maximize_class"] = ClassInfo(
        PRETRAINED,
        207,
        "golden retriever",
        "prob",
        40,
        5.0,
        initial_probability=0.0009,
        logit=20.0,
        top5=[Guess(207, "golden retriever", 0.9954), Guess(208, "Labrador retriever", 0.003)],
        robustness=RobustnessInfo(8, 0.05, 0.1, mean_probability=0.5, min_probability=0.1, top1_kept_fraction=0.75),
    )
    run["metrics/alexnet_attack"] = AttackMetrics(UnboundedScores(0.9987), BoundedScores(success_rate=0.97))
    run["info/alexnet_attack"] = AttackInfo(
        PRETRAINED,
        207,
        "golden retriever",
        ship_test_index=1,
        input_size=224,
        unbounded=UnboundedInfo(
            40,
            5.0,
            target_probability_before=0.0001,
            before=AttackTop1(510, "container ship", 0.6, 0.6),
            after=AttackTop1(207, "golden retriever", 0.9987, 0.0001),
            linf=0.1,
            linf_255=25.5,
            l2=3.0,
            rms=0.01,
        ),
        bounded=BoundedInfo(
            8 / 255,
            1 / 255,
            40,
            images=100,
            successes=97,
            success_rate_uint8=0.95,
            clean_predicted_as_target=0,
            max_linf=0.0314,
            median_steps_to_success=6,
            clean_accuracy=None,
        ),
    )
    attribution(run, PRETRAINED)
    for model, epochs in (("cnn", 100), ("resnet", 100), ("fast", 14)):
        cifar_analyses(run, model, epochs=epochs, subset=False)
    visualized(run, PRETRAINED)
    for model, epochs in (("cnn", 100), ("resnet", 100), ("fast", 14)):
        visualized(run, cifar_probed(model, epochs, subset=False))
        beyond_accuracy(run, model, epochs=epochs, subset=False)
    return run


def smoke_run() -> Run:
    """What `.ci/pipeline.sh` produces: random AlexNet weights, the sample, 2 epochs, few ships."""
    run = full_run()
    counts = DataCounts(train_images=4119, val_images=458, test_images=1017, subset=True)
    for model in ("cnn", "resnet", "fast"):
        run[f"info/{model}"] = dataclasses.replace(run[f"info/{model}"], epochs=2, data=counts)
        run[f"train/{model}"].step = 2
    for name in (
        "predict",
        "filters",
        "maximize_channels",
        "alexnet_maximize_class",
        "alexnet_attack",
        "alexnet_attribution",
    ):
        run[f"info/{name}"].model = RANDOM
    run["metrics/alexnet_attack"].bounded = BoundedScores(success_rate=0.0)
    run["info/alexnet_attack"].bounded = dataclasses.replace(
        run["info/alexnet_attack"].bounded, images=8, successes=0, success_rate_uint8=0.0, median_steps_to_success=None
    )
    for model in ("cnn", "resnet", "fast"):
        cifar_analyses(run, model, epochs=2, subset=True)
    visualized(run, RANDOM, steps=8, naive_steps=4, batch=2)
    for model in ("cnn", "resnet", "fast"):
        visualized(run, cifar_probed(model, 2, subset=True), steps=8, naive_steps=4, batch=2)
        beyond_accuracy(run, model, epochs=2, subset=True, images=100)  # the smoke run's corrupt.images
    return run


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


def record_path(inputs: Inputs, key: str) -> Path:
    kind, name = key.split("/")
    kinds = {"metrics": inputs.metrics, "info": inputs.info, "train": inputs.training_metrics}
    return {**kinds, "visualize": inputs.visualize}[kind](name)


def write_inputs(root: Path, run: Run) -> Inputs:
    inputs = Inputs(root / "reports", root / "data" / "stats.json")
    inputs.stats.parent.mkdir(parents=True)
    inputs.stats.write_text(json.dumps({"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.2435, 0.2616]}))
    for key, record in run.items():
        path = record_path(inputs, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record_dict(record)))
    inputs.predictions_md.parent.mkdir(parents=True)
    inputs.predictions_md.write_text(PREDICTIONS_MD)
    inputs.filters_md.parent.mkdir(parents=True)
    inputs.filters_md.write_text(FILTERS_MD)
    for path in input_files(inputs):
        if path.suffix == ".png":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x89PNG\r\n\x1a\n")  # only linked, never decoded
    return inputs


def edit_json(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def run_report(root: Path) -> subprocess.CompletedProcess[str]:
    """The report stage's command line, run in this process: its imports are paid once, not per test."""
    from stages.report import main

    argv = ["report", "--reports", "reports", "--stats", "data/stats.json"]
    argv += ["--out", "reports/README.md", "--html", "reports/index.html"]
    out, err, cwd, saved = io.StringIO(), io.StringIO(), Path.cwd(), sys.argv
    try:
        os.chdir(root)
        sys.argv = argv
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run_stage(main)
                code = 0
            except SystemExit as exit_:
                code = int(exit_.code or 0)
    finally:
        os.chdir(cwd)
        sys.argv = saved
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


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
    write_inputs(tmp_path, smoke_run())
    result = run_report(tmp_path)
    assert result.returncode == 0, result.stderr
    return sections((tmp_path / "reports/README.md").read_text(encoding="utf-8"))


@pytest.fixture
def full_page(tmp_path: Path) -> tuple[Path, str]:
    write_inputs(tmp_path, full_run())
    result = run_report(tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path, (tmp_path / "reports/README.md").read_text(encoding="utf-8")


# --- provenance -----------------------------------------------------------------------------------


CAVEAT_HEADER = "| caveat | AlexNet | CNN | ResNet | Fast |\n|---|---|---|---|---|\n"


def caveat_table(markdown: str) -> dict[str, list[str]]:
    """The caveat × model table on top of the page: {caveat: its cells for AlexNet, CNN, ResNet and Fast}."""
    _, found, rest = markdown.partition(CAVEAT_HEADER)
    assert found, f"no caveat table in:\n{markdown[:2000]}"
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in rest.split("\n\n")[0].splitlines()]
    return {re.fullmatch(r"\*\*(.+?):\*\* .+", r[0])[1]: r[1:] for r in rows}


def test_page_states_random_weights_sample_and_smoke_at_the_top(smoke_page: dict[str, str]) -> None:
    top = smoke_page["top"]
    assert "not comparable with the seed report" in top.lower() and "alexnet.weights=none" in top
    sample = "5,594 images: 4,119 training, 458 validation, 1,017 test"
    visualisation = "8 steps, 4 naive steps, a diversity batch of 2 (512, 40, 4 in a full run)"
    assert caveat_table(top) == {
        "Random weights": ["yes", "—", "—", "—"],
        "Sample data": ["—", sample, sample, sample],
        # fast is held to its own recipe's length; the probed models' epochs (the same) are not said twice
        "Smoke training": [
            "—",
            "2 epochs (100 in a full run)",
            "2 epochs (100 in a full run)",
            "2 epochs (14 in a full run)",
        ],
        "Smoke attack": ["8 ships (100 in a full run)"] * 4,
        "Smoke visualisation": [visualisation] * 4,
        "Smoke corruption": ["—", *["100 test images (1,000 in a full run)"] * 3],
    }
    assert top.count("in a full run") == 14  # once a cell: no paragraph repeating them


def test_the_caveat_table_marks_only_the_models_a_caveat_applies_to(tmp_path: Path) -> None:
    run = full_run()
    for name in ("predict", "filters", "maximize_channels", "alexnet_maximize_class", "alexnet_attack"):
        run[f"info/{name}"].model = RANDOM
    run["info/alexnet_attribution"].model = RANDOM
    run["visualize/alexnet"].model = RANDOM
    run["info/cnn"] = dataclasses.replace(run["info/cnn"], epochs=14)  # a full run: the seed's 100
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    # no row for a caveat that applies to no model: no sample, no short attack, visualisation or corruption
    assert caveat_table(markdown) == {
        "Random weights": ["yes", "—", "—", "—"],
        "Smoke training": ["—", "14 epochs (100 in a full run)", "—", "—"],
    }
    page = (tmp_path / "reports/index.html").read_text(encoding="utf-8")
    assert "<td><strong>Random weights:</strong> not the ImageNet ones (<code>alexnet.weights=none</code>)" in page
    assert "<td>—</td><td>14 epochs (100 in a full run)</td><td>—</td><td>—</td></tr>" in page


def test_each_affected_section_says_so(smoke_page: dict[str, str]) -> None:
    titles = list(smoke_page)
    cifar = smoke_page[next(t for t in titles if t.startswith("2."))].lower()
    assert "sample data" in cifar and "smoke training" in cifar and "random weights" not in cifar
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
    run = full_run()
    run["info/maximize_channels"] = dataclasses.replace(run["info/maximize_channels"], model=RANDOM, steps=3)
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    page = sections((tmp_path / "reports/README.md").read_text(encoding="utf-8"))
    channels = page[next(t for t in page if t.startswith("5."))].lower()
    assert "**random weights:** alexnet." in channels
    assert "**smoke maximisation:** alexnet: 3 steps per conv1 unit (30 in a full run)." in channels
    others = page[next(t for t in page if t.startswith("4."))].lower()
    assert "random weights" not in others


def test_a_narrow_resnet_is_flagged_from_the_config_in_its_side_file(tmp_path: Path) -> None:
    run = full_run()
    run["info/resnet"].config = {"width": 16, "blocks": [2, 2, 2, 2], "kernel_size": 3}
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert "**Smoke training:** ResNet: width 16 (64 in a full run)." in markdown
    assert caveat_table(markdown) == {"Smoke training": ["—", "—", "width 16 (64 in a full run)", "—"]}
    assert row(markdown, "architecture")[3:5] == ["width 16, blocks 2-2-2-2, kernel_size 3", "width 64"]


def test_beyond_accuracy_shows_calibration_and_corruption_per_model(full_page: tuple[Path, str]) -> None:
    _, markdown = full_page
    section = sections(markdown)["10. Beyond accuracy"]
    assert row(section, "ECE, test (15 bins)")[1:] == ["0.0812"] * 3
    assert row(section, "ECE after temperature scaling")[1:] == ["0.0123"] * 3
    assert row(section, "temperature (fitted on validation)")[1:] == ["1.734"] * 3
    assert row(section, "validation NLL before → after")[1] == "0.6543 → 0.5432"
    assert row(section, "clean (the same images)")[1:] == ["80.0 %"] * 3
    assert row(section, "contrast")[1:] == ["**30.0 % (worst)**", "50.0 %", "50.0 %"]
    assert row(section, "fog")[1:] == ["50.0 %", "**30.0 % (worst)**", "**30.0 % (worst)**"]
    assert row(section, "mean relative to clean")[1:] == ["0.54 × clean"] * 3  # 0.4333 / 0.8
    assert row(section, "severity 1")[1:] == ["63.3 %"] * 3  # (0.7 + 0.7 + 0.5) / 3
    assert section.count("reliability.png") == 3
    assert "(all but frost)" in section and "smoke" not in section.lower()


def test_beyond_accuracy_says_sample_and_smoke(smoke_page: dict[str, str]) -> None:
    section = smoke_page["10. Beyond accuracy"].lower()
    assert "sample data" in section and "4,119 training" in section
    assert "**smoke corruption:** cnn, resnet and fast: 100 test images (1,000 in a full run)." in section
    assert (
        "**smoke training:** cnn and resnet: 2 epochs (100 in a full run); fast: 2 epochs (14 in a full run)."
        in section
    )


# --- numbers beside the seed's -----------------------------------------------------------------


def test_cifar_table_puts_the_seed_figure_beside_each_number(full_page: tuple[Path, str]) -> None:
    _, markdown = full_page
    # columns: label, CNN, CNN (seed), ResNet, ResNet (seed), Fast, Fast (seed): the seed has no fast model
    header = "| | CNN | CNN (seed) | ResNet | ResNet (seed) | Fast | Fast (seed) |"
    assert header in [re.sub(r"\s+", " ", line) for line in markdown.splitlines()]
    assert row(markdown, "test accuracy") == ["test accuracy", "81.2 %", "84.7 %", "90.0 %", "89.2 %", "92.3 %", "—"]
    assert row(markdown, "test loss") == ["test loss", "0.4321", "—", "0.4321", "0.3675", "0.4321", "—"]
    assert row(markdown, "validation accuracy")[1:] == ["87.7 %", "—", "87.7 %", "89.8 %", "87.7 %", "—"]
    assert row(markdown, "training accuracy")[1:] == ["90.1 %", "—", "90.1 %", "88.4 %", "90.1 %", "—"]
    assert row(markdown, "epochs") == ["epochs", "100", "—", "100", "100", "14", "—"]
    assert row(markdown, "device")[5:] == ["`cuda`", "—"]
    assert row(markdown, "training time")[1] == "1,234 s"
    assert row(markdown, "training speed")[1] == "5,679 images/s"
    assert row(markdown, "device")[1] == "`cuda`"
    assert row(markdown, "architecture") == [
        "architecture",
        "channels 64-128-256-512, kernel_sizes 7-5-3-2, dropout 0.25, fc_widths 512-256-128",
        "kernel_sizes 7-5-3-2",
        "width 64, blocks 2-2-2-2, kernel_size 3",
        "width 64",
        "widths 32-64-128, logit_scale 0.125, tta flip_shift",
        "—",
    ]


def test_training_and_validation_scores_come_from_the_train_stages_summary(tmp_path: Path) -> None:
    run = full_run()
    run["train/cnn"].val = SplitScores(loss=1.5, accuracy=0.5)
    run["train/cnn"].train = SplitScores(loss=1.25, accuracy=0.625)
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert row(markdown, "validation accuracy")[1] == "50.0 %" and row(markdown, "validation loss")[1] == "1.5000"
    assert row(markdown, "training accuracy")[1] == "62.5 %" and row(markdown, "training loss")[1] == "1.2500"


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
    run = full_run()
    run["info/alexnet_maximize_class"] = dataclasses.replace(
        run["info/alexnet_maximize_class"], class_index=1, class_name="goldfish"
    )
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert row(markdown, "probability after")[1:] == ["0.995", "—"]
    assert "its figure does not compare" in markdown


def test_the_page_shows_no_number_that_was_not_measured_or_seeded(full_page: tuple[Path, str]) -> None:
    """Every number in the CIFAR table is one of ours (by hand above) or the seed's."""
    _, markdown = full_page
    allowed = {
        "81.2",
        "90.0",
        "84.7",
        "89.2",
        "0.4321",
        "0.3675",
        "87.7",
        "89.8",
        "0.3456",
        "0.3194",
        "90.1",
        "88.4",
        "0.2345",
        "0.3386",
        "92.3",
        "14",
        "100",
        "1,234",
        "5,679",
    }
    table = markdown.split("| test accuracy |")[1].split("| architecture |")[0]  # the architecture: above
    numbers = set(re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?", table))  # not the 16 of bf16
    assert numbers <= allowed, numbers - allowed


def test_html_page_links_every_figure_by_a_relative_path_that_exists(full_page: tuple[Path, str]) -> None:
    root, markdown = full_page
    page = (root / "reports/index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    # 9 training figures (3 models), 5 of AlexNet, 2 analyses and 1 reliability per CIFAR model, 4 ladders,
    # 4 attributions
    assert len(sources) == 31
    for src in sources:
        assert not src.startswith("/") and (root / "reports" / src).is_file(), src
    assert "<td>81.2 %</td><td>84.7 %</td>" in page
    assert re.findall(r"!\[(?:[^\]\\]|\\.)*\]\(([^)]+)\)", markdown) == sources  # the same figures in the markdown


def test_html_escapes_text_from_the_metrics(tmp_path: Path) -> None:
    run = full_run()
    run["info/alexnet_maximize_class"].class_name = "<script>alert(1)</script>"
    write_inputs(tmp_path, run)
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
        (lambda i: i.info("alexnet_attack").unlink(), ("reports/info/alexnet_attack.json: not found",)),
        (lambda i: i.metrics("alexnet_attack").write_text('{"unbounded": {'), ("alexnet_attack.json: not valid JSON",)),
        (lambda i: i.metrics("cnn").write_text("[1, 2]"), ("cnn.json: must hold a JSON object",)),
        (
            lambda i: i.stats.write_text('{"mean": [0.5], "std": [0.2, 0.2, 0.2]}'),
            ("stats.json: mean must be 3 values in [0, 1]",),
        ),
        (lambda i: i.filters_md.unlink(), ("reports/filters/summary.md: not found",)),
        (lambda i: i.figure("alexnet_attack").unlink(), ("reports/figures/alexnet/attack.png: not found",)),
    ],
    ids=[
        "missing-metrics",
        "missing-info",
        "truncated-json",
        "not-an-object",
        "bad-stats",
        "missing-table",
        "missing-figure",
    ],
)
def test_missing_or_malformed_input_is_one_line_and_writes_nothing(tmp_path: Path, damage, fragments) -> None:
    inputs = write_inputs(tmp_path, full_run())
    (tmp_path / "reports/README.md").write_text("previous page\n")
    damage(inputs)
    assert_one_line_failure(tmp_path, run_report(tmp_path), *fragments)


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        (
            "metrics/alexnet_attack",
            lambda m: m["bounded"].pop("success_rate"),
            "reports/metrics/alexnet_attack.json: missing bounded.success_rate",
        ),
        (
            "metrics/cnn",
            lambda m: m["test"].update(accuracy="high"),
            'reports/metrics/cnn.json: test.accuracy must be a number in [0, 1], got "high"',
        ),
        (
            "metrics/cnn",
            lambda m: m["test"].update(accuracy=float("nan")),
            "reports/metrics/cnn.json: test.accuracy must be a number in [0, 1], got nan",
        ),
        ("train/resnet", lambda m: m.pop("val"), "reports/train/resnet/metrics.json: missing val"),
        (
            "info/resnet",
            lambda m: m.update(model="cnn"),
            "reports/info/resnet.json: holds the metrics of 'cnn', not 'resnet'",
        ),
        (
            "info/alexnet_attack",
            lambda m: m["model"].pop("random_weights"),
            "reports/info/alexnet_attack.json: missing model.random_weights",
        ),
        (
            "metrics/maximize_channels",
            lambda m: m["channels"]["5"].pop("activation"),
            "reports/metrics/maximize_channels.json: missing channels.5.activation",
        ),
        (
            "metrics/predict",
            lambda m: m["with_normalization"].update(above_0_98=-1),
            "reports/metrics/predict.json: with_normalization.above_0_98 must be a non-negative integer, got -1",
        ),
        (
            "info/cnn",
            lambda m: m["data"].update(subset="yes"),
            'reports/info/cnn.json: data.subset must be true or false, got "yes"',
        ),
        (
            "info/cnn_corruption",
            lambda m: [s.update(accuracy=s["accuracy"][:2]) for s in m["corruptions"]],
            "reports/info/cnn_corruption.json: corruptions must be scores of distinct corruptions, one accuracy per "
            'severity (gaussian_noise: 2 for 5), got [{"name": "gaussian_noise", "accuracy": [0.7, 0.6], "mean": ',
        ),
        (
            "info/resnet_corruption",
            lambda m: m.update(corruptions=[]),
            "reports/info/resnet_corruption.json: corruptions must be scores of distinct corruptions, one accuracy "
            "per severity (empty), got []",
        ),
        (
            "info/resnet_corruption",
            lambda m: [m.update(severities=[1, 2])] + [s.update(accuracy=s["accuracy"][:2]) for s in m["corruptions"]],
            "reports/info/resnet_corruption.json: scored another corrupted set than reports/info/cnn_corruption.json",
        ),
    ],
)
def test_a_malformed_field_names_file_and_key(tmp_path: Path, key: str, change, message: str) -> None:
    inputs = write_inputs(tmp_path, full_run())
    edit_json(record_path(inputs, key), change)
    (tmp_path / "reports/README.md").write_text("previous page\n")
    result = run_report(tmp_path)
    assert_one_line_failure(tmp_path, result)
    assert result.stderr == f"error: {message}\n"


def _required_fields(record: Any) -> list[tuple[str, Any]]:
    return [(name, hint) for name, hint, optional in leaf_fields(type(record)) if not optional]


def _remove(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    del data[last]


def _build_error(tmp_path: Path) -> str:
    with pytest.raises(PipelineError) as err:
        build_page(Inputs(tmp_path / "reports", tmp_path / "data/stats.json"), tmp_path / "reports")
    return str(err.value)


def test_every_field_of_every_file_is_required_by_the_report(tmp_path: Path) -> None:
    """Each field the schema requires, taken out of its file in turn: the report names that file and field."""
    run = full_run()
    inputs = write_inputs(tmp_path, run)
    checked = 0
    for key, record in run.items():
        path = record_path(inputs, key)
        original = path.read_text()
        for name, _ in _required_fields(record):
            edit_json(path, lambda data, name=name: _remove(data, name))
            assert _build_error(tmp_path) == f"{path}: missing {name}"
            path.write_text(original)
            checked += 1
    assert checked > 150  # every file, not just a few


WRONG = {bool: "yes", int: 1.5, float: "1", str: 7, list: "a", dict: "a"}


def _base_type(hint: Any) -> Any:
    """float for Annotated[float, ...], dict for dict[str, X], list for list[X], the hint itself otherwise."""
    origin = get_origin(hint)
    if origin is Annotated:
        return get_args(hint)[0]
    return origin or hint


def test_every_field_of_every_file_is_type_checked_by_the_report(tmp_path: Path) -> None:
    run = full_run()
    inputs = write_inputs(tmp_path, run)
    for key, record in run.items():
        path = record_path(inputs, key)
        original = path.read_text()
        for name, hint in _required_fields(record):
            base = _base_type(hint)
            wrong = "an object expected" if dataclasses.is_dataclass(base) else WRONG[base]
            edit_json(path, lambda data, name=name, wrong=wrong: _set(data, name, wrong))
            assert _build_error(tmp_path).startswith(f"{path}: {name} must be "), (key, name)
            path.write_text(original)


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    data[last] = value


def test_the_attribution_section_reads_its_sentence_from_the_numbers(smoke_page: dict[str, str]) -> None:
    section = smoke_page["10. Beyond accuracy"]
    look = section.split("### Where does it look?")[1]
    assert "**Random weights:** AlexNet." in look
    assert (
        "**Smoke training:** CNN and ResNet: 2 epochs (100 in a full run); Fast: 2 epochs (14 in a full run)." in look
    )
    assert row(section, "AlexNet (random weights)")[1:] == [
        "container ship → golden retriever (target: golden retriever)",
        "0.01 of 1.5",  # the map whose |delta| is the largest share of its own |f(x) - f(black)|: clean toward target
        "41 %",
        "29 %",
        "75 %",
        "— (a map is all zero)",
    ]
    assert row(section, "Fast (sample data, smoke training)")[4] == "50 %"
    assert "moves the IG map most on AlexNet (29 % kept in place) and least on ResNet (70 %)." in section
    assert "recomputed adversarial" not in section  # the same image as the attack section's
    assert "IG is not complete" not in section  # delta 0.03 of 8.5
    assert section.count("/attribution.png)") == 4 and "](figures/fast/attribution.png)" in section


def test_an_incomplete_integrated_gradients_is_named(tmp_path: Path) -> None:
    run = full_run()
    info = run["info/alexnet_attribution"]
    info.clean = dataclasses.replace(
        info.clean, toward_ship=dataclasses.replace(info.clean.toward_ship, convergence_delta=-1.7)
    )
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert "IG is not complete within 5 % on AlexNet (57 %): its worst map's Captum delta" in markdown
    assert row(markdown, "AlexNet")[2] == "1.7 of 3"


def test_a_small_maps_incomplete_integrated_gradients_is_named_beside_a_large_change(tmp_path: Path) -> None:
    run = full_run()
    info = run["info/cnn_attribution"]
    # Clean toward dog: f(x) - f(black) 0.1, delta 0.05 (50 %); the adversarial toward dog changes by 8.5.
    info.clean = dataclasses.replace(info.clean, toward_target=ClassAttribution(0.6, 0.5, 0.15, 0.05, 0.0))
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert "IG is not complete within 5 % on CNN (50 %)" in markdown
    assert row(markdown, "CNN")[2] == "0.05 of 0.1"


def test_a_recomputed_adversarial_that_differs_from_the_attack_sections_is_named(tmp_path: Path) -> None:
    run = full_run()
    info = run["info/cnn_attribution"]
    info.adversarial = dataclasses.replace(info.adversarial, predicted_probability=0.4477)
    write_inputs(tmp_path, run)
    assert run_report(tmp_path).returncode == 0
    markdown = (tmp_path / "reports/README.md").read_text(encoding="utf-8")
    assert "CNN's recomputed adversarial image scores dog 0.448, the attack section's dog 0.999" in markdown
    assert "AlexNet's recomputed" not in markdown


# --- the report reads exactly its DVC deps ---------------------------------------------------------


def test_dvc_deps_of_the_report_stage_are_exactly_what_it_reads() -> None:
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]
    inputs = Inputs(Path("reports"), Path("data/stats.json"))
    code = {
        f for f in stage["deps"] if f.split("/")[0] in ("stages", "visionlab")
    }  # tests/test_dvc_deps.py checks these
    deps = [Path(p) for p in stage["deps"] if p not in code]
    assert deps == dep_paths(inputs)
    assert "--stats data/stats.json" in stage["cmd"] and "--reports reports" in stage["cmd"]
    # Every file it reads or links lies in a dep ...
    for path in input_files(inputs):
        assert any(path == dep or dep in path.parents for dep in deps), path
    # ... and the folders it depends on whole hold only files it reads: every stage's metrics and side file.
    outs = {
        next(iter(o)) if isinstance(o, dict) else o
        for st in STAGES.values()
        for kind in ("outs", "metrics", "plots")
        for o in st.get(kind, [])
    }
    for folder in (inputs.metrics_dir, inputs.info_dir, inputs.visualize_dir):
        written = {Path(o) for o in outs if Path(o).parent == folder}
        read = {p for p in input_files(inputs) if p.parent == folder}
        assert written == read, folder
    # Every figure it links is a stage's plot, so `dvc plots diff` shows it for both revisions.
    plots = {Path(next(iter(o)) if isinstance(o, dict) else o) for st in STAGES.values() for o in st.get("plots", [])}
    figures = {p for p in input_files(inputs) if p.suffix == ".png"}
    assert len(figures) == 31 and all(any(f == o or o in f.parents for o in plots) for f in figures)


def test_the_stage_opens_no_file_outside_its_inputs(tmp_path: Path) -> None:
    """An audit hook records every file opened while the page is built and written."""
    inputs = write_inputs(tmp_path, full_run())
    (tmp_path / "params.yaml").write_text("alexnet: {weights: none}\n")  # present, and must not be read
    probe = """
import json, sys
from pathlib import Path
from visionlab.report.build import write_report
from visionlab.report.inputs import Inputs
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
write_report(Inputs(Path("reports"), Path("data/stats.json")), Path("reports/README.md"), Path("reports/index.html"))
print(json.dumps(opened))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    opened = {(tmp_path / p).resolve() for p in json.loads(result.stdout) if not p.endswith(".pyc")}
    local = {p for p in opened if tmp_path.resolve() in p.parents}
    allowed = {(tmp_path / p).resolve() for p in input_files(Inputs(Path("reports"), Path("data/stats.json")))}
    # the atomic writes: a nameless O_TMPFILE opened on the outputs' folder, or a named temp file beside them
    written = {p for p in local if p.name.startswith((".README.md.", ".index.html."))} | {
        (tmp_path / "reports").resolve()
    }
    assert local - written <= allowed, local - written - allowed
    assert (tmp_path / "reports/metrics/alexnet_attack.json").resolve() in local  # the hook did see the reads
    assert (tmp_path / "reports/info/alexnet_attack.json").resolve() in local
    assert inputs.stats.resolve() in local


def test_the_figures_note_holds_fast_to_its_own_default_length_not_the_seeds() -> None:
    from visionlab.evaluation.figures import provenance_note

    summary = {"epochs": 14, "device": "cpu", "train_images": 45000, "subset": False}
    assert provenance_note(summary, model_name="fast") == "14 epochs on cpu, 45,000 training images"
    assert "SHORT RUN: the seed trained 100 epochs" in provenance_note(summary, model_name="resnet")
    short = provenance_note({**summary, "epochs": 2}, model_name="fast")
    assert short.endswith("SHORT RUN: fast's default recipe trains 14 epochs")


def test_a_fast_run_of_the_shipped_recipe_reads_as_full_and_one_epoch_less_as_short() -> None:
    # The report holds fast to its recipe's default length, kept in the code, not in params.yaml.
    from visionlab.evaluation.figures import provenance_note

    epochs = yaml.safe_load(committed_params())["fast"]["train"]["epochs"]
    summary = {"epochs": epochs, "device": "cpu", "train_images": 45000, "subset": False}
    assert "SHORT RUN" not in provenance_note(summary, model_name="fast")
    assert "SHORT RUN" in provenance_note({**summary, "epochs": epochs - 1}, model_name="fast")


def test_the_feature_visualisation_section_reads_its_table(smoke_page: dict[str, str], tmp_path: Path) -> None:
    section = smoke_page[next(t for t in smoke_page if t.startswith("9."))]
    assert "| last conv channel 0 | act 9.5 · robust 1.25 · high freq. 81 % · 0.5 s |" in section
    assert (
        "Per objective, highest activation: naive on 2 of 2; highest robust activation: fft + transforms on 1 of 2, "
        "naive on 1 of 2; lowest high-frequency share: fft + transforms on 2 of 2; fastest: naive on 2 of 2. "
        "Against naive, fft + transforms has the lower high-frequency share on 2 of 2 objectives and the higher "
        "robust activation on 1 of 2."
    ) in section
    alexnet = section.split("### 9.2")[0]
    assert "random weights" in alexnet.lower() and "| fft + transforms (random weights) |" in alexnet
    assert (
        "**Smoke visualisation:** AlexNet: 8 steps, 4 naive steps, a diversity batch of 2 (512, 40, 4 in a full run)."
        in (alexnet)
    )
    assert "random weights" not in section.split("### 9.2")[1].lower()


def test_a_visualisation_missing_a_rung_is_one_line(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path, full_run())
    edit_json(inputs.visualize("cnn"), lambda data: data["objectives"][1]["rungs"].pop("fft"))
    message = _build_error(tmp_path)
    assert message == f"{inputs.visualize('cnn')}: class_logit has the rungs naive, fft_transforms, diversity, not " + (
        "naive, fft, fft_transforms, diversity"
    )
