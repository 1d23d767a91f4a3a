"""Training: batched augmentation, the loop, resume, determinism and the train/evaluate stages."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import committed_params

from visionlab.core.errors import PipelineError
from visionlab.core.record import load_record
from visionlab.data.cifar import Split
from visionlab.evaluation import inference
from visionlab.evaluation.inference import DeviceSplit
from visionlab.evaluation.record import DataCounts, EvalInfo, EvalMetrics
from visionlab.models.normalize import Normalized
from visionlab.models.registry import build_model
from visionlab.training import loop
from visionlab.training.augment import random_crop, random_flip
from visionlab.training.checkpoint import load_resume_checkpoint
from visionlab.training.loop import TrainingRun, fit
from visionlab.training.params import RecipeParams
from visionlab.training.record import TrainingInfo, TrainingSummary

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TINY_CNN = {"channels": [4, 4, 4, 4], "kernel_sizes": [3, 3, 3, 3], "dropout": 0.0, "fc_widths": [16, 16, 16]}
TINY_RESNET = {"width": 4, "blocks": [1, 1, 1, 1], "kernel_size": 3}
TINY_FAST = {"widths": [8, 8, 8], "logit_scale": 1 / 9, "tta": "flip"}
TINY_CONFIGS = {"cnn": TINY_CNN, "resnet": TINY_RESNET, "fast": TINY_FAST}


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each class has its own mean colour plus noise: learnable in an epoch or two."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    palette = np.linspace(20, 235, 10)
    base = np.stack([palette[labels], palette[(labels * 3) % 10], palette[(labels * 7) % 10]], axis=1)
    images = base[:, :, None, None] + rng.normal(0, 20, (n, 3, 32, 32))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


def tiny_run(tmp_path: Path, epochs: int = 2, resume: bool = False, model: str = "cnn", **train) -> TrainingRun:
    images, labels = learnable_images(160, seed=1)
    params = RecipeParams(**{"epochs": epochs, "batch_size": 32, "lr": 0.01, **train})
    return TrainingRun(
        model_name=model,
        model_config=TINY_CONFIGS[model],
        params=params,
        seed=0,
        train=DeviceSplit.from_split(Split(images[:128], labels[:128]), torch.device("cpu")),
        val=DeviceSplit.from_split(Split(images[128:], labels[128:]), torch.device("cpu")),
        checkpoint_path=tmp_path / "checkpoint.pt",
        fingerprint_extra={},
        progress=False,
        resume=resume,
    )


def tiny_model(run: TrainingRun) -> Normalized:
    torch.manual_seed(0)
    return Normalized(build_model(run.model_name, run.model_config), [0.5] * 3, [0.25] * 3)


# --- augmentation ------------------------------------------------------------------------------


def test_random_crop_is_a_shifted_window_of_the_zero_padded_image() -> None:
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).reshape(2, 3, 8, 8) % 251 + 1
    cropped = random_crop(images.to(torch.uint8), 2, torch.Generator().manual_seed(3))
    assert cropped.shape == (2, 3, 8, 8)
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for b in range(2):
        windows = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(padded[b, :, dy : dy + 8, dx : dx + 8].to(torch.uint8), cropped[b])
        ]
        assert windows, f"image {b} is not a window of its padded original"


def test_random_crop_with_zero_padding_is_identity() -> None:
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(random_crop(images, 0, torch.Generator()), images)


def test_random_flip_mirrors_some_images_and_keeps_the_rest() -> None:
    images = torch.randint(0, 256, (64, 3, 4, 4), dtype=torch.uint8)
    flipped = random_flip(images, torch.Generator().manual_seed(0))
    mirrored = [torch.equal(f, i.flip(-1)) for f, i in zip(flipped, images, strict=True)]
    kept = [torch.equal(f, i) for f, i in zip(flipped, images, strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert 10 < sum(mirrored) < 54  # about half, not none or all


# --- the loop --------------------------------------------------------------------------------


def test_loss_decreases_on_a_learnable_task(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, epochs=3)
    summary = fit(run, tiny_model(run))
    history = summary["history"]
    assert len(history) == 3
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > 0.3  # chance is 0.1


def test_resnet_trains_too(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, epochs=1, model="resnet")
    assert fit(run, tiny_model(run))["epochs"] == 1


def test_fast_learns_with_its_recipe_and_fit_sets_its_whitening(tmp_path: Path) -> None:
    run = tiny_run(
        tmp_path,
        epochs=3,
        model="fast",
        optimizer="sgd",
        lr=0.2,
        schedule="linear",
        warmup=0.2,
        label_smoothing=0.2,
        lookahead=0.5,
    )
    model = tiny_model(run)
    assert not model.net.whiten.weight.any()  # zero until it has seen data
    summary = fit(run, model)
    assert model.net.whiten.weight.any() and not model.net.whiten.weight.requires_grad
    assert summary["history"][-1]["val_accuracy"] > 0.3 and summary["precision"] == "fp32"


# --- precision, schedules, layout ------------------------------------------------------------


def test_precision_is_bf16_only_where_it_is_native(monkeypatch) -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: False)
    assert [inference.resolve_precision(p, cpu) for p in ("auto", "fp32", "bf16")] == ["fp32", "fp32", "fp32"]
    assert "neither AVX-512-BF16 nor AMX" in inference.precision_note("bf16", cpu)
    assert inference.precision_note("fp32", cpu) is None and inference.precision_note("auto", cpu) is None
    assert [inference.resolve_precision(p, cuda) for p in ("auto", "fp32", "bf16")] == ["bf16", "fp32", "bf16"]
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: True)
    assert [inference.resolve_precision(p, cpu) for p in ("auto", "fp32", "bf16")] == ["fp32", "fp32", "bf16"]
    with inference.autocast_for(cpu, "bf16"):
        assert torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3)).dtype == torch.bfloat16
    with inference.autocast_for(cpu, "auto"):
        assert torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3)).dtype == torch.float32


def test_precision_is_part_of_the_resume_fingerprint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: True)
    run = tiny_run(tmp_path, epochs=1, precision="bf16")
    assert run.fingerprint()["precision"] == "bf16"
    fit(run, tiny_model(run))
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: False)  # same params, another CPU
    again = tiny_run(tmp_path, epochs=1, resume=True, precision="bf16")
    with pytest.raises(PipelineError, match=r"precision: bf16 -> fp32"):
        fit(again, tiny_model(again))


def test_linear_schedule_warms_up_then_decays_to_zero() -> None:
    factor = loop.LinearWarmupDecay(total_steps=10, warmup=0.2)
    assert [factor(s) for s in range(10)] == pytest.approx([0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])
    assert factor(10) == 0.0


def test_inputs_reach_the_model_channels_last() -> None:
    from visionlab.evaluation.inference import to_float

    images = to_float(torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8))
    assert images.is_contiguous(memory_format=torch.channels_last) and images.dtype == torch.float32
    assert float(images.max()) <= 1.0


def test_resnet_strided_shortcut_equals_a_strided_1x1_conv_and_survives_channels_last() -> None:
    from visionlab.models.resnet import PointwiseConv

    torch.manual_seed(0)
    ours = PointwiseConv(4, 8, stride=2)
    reference = torch.nn.Conv2d(4, 8, 1, 2, bias=False)
    reference.load_state_dict(ours.state_dict())
    for size in (15, 16):
        x = torch.randn(3, 4, size, size).contiguous(memory_format=torch.channels_last).requires_grad_(True)
        torch.testing.assert_close(ours(x), reference(x.detach().contiguous()))
        ours(x).sum().backward()  # the strided kernel's backward corrupted the heap here (torch 2.13, AVX2)


# --- the fast model --------------------------------------------------------------------------


def test_patch_whitening_decorrelates_2x2_patches() -> None:
    from visionlab.models.fast import PatchWhitening

    torch.manual_seed(0)
    mixing = torch.tensor([[1.0, 0.8, 0.3], [0.0, 1.0, 0.9], [0.2, 0.0, 1.0]])
    images = torch.einsum("oc,nchw->nohw", mixing, torch.randn(64, 3, 16, 16)) + 3.0  # correlated channels
    whiten = PatchWhitening(eps=1e-8)
    whiten.fit(images)
    with torch.no_grad():
        out = torch.nn.functional.conv2d(images, whiten.weight[:12])  # the 12 filters before their negatives
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    covariance = torch.cov(flat)
    torch.testing.assert_close(covariance, torch.eye(12), atol=2e-3, rtol=0)


def test_fast_averages_test_time_views_in_eval_mode_only() -> None:
    from visionlab.models.fast import FastNet

    torch.manual_seed(0)
    net = FastNet(widths=[8, 8, 8], tta="flip")
    net.init_from_data(torch.randn(16, 3, 32, 32))
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        net.train()
        torch.testing.assert_close(net(x), net.logits(x))
        net.eval()
        torch.testing.assert_close(net(x), (net.logits(x) + net.logits(x.flip(-1))) / 2)
        net.tta = "flip_shift"
        assert net(x).shape == (5, 10)
        net.tta = "none"
        torch.testing.assert_close(net(x), net.logits(x))


def test_fast_convs_start_as_identity_and_bn_scales_are_frozen() -> None:
    from visionlab.models.fast import FastNet

    net = FastNet(widths=[8, 16, 16])
    conv = net.layers[1][4]  # the second conv of group 2: 16 -> 16 channels
    x = torch.randn(1, 16, 5, 5)
    torch.testing.assert_close(conv(x), x)
    frozen = [name for name, p in net.named_parameters() if not p.requires_grad]
    assert "whiten.weight" in frozen and all(n.endswith("weight") for n in frozen)
    assert sum(".weight" in n and n != "whiten.weight" for n in frozen) == 6  # the six BatchNorm scales


RESUME_CASES = {
    "cnn-onecycle": {"model": "cnn", "schedule": "onecycle"},
    "fast-linear-lookahead": {"model": "fast", "schedule": "linear", "optimizer": "sgd", "lookahead": 0.5},
    "cnn-bf16": {"model": "cnn", "schedule": "onecycle", "precision": "bf16"},
}


@pytest.mark.parametrize("case", RESUME_CASES.values(), ids=RESUME_CASES.keys())
def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path: Path, monkeypatch, case) -> None:
    # bf16 autocast on the CPU is exercised even where it is only emulated (it is slow, not wrong)
    monkeypatch.setattr(inference, "cpu_has_native_bf16", lambda: True)
    if case.get("precision") == "bf16":
        assert inference.resolve_precision("bf16", torch.device("cpu")) == "bf16"
    whole_run = tiny_run(tmp_path / "whole", epochs=3, **case)
    whole_model = tiny_model(whole_run)
    whole = fit(whole_run, whole_model)

    saves = []
    real_save = loop.save_torch

    def crash_after_second_checkpoint(path, state):
        real_save(path, state)
        saves.append(path)
        if len(saves) == 2:
            raise KeyboardInterrupt  # the machine died right after epoch 2's checkpoint

    monkeypatch.setattr(loop, "save_torch", crash_after_second_checkpoint)
    crashed_run = tiny_run(tmp_path / "crashed", epochs=3, **case)
    with pytest.raises(KeyboardInterrupt):
        fit(crashed_run, tiny_model(crashed_run))
    monkeypatch.setattr(loop, "save_torch", real_save)

    resumed_run = tiny_run(tmp_path / "crashed", epochs=3, resume=True, **case)
    resumed_model = tiny_model(resumed_run)
    resumed = fit(resumed_run, resumed_model)
    assert resumed["history"] == whole["history"]
    for key, value in whole_model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key


def test_resume_refuses_a_checkpoint_of_another_architecture(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, epochs=1)
    fit(run, tiny_model(run))
    other = tiny_run(tmp_path, epochs=1, resume=True, model="resnet")
    with pytest.raises(PipelineError, match="holds a cnn model, not resnet"):
        fit(other, tiny_model(other))


def test_resume_refuses_a_checkpoint_with_other_params(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, epochs=1)
    fit(run, tiny_model(run))
    other = tiny_run(tmp_path, epochs=1, resume=True)
    other.params = replace(other.params, lr=0.5)
    with pytest.raises(PipelineError, match=r"other params \(train\.lr: 0\.01 -> 0\.5\)"):
        fit(other, tiny_model(other))


def test_non_finite_loss_stops_at_once_naming_epoch_and_step_and_keeps_last_checkpoint(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, epochs=3)
    model = tiny_model(run)
    calls = {"n": 0}
    real_forward = model.forward

    def poisoned_forward(x):
        calls["n"] += 1
        out = real_forward(x)
        # training steps 1-4 are epoch 1 (128 images / 32); validation adds 1 call; then epoch 2
        return out * float("nan") if calls["n"] == 7 else out

    model.forward = poisoned_forward
    with pytest.raises(PipelineError, match=r"non-finite loss at epoch 2, step 2: stopped; checkpoint of epoch 1"):
        fit(run, model)
    state = load_resume_checkpoint(run.checkpoint_path, run.fingerprint(), torch.device("cpu"))
    assert len(state["history"]) == 1
    assert all(torch.isfinite(v).all() for v in state["model_state"].values() if v.is_floating_point())


# --- the stages ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage_inputs(tmp_path_factory) -> Path:
    """A converted tiny dataset and stats, in the layout the download and stats stages write."""
    root = tmp_path_factory.mktemp("stages")
    images, labels = learnable_images(300, seed=2)
    np.savez(
        root / "cifar10.npz",
        train_images=images[:240],
        train_labels=labels[:240],
        test_images=images[240:],
        test_labels=labels[240:],
        class_names=np.array(CLASSES),
    )
    (root / "stats.json").write_text(json.dumps({"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}))
    params = {
        "seed": 0,
        "device": "cpu",
        "run": {"resume": False, "processes": 1},  # the sections the stages require
        "data": {"val_fraction": 0.1},
        "train": {"epochs": 2, "batch_size": 32, "lr": 0.01},
        "cnn": TINY_CNN,
        "resnet": TINY_RESNET,
        "fast": {"model": TINY_FAST, "train": {"epochs": 1, "batch_size": 32}},
        "evaluate": {"misclassified": 8},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def run_stage(script: str, *args: str) -> subprocess.CompletedProcess:
    module = "stages." + script.removesuffix(".py")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def train_and_evaluate(inputs: Path, out: Path, model: str = "cnn") -> subprocess.CompletedProcess:
    trained = run_stage(
        "train.py",
        "--model",
        model,
        "--params",
        str(inputs / "params.yaml"),
        "--data",
        str(inputs / "cifar10.npz"),
        "--stats",
        str(inputs / "stats.json"),
        "--out",
        str(out / f"{model}.pt"),
        "--resume-checkpoint",
        str(out / "ckpt.pt"),
        "--live",
        str(out / "live"),
        "--info",
        str(out / "train_info.json"),
    )
    assert trained.returncode == 0, trained.stderr
    return run_stage(
        "evaluate.py",
        "--model",
        model,
        "--params",
        str(inputs / "params.yaml"),
        "--data",
        str(inputs / "cifar10.npz"),
        "--checkpoint",
        str(out / f"{model}.pt"),
        "--metrics",
        str(out / "metrics.json"),
        "--info",
        str(out / "info.json"),
        "--predictions",
        str(out / "predictions.csv"),
        "--per-class",
        str(out / "per_class.csv"),
        "--figures",
        str(out / "figures"),
    )


@pytest.fixture(scope="module")
def trained_once(stage_inputs: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    evaluated = train_and_evaluate(stage_inputs, out)
    assert evaluated.returncode == 0, evaluated.stderr
    return out


def test_stages_write_metrics_with_the_documented_schema(trained_once: Path) -> None:
    tmp_path = trained_once
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # The numbers to compare, and nothing else: the last epoch's are DVCLive's, the rest is in the info file.
    assert set(metrics) == {"test"} and set(metrics["test"]) == {"accuracy", "loss"}
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["test"]["loss"] > 0
    load_record(EvalMetrics, tmp_path / "metrics.json")
    info = load_record(EvalInfo, tmp_path / "info.json")
    assert info.epochs == 2 and info.device == "cpu" and info.config == TINY_CNN and info.class_names == CLASSES
    assert info.data == DataCounts(train_images=216, val_images=24, test_images=60, subset=True)
    per_class = (tmp_path / "per_class.csv").read_text().splitlines()
    assert per_class[0] == "class,accuracy" and [r.split(",")[0] for r in per_class[1:]] == CLASSES
    assert all(0 <= float(r.split(",")[1]) <= 1 for r in per_class[1:])
    # The training time is the train stage's metric, in DVCLive's summary beside the last epoch's values;
    # the details are in its side file.
    summary = load_record(TrainingSummary, tmp_path / "live/metrics.json")
    assert summary.timing.train_seconds > 0
    assert set(json.loads((tmp_path / "live/metrics.json").read_text())["timing"]) == {"train_seconds"}
    timing = load_record(TrainingInfo, tmp_path / "train_info.json")
    assert timing.wall_seconds >= summary.timing.train_seconds and (timing.precision, timing.processes) == ("fp32", 1)
    assert timing.images_per_second == pytest.approx(2 * (216 // 32) * 32 / summary.timing.train_seconds, rel=1e-6)
    assert summary.step == 2 and 0 <= summary.val.accuracy <= 1 and summary.train.loss > 0
    # DVCLive curves: one row per epoch, steps numbered by epoch
    for split in ("train", "val"):
        rows = (tmp_path / "live/plots/metrics" / split / "accuracy.tsv").read_text().splitlines()
        assert rows[0].split("\t") == ["step", "accuracy"] and [r.split("\t")[0] for r in rows[1:]] == ["1", "2"]
    predictions = (tmp_path / "predictions.csv").read_text().splitlines()
    assert predictions[0] == "actual,predicted" and len(predictions) == 61
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "confusion.png",
        "curves.png",
        "misclassified.png",
    ]


def test_train_stage_trains_fast_with_the_fast_recipe(stage_inputs: Path, tmp_path: Path) -> None:
    evaluated = train_and_evaluate(stage_inputs, tmp_path, model="fast")
    assert evaluated.returncode == 0, evaluated.stderr
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["model"] == "fast" and info["config"] == TINY_FAST
    assert info["epochs"] == 1  # fast.train.epochs, not train.epochs (2)
    saved = torch.load(tmp_path / "fast.pt", weights_only=True)
    assert saved["summary"]["train_params"]["optimizer"] == "sgd"  # fast's recipe, not the seed's nadam
    assert saved["state_dict"]["whiten.weight"].any()  # whitening set from the training images


@pytest.mark.slow  # two whole train stages (the fast suite's budget)
def test_two_runs_with_the_same_params_write_the_same_metrics(
    stage_inputs: Path, trained_once: Path, tmp_path: Path
) -> None:
    assert train_and_evaluate(stage_inputs, tmp_path).returncode == 0
    for name in ("metrics.json", "info.json", "per_class.csv"):
        assert (trained_once / name).read_text() == (tmp_path / name).read_text(), name
    # The model file holds results only (no wall-clock time): the same training, the same bytes,
    # so a forced retrain reruns nothing downstream.
    assert (trained_once / "cnn.pt").read_bytes() == (tmp_path / "cnn.pt").read_bytes()
    assert (trained_once / "predictions.csv").read_text() == (tmp_path / "predictions.csv").read_text()


@pytest.mark.parametrize(
    ("stats_text", "message"),
    [
        (None, "stats.json not found: run the stats stage first"),
        ("{not json", "stats.json is not valid JSON"),
        ('{"mean": [0.5, 0.5]}', 'must hold {"mean": [r, g, b], "std": [r, g, b]}'),
    ],
)
def test_train_refuses_missing_or_malformed_stats(stage_inputs: Path, tmp_path: Path, stats_text, message) -> None:
    stats = tmp_path / "stats.json"
    if stats_text is not None:
        stats.write_text(stats_text)
    out = tmp_path / "out"
    result = run_stage(
        "train.py",
        "--model",
        "cnn",
        "--params",
        str(stage_inputs / "params.yaml"),
        "--data",
        str(stage_inputs / "cifar10.npz"),
        "--stats",
        str(stats),
        "--out",
        str(out / "cnn.pt"),
        "--resume-checkpoint",
        str(out / "ckpt.pt"),
        "--live",
        str(out / "live"),
        "--info",
        str(out / "train_info.json"),
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert not out.exists()


def test_train_refuses_an_unknown_model_listing_the_choices(stage_inputs: Path, tmp_path: Path) -> None:
    result = run_stage(
        "train.py",
        "--model",
        "vgg",
        "--params",
        str(stage_inputs / "params.yaml"),
        "--data",
        str(stage_inputs / "cifar10.npz"),
        "--stats",
        str(stage_inputs / "stats.json"),
        "--out",
        str(tmp_path / "m.pt"),
        "--resume-checkpoint",
        str(tmp_path / "c.pt"),
        "--live",
        str(tmp_path / "live"),
        "--info",
        str(tmp_path / "train_info.json"),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown model 'vgg'; choices: cnn, resnet, fast"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("model", ["resnet", "fast"])
def test_benchmark_prints_both_loops_per_precision_and_the_old_baseline(model: str, tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text(committed_params())  # the recipes as shipped, not a smoke run's
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.benchmark",
            "--model",
            model,
            "--width",
            "4",
            "--batch-size",
            "8",
            "--steps",
            "2",
            "--rounds",
            "1",
            "--device",
            "cpu",
            "--params",
            str(tmp_path / "params.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "MFLOP per image" in lines[0] and lines[1].split()[:3] == ["precision", "loop", "images/s"]
    rows = {}
    for line in lines[2:]:
        precision, rest = line[:10].strip(), line[10:]
        rows[(precision, rest[:30].strip())] = rest[30:].split()
    old = rows[("fp32", "bare, NCHW (old baseline)")]
    project, bare = rows[("fp32", "project (train_epoch), chl")], rows[("fp32", "bare, channels_last")]
    rate = lambda cells: float(cells[0].replace(",", ""))  # noqa: E731
    assert rate(old) > 0 and rate(project) > 0 and rate(bare) > 0
    # The rates are printed rounded (to 0.05 under 1,000 images/s, a few per cent on a loaded CPU): the
    # ratios, computed unrounded, match the printed rates' ratios to that rounding.
    rounding = lambda *cells: 0.01 + sum(0.05 / rate(c) for c in cells)  # noqa: E731
    assert float(project[1]) == pytest.approx(rate(project) / rate(bare), rel=rounding(project, bare), abs=0.002)
    assert float(project[-1]) == pytest.approx(rate(project) / rate(old), rel=rounding(project, old), abs=0.01)
    bf16 = [line for line in lines if line.startswith("bf16")]
    if inference.cpu_has_native_bf16():
        assert len(bf16) == 2 and all(rate(line[40:].split()) > 0 for line in bf16)
    else:  # said, not silently timed as fp32
        assert len(bf16) == 1 and "skipped: not native" in bf16[0]


@pytest.mark.slow
def test_compare_measures_test_accuracy_per_epoch_and_reruns_the_last_model_in_the_first_ones_time(
    stage_inputs: Path, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "tools.compare", "--params", str(stage_inputs / "params.yaml")]
    command += ["--data", str(stage_inputs / "cifar10.npz"), "--stats", str(stage_inputs / "stats.json")]
    command += ["--models", "cnn", "fast", "--equal-time", "--threads", "1", "--json", str(tmp_path / "runs.json")]
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "216 train / 60 test images" in result.stdout.splitlines()[0]  # the test split, not validation
    cnn, fast, rescaled = json.loads((tmp_path / "runs.json").read_text())["runs"]
    assert (cnn["model"], cnn["epochs"], fast["model"], fast["epochs"]) == ("cnn", 2, "fast", 1)  # each its recipe
    assert rescaled["model"] == "fast" and rescaled["equal_time_run"]
    assert rescaled["epochs"] == max(1, int(fast["epochs"] * cnn["wall_seconds"] / fast["wall_seconds"]))
    for run in (cnn, fast, rescaled):
        times = [t for t, _ in run["curve"]]
        assert len(times) == run["epochs"] and times == sorted(times) and times[-1] <= run["wall_seconds"]
        assert all(0 <= accuracy <= 1 for _, accuracy in run["curve"]) and run["test_accuracy"] == run["curve"][-1][1]
    # At the shortest run's wall time, that run has finished: its line shows its final test accuracy.
    shortest = min((cnn, fast, rescaled), key=lambda run: run["wall_seconds"])
    at = result.stdout.split("test accuracy at", 1)[1].splitlines()[1:]
    assert f"  {shortest['model']:8} {shortest['epochs']:3d} epochs: {shortest['test_accuracy']:.4f}" in at


def test_resume_refuses_a_checkpoint_trained_with_other_normalisation(stage_inputs: Path, tmp_path: Path) -> None:
    params = yaml.safe_load((stage_inputs / "params.yaml").read_text())
    params["train"]["epochs"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}))

    def train() -> subprocess.CompletedProcess:
        return run_stage(
            "train.py",
            "--model",
            "cnn",
            "--params",
            str(tmp_path / "params.yaml"),
            "--data",
            str(stage_inputs / "cifar10.npz"),
            "--stats",
            str(stats),
            "--out",
            str(tmp_path / "cnn.pt"),
            "--resume-checkpoint",
            str(tmp_path / "ckpt.pt"),
            "--live",
            str(tmp_path / "live"),
            "--info",
            str(tmp_path / "train_info.json"),
        )

    assert train().returncode == 0
    params["run"]["resume"] = True
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stats.write_text(json.dumps({"mean": [0.4, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}))
    (tmp_path / "cnn.pt").unlink()  # DVC removes a stage's outs before running it
    (tmp_path / "train_info.json").unlink()
    shutil.rmtree(tmp_path / "live")
    refused = train()
    assert refused.returncode == 1
    assert "cannot resume from" in refused.stderr and "mean: [0.5, 0.5, 0.5] -> [0.4, 0.5, 0.5]" in refused.stderr
    assert not (tmp_path / "cnn.pt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt", "params.yaml", "stats.json"]


# --- several processes (torchrun) --------------------------------------------------------------


def train_stage_args(inputs: Path, out: Path, model: str = "cnn") -> list[str]:
    return [
        *("--model", model, "--params", str(inputs / "params.yaml")),
        *("--data", str(inputs / "cifar10.npz"), "--stats", str(inputs / "stats.json")),
        *("--out", str(out / f"{model}.pt"), "--resume-checkpoint", str(out / "ckpt.pt"), "--live", str(out / "live")),
        *("--info", str(out / "train_info.json")),
    ]


def inputs_with(stage_inputs: Path, folder: Path, run: dict | None = None, **train) -> Path:
    """stage_inputs' data and stats with other ``run`` and ``train`` params."""
    folder.mkdir()
    params = yaml.safe_load((stage_inputs / "params.yaml").read_text())
    params["run"].update(run or {})
    params["train"].update(train)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    for name in ("cifar10.npz", "stats.json"):
        (folder / name).symlink_to(stage_inputs / name)
    return folder


@pytest.mark.slow  # end to end under torchrun: several processes (the fast suite's budget)
def test_train_stage_with_two_processes_runs_under_torchrun_and_writes_what_one_process_writes(
    stage_inputs: Path, trained_once: Path, tmp_path: Path
) -> None:
    from visionlab.models.trained import load_trained

    inputs = inputs_with(stage_inputs, tmp_path / "inputs", {"processes": 2})
    out = tmp_path / "out"
    trained = run_stage("train.py", *train_stage_args(inputs, out))
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert trained.stdout.count("training cnn on cpu") == 1 and "rank 0 of 2" in trained.stdout  # rank 0 alone
    assert trained.stdout.count("epoch 2/2") == 1
    one, two = load_trained(trained_once / "cnn.pt"), load_trained(out / "cnn.pt")  # the plain net, loadable
    assert two.summary.keys() == one.summary.keys()
    # The same net to rounding (tests/test_distributed.py holds it to 1e-5). Here NAdam amplifies float32
    # rounding along the directions BatchNorm makes flat: one process on 1 thread and on 2 differs by
    # 3e-5 in the first conv too, so the whole net is compared, to 1e-4.
    keys = [key for key, value in one.model.state_dict().items() if value.is_floating_point()]
    a, b = (torch.cat([trained.model.state_dict()[key].flatten() for key in keys]) for trained in (one, two))
    assert float((b - a).norm() / a.norm()) < 1e-4
    for mine, theirs in zip(two.summary["history"], one.summary["history"], strict=True):
        assert mine == pytest.approx(theirs, rel=1e-4, abs=1e-6)
    summary = load_record(TrainingSummary, out / "live/metrics.json")  # DVCLive's summary, as one process writes it
    assert set(json.loads((out / "live/metrics.json").read_text())) == set(
        json.loads((trained_once / "live/metrics.json").read_text())
    )
    assert summary.step == 2 and summary.val.accuracy == pytest.approx(one.summary["history"][-1]["val_accuracy"])
    for split in ("train", "val"):
        rows = (out / "live/plots/metrics" / split / "accuracy.tsv").read_text().splitlines()
        assert rows[0].split("\t") == ["step", "accuracy"] and [r.split("\t")[0] for r in rows[1:]] == ["1", "2"]
    timing = load_record(TrainingInfo, out / "train_info.json")
    assert (timing.precision, timing.processes) == ("fp32", 2)
    assert sorted(p.name for p in out.iterdir()) == ["ckpt.pt", "cnn.pt", "live", "train_info.json"]


def test_train_stage_refuses_a_batch_that_does_not_split_among_the_processes(
    stage_inputs: Path, tmp_path: Path
) -> None:
    inputs = inputs_with(stage_inputs, tmp_path / "inputs", {"processes": 3})
    refused = run_stage("train.py", *train_stage_args(inputs, tmp_path / "out"))
    assert refused.returncode == 1 and refused.stderr.strip().splitlines() == [
        "error: batch size 32 does not split evenly among 3 processes: "
        "make the recipe's batch_size a multiple of run.processes"
    ]
    assert not (tmp_path / "out").exists()


def test_train_stage_refuses_a_batch_larger_than_the_training_split(stage_inputs: Path, tmp_path: Path) -> None:
    inputs = inputs_with(stage_inputs, tmp_path / "inputs", batch_size=8192)  # the schema's most
    refused = run_stage("train.py", *train_stage_args(inputs, tmp_path / "out"))
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and len(lines) == 1, refused.stderr[-3000:]
    message = r"error: train.batch_size=8192 is larger than the \d+ training images: lower it"
    assert re.fullmatch(message, lines[0])
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # end to end under torchrun: several processes (the fast suite's budget)
def test_a_refusal_on_every_rank_is_still_one_line(stage_inputs: Path, tmp_path: Path) -> None:
    # Each rank refuses the foreign resume checkpoint; the user sees that line once, not torchrun's report.
    inputs = inputs_with(stage_inputs, tmp_path / "inputs", {"processes": 2, "resume": True})
    out = tmp_path / "out"
    out.mkdir()
    (out / "ckpt.pt").write_bytes(b"not a checkpoint")
    refused = run_stage("train.py", *train_stage_args(inputs, out))
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 1 and len(lines) == 1, refused.stderr[-3000:]
    assert lines[0].startswith(f"error: cannot resume from {out / 'ckpt.pt'}")
    assert sorted(p.name for p in out.iterdir()) == ["ckpt.pt"]


def _processes_naming(text: str) -> list[int]:
    """Pids of the live processes whose command line contains ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # gone meanwhile
    return found


@pytest.mark.slow  # end to end under torchrun: several processes (the fast suite's budget)
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the ranks")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_an_interrupted_launch_leaves_no_rank_running(stage_inputs: Path, tmp_path: Path, stop: int) -> None:
    # Ctrl-C (or DVC stopping the stage) reaches torchrun and both ranks; after kill -9 of the stage
    # (or an out-of-memory kill) the kernel ends them (PR_SET_PDEATHSIG): none trains on and writes outputs.
    inputs = inputs_with(stage_inputs, tmp_path / "inputs", {"processes": 2}, epochs=500)
    out = tmp_path / "out"
    launch = subprocess.Popen(
        [sys.executable, "-m", "stages.train", *train_stage_args(inputs, out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert launch.stdout is not None
    for line in launch.stdout:  # training has started on both ranks
        if line.startswith("epoch 1/500"):
            break
    ranks = [pid for pid in _processes_naming(str(out)) if pid != launch.pid]
    assert len(ranks) >= 3  # torchrun and its two ranks
    launch.send_signal(stop)
    launch.communicate(timeout=60)
    assert launch.returncode != 0
    deadline = time.monotonic() + 10
    while _processes_naming(str(out)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_naming(str(out)) == []
    assert not (out / "cnn.pt").exists() and not (out / "train_info.json").exists()
