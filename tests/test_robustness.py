"""Beyond accuracy: ECE and temperature scaling, the corruptions, and the calibrate / corrupt / corruption
stages on tiny generated data, with their one-line refusals (nothing written when they refuse)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from visionlab.calibration.calibration import ece, fit_temperature, nll, reliability_bins
from visionlab.calibration.record import CalibrationInfo, CalibrationMetrics
from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.record import load_record
from visionlab.corruption.corruptions import CORRUPTIONS, corrupt, image_rngs
from visionlab.corruption.record import CorruptedSet, CorruptionInfo, CorruptionMetrics
from visionlab.models.registry import build_model

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TINY_CNN = {"channels": [4, 4, 4, 4], "kernel_sizes": [3, 3, 3, 3], "dropout": 0.0, "fc_widths": [8, 8, 8]}


# --- calibration --------------------------------------------------------------------------------------


def predictor(groups: list[tuple[float, int, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities and labels: per group (top-1 probability p, images, of them right), each image puts p on
    class 0 and (1 - p) / 9 on every other class; a right one has label 0, a wrong one label 1."""
    probs, labels = [], []
    for p, n, right in groups:
        row = torch.full((10,), (1 - p) / 9, dtype=torch.float64)
        row[0] = p
        probs += [row] * n
        labels += [0] * right + [1] * (n - right)
    return torch.stack(probs), torch.tensor(labels)


def test_ece_of_a_perfectly_calibrated_predictor_is_zero() -> None:
    # confidence 0.2 and 20 % right, 0.5 and half right, 0.9 and 90 % right: every bin's accuracy is its confidence
    probs, labels = predictor([(0.2, 20, 4), (0.5, 10, 5), (0.9, 10, 9)])
    assert ece(probs, labels) == pytest.approx(0, abs=1e-6)  # torchmetrics keeps float32


def test_ece_of_a_miscalibrated_predictor_is_worked_out_by_hand() -> None:
    # 10 images at confidence 0.9, 5 right: |0.5 - 0.9| = 0.4, weight 10/20
    # 10 images at confidence 0.3, 6 right: |0.6 - 0.3| = 0.3, weight 10/20
    # ECE = 0.5 * 0.4 + 0.5 * 0.3 = 0.35
    probs, labels = predictor([(0.9, 10, 5), (0.3, 10, 6)])
    assert ece(probs, labels) == pytest.approx(0.35, abs=1e-6)
    bins = reliability_bins(probs, labels)
    assert [(b.index, b.count, round(b.accuracy, 9), round(b.confidence, 9)) for b in bins] == [
        (4, 10, 0.6, 0.3),  # 0.3 lies in [4/15, 5/15)
        (13, 10, 0.5, 0.9),  # 0.9 in [13/15, 14/15)
    ]


def test_the_reliability_bins_give_torchmetrics_ece_back() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(500, 10, generator=generator, dtype=torch.float64) * 3
    labels = torch.randint(0, 10, (500,), generator=generator)
    probs = logits.softmax(1)
    bins = reliability_bins(probs, labels)
    assert sum(b.count for b in bins) == 500
    by_hand = sum(b.count / 500 * abs(b.accuracy - b.confidence) for b in bins)
    assert by_hand == pytest.approx(ece(probs, labels), abs=1e-6)


def test_temperature_scaling_finds_the_temperature_that_miscalibrated_calibrated_logits() -> None:
    # Labels drawn from softmax(z) make z calibrated, so T0 * z is calibrated again at T = T0 (the NLL is a proper
    # score): over- (T0 = 3) and underconfident (T0 = 0.5). 2,000 images: the fitted 1 / T has a standard error of
    # 1 / sqrt(n * mean Var_y(z_y)) = 0.022 here, so 10 % is about 4.5 of them.
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(2000, 10, generator=generator, dtype=torch.float64) * 2
    labels = torch.multinomial(z.softmax(1), 1, generator=generator)[:, 0]
    for t0 in (0.5, 3.0):
        t = fit_temperature(t0 * z, labels)
        assert t == pytest.approx(t0, rel=0.1)
        assert nll(t0 * z, labels, t) < min(nll(t0 * z, labels, t * 1.01), nll(t0 * z, labels, t / 1.01))  # a minimum


def test_separable_logits_stop_at_the_smallest_temperature_not_beyond() -> None:
    labels = torch.arange(10).repeat(5)
    logits = F.one_hot(labels, 10).double()  # always right: the NLL falls as T falls
    t = fit_temperature(logits, labels)
    assert 0.009 < t < 0.2 and nll(logits, labels, t) < nll(logits, labels)


def test_calibration_refuses_empty_logits() -> None:
    with pytest.raises(PipelineError, match="N >= 1"):
        fit_temperature(torch.zeros(0, 10), torch.zeros(0, dtype=torch.long))


# --- corruptions --------------------------------------------------------------------------------------


def smooth_images(n: int = 8, seed: int = 0) -> np.ndarray:
    """Smooth colour fields with a bright square each (edges for the blurs), uint8 (n, 3, 32, 32)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.uniform(0, 1, (n, 3, 4, 4)))
    x = 40 + 170 * F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=True).numpy()
    for image in x:
        row, col = rng.integers(4, 20, 2)
        image[:, row : row + 8, col : col + 8] = 240
    return np.rint(x).astype(np.uint8)


def change(name: str, severity: int, images: np.ndarray, seed: int = 0) -> float:
    out = corrupt(images, name, severity, image_rngs(seed, name, range(len(images))))
    return float(np.abs(out.astype(np.float64) - images).mean())


# Hendrycks & Dietterich's CIFAR constants do not order these three by pixel change (checked below instead):
# glass blur's sigma 0.4 smooths its shuffle's copies back, so severity 5 (0.4, two passes) changes less than 4
# (0.25, two passes); motion blur's (6, 2) -> (8, 2) adds taps 13 to 16, of weight e^-169/8 to e^-256/8 (under
# 1e-9); elastic's affine jitter falls from 2.56 to 0.96 pixels while its smooth displacement grows.
NOT_MONOTONE = {"glass_blur", "motion_blur", "elastic_transform"}


@pytest.mark.parametrize("name", sorted(set(CORRUPTIONS) - NOT_MONOTONE))
def test_each_severity_changes_the_image_more(name: str) -> None:
    images = smooth_images()
    changes = [change(name, s, images) for s in range(1, 6)]
    assert changes[0] > 0 and all(a < b for a, b in zip(changes, changes[1:], strict=False)), changes


def test_the_three_corruptions_whose_constants_are_not_ordered_by_pixel_change() -> None:
    images = smooth_images()
    glass = [change("glass_blur", s, images) for s in range(1, 6)]
    assert glass[3] > glass[1] and glass[4] > glass[2] and glass[3] > glass[0]  # two passes move more than one
    assert glass[4] < glass[3]
    motion = [change("motion_blur", s, images) for s in range(1, 6)]
    assert motion[0] < motion[1] < motion[2] == motion[3] < motion[4], motion  # the same images at 3 and 4
    elastic = [change("elastic_transform", s, images) for s in range(1, 6)]
    assert min(elastic) > 0 and all(a > b for a, b in zip(elastic, elastic[1:], strict=False)), elastic


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_a_corruption_keeps_shape_and_type_and_is_seeded(name: str) -> None:
    images = smooth_images(6)
    rngs = lambda seed: image_rngs(seed, name, range(6))  # noqa: E731
    out = corrupt(images, name, 3, rngs(0))
    assert out.shape == images.shape and out.dtype == np.uint8
    assert np.array_equal(out, corrupt(images, name, 3, rngs(0)))  # the same seed: the same images
    halves = [corrupt(images[i : i + 3], name, 3, image_rngs(0, name, range(i, i + 3))) for i in (0, 3)]
    assert np.array_equal(out, np.concatenate(halves))  # the same whatever the batch
    if name not in ("defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate", "jpeg_compression"):
        assert not np.array_equal(out, corrupt(images, name, 3, rngs(1)))  # random ones follow the seed


def test_glass_blur_copies_a_neighbour_like_make_cifar_cs_swap_on_views() -> None:
    # Their `x[h, w], x[h', w'] = x[h', w'], x[h, w]` on numpy views copies x[h', w'] into x[h, w], then writes that
    # back into x[h', w'] (numpy issue 14428). Severity 1's sigma 0.05 blurs nothing, leaving the shuffle alone:
    # visited from the bottom right, each pixel of rows and columns 2..31 takes its own value or its upper, left or
    # upper-left neighbour's (randint(-1, 1): -1 or 0, evenly), none of them written yet in the pass.
    rows, cols = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    image = np.stack([8 * rows, 8 * cols, 0 * rows]).astype(np.uint8)  # every pixel different
    out = corrupt(np.stack([image] * 4), "glass_blur", 1, image_rngs(0, "glass_blur", range(4))).astype(int)
    dy, dx = out[:, 0] // 8 - rows, out[:, 1] // 8 - cols  # where each pixel's value came from
    assert (out % 8 == 0).all() and not out[:, 2].any()
    assert not (dy[:, :2].any() or dy[:, :, :2].any() or dx[:, :2].any() or dx[:, :, :2].any())
    for offset in ((0, 0), (0, -1), (-1, 0), (-1, -1)):  # 3,600 pixels: a standard error of 0.7 %
        assert np.mean((dy[:, 2:, 2:] == offset[0]) & (dx[:, 2:, 2:] == offset[1])) == pytest.approx(0.25, abs=0.05)
    for one in out:  # a copy duplicates a value and loses another (a swap would keep all 1,024)
        assert np.unique(one.reshape(3, -1), axis=1).shape[1] < 1024


def test_glass_blur_truncates_its_first_blur_to_whole_grey_levels() -> None:
    # A white top row on black, severities 2 and 4 (sigma 0.25, radius 1: weight e^-8 / (1 + 2 e^-8) = 3.35e-4
    # beside the centre). The first blur leaves 255 (1 - 3.35e-4) = 254.91 in row 0 and 0.085 in row 1; their
    # np.uint8 truncates those to 254 and 0, leaving nothing to shuffle below row 0; the second blur gives row 0
    # 254 (1 - 3.35e-4) = 253.91, which we round to 254 (they truncate, 253). Without the truncation: 254.83, so 255.
    image = np.zeros((1, 3, 32, 32), np.uint8)
    image[..., 0, :] = 255
    for severity in (2, 4):
        out = corrupt(image, "glass_blur", severity, image_rngs(0, "glass_blur", [0]))
        assert (out[..., 0, :] == 254).all() and not out[..., 1:, :].any(), severity


def test_black_and_white_images_get_what_make_cifar_c_gives_them() -> None:
    # Black: its HSV value 0 + c is grey c (12.75, 38.25, 51 grey levels at severities 1, 3, 4; they truncate, we
    # round); contrast scales the distance from the image's own mean, 0; fog scales by max / (max + c), 0.
    # White: already at value 1, and its own mean. Impulse noise sets each value to 0 or 1 with probability c, half
    # of them the other extreme: 3.5 % at severity 5 (12,288 values: a standard error of 0.17 %).
    black, white = np.zeros((4, 3, 32, 32), np.uint8), np.full((4, 3, 32, 32), 255, np.uint8)
    out = lambda images, name, s: corrupt(images, name, s, image_rngs(0, name, range(4)))  # noqa: E731
    for severity, grey in ((1, 13), (3, 38), (4, 51)):
        assert (out(black, "brightness", severity) == grey).all()
    for name in ("contrast", "fog"):
        assert not out(black, name, 5).any(), name
    for name in ("brightness", "contrast"):
        assert (out(white, name, 5) == 255).all(), name
    for image, other in ((black, 255), (white, 0)):
        noisy = out(image, "impulse_noise", 5)
        assert ((noisy == image) | (noisy == other)).all() and np.mean(noisy == other) == pytest.approx(0.035, abs=0.01)


@pytest.mark.parametrize("severity", [0, 6, -1, 2.0, True])
def test_a_severity_outside_1_to_5_is_refused(severity: Any) -> None:
    images = smooth_images(1)
    with pytest.raises(PipelineError, match="severity must be an integer in 1..5"):
        corrupt(images, "fog", severity, image_rngs(0, "fog", [0]))


# --- the stages ---------------------------------------------------------------------------------------


class Project:
    """A tiny project: 20 training and 6 test images, a tiny CNN checkpoint, a params file."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.root, self.out, self.monkeypatch, self.capsys = root, root / "out", monkeypatch, capsys
        self.data, self.checkpoint = root / "cifar10.npz", root / "cnn.pt"
        self.write_data(6)
        torch.manual_seed(0)
        summary = {
            "epochs": 1,
            "train_images": 15,
            "val_images": 5,  # 20 training images, val_fraction 0.25
            "subset": True,
            "device": "cpu",
            "history": [{"epoch": 1, "train_loss": 2.3, "train_accuracy": 0.1, "val_loss": 2.3, "val_accuracy": 0.2}],
        }
        torch.save(
            {
                "model": "cnn",
                "config": TINY_CNN,
                "state_dict": build_model("cnn", TINY_CNN).state_dict(),
                "mean": [0.5] * 3,
                "std": [0.25] * 3,
                "class_names": NAMES,
                "summary": summary,
            },
            self.checkpoint,
        )

    def write_data(self, test_images: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        np.savez(
            self.data,
            train_images=smooth_images(20, seed=1),
            train_labels=np.arange(20, dtype=np.int64) % 10,
            test_images=smooth_images(test_images, seed=2 + seed)
            if test_images
            else np.zeros((0, 3, 32, 32), np.uint8),
            test_labels=rng.integers(0, 10, test_images).astype(np.int64),
            class_names=np.array(NAMES),
        )

    def params(self, **corrupt: Any) -> Path:
        raw = {
            "seed": 0,
            "device": "cpu",
            "data": {"val_fraction": 0.25},
            "evaluate": {"batch_size": 4},
            "corrupt": {"images": 4, "batch_size": 3, **corrupt},
        }
        path = self.root / "params.yaml"
        path.write_text(yaml.safe_dump(raw))
        return path

    def args(self, stage: str, out: Path) -> list[Any]:
        data = ["--data", self.data]
        model = ["--model", "cnn", "--checkpoint", self.checkpoint, *data]
        corrupted = ["--corrupted", self.root / "set" / "c.npy", "--index", self.root / "set" / "c.json"]
        return {
            "corrupt": [*data, "--out", self.root / "set" / "c.npy", "--index", self.root / "set" / "c.json"],
            "calibrate": [*model, "--metrics", out / "m.json", "--info", out / "i.json", "--plot", out / "plot",
                          "--figure", out / "reliability.png"],
            "corruption": [*model, *corrupted, "--metrics", out / "m.json", "--info", out / "i.json"],
        }[stage]  # fmt: skip

    def run(self, stage: str, **corrupt: Any) -> tuple[int, str]:
        out = self.out / stage
        argv = [stage, "--params", self.params(**corrupt), *self.args(stage, out)]
        self.monkeypatch.setattr(sys, "argv", [str(a) for a in argv])
        self.capsys.readouterr()
        module = __import__(f"stages.{stage}", fromlist=["main"])
        try:
            run_stage(module.main)
            status = 0
        except SystemExit as exit_:
            status = int(exit_.code)
        return status, self.capsys.readouterr().err

    def refuses(self, stage: str, expected: str, **corrupt: Any) -> None:
        status, err = self.run(stage, **corrupt)
        lines = err.strip().splitlines()
        assert status == 1 and len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
        written = self.root / "set" if stage == "corrupt" else self.out / stage
        assert not written.exists() or not any(written.rglob("*")), "a refused stage left outputs behind"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Project:
    return Project(tmp_path, monkeypatch, capsys)


def test_the_calibrate_stage(project: Project) -> None:
    assert project.run("calibrate") == (0, "")
    out = project.out / "calibrate"
    metrics = json.loads((out / "m.json").read_text())
    assert set(metrics) == {"ece", "ece_temperature", "temperature"}
    load_record(CalibrationMetrics, out / "m.json")
    info = load_record(CalibrationInfo, out / "i.json")
    assert info.validation.images == 5 and info.test.images == 6
    assert info.validation.nll_temperature <= info.validation.nll
    assert sum(b.count for b in info.bins) == sum(b.count for b in info.bins_temperature) == 6
    for name in ("before", "after"):
        rows = (out / "plot" / f"{name}.csv").read_text().splitlines()
        assert rows[0] == "bin,lower,upper,confidence,accuracy,count" and len(rows) > 1
    assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG"


def test_the_corrupt_and_corruption_stages(project: Project) -> None:
    assert project.run("corrupt")[0] == 0
    corrupted = np.load(project.root / "set" / "c.npy")
    index = load_record(CorruptedSet, project.root / "set" / "c.json")
    assert corrupted.shape == (len(CORRUPTIONS), 5, 4, 3, 32, 32) and corrupted.dtype == np.uint8
    assert index.images == 4 and index.corruptions == list(CORRUPTIONS) and index.left_out == ["frost"]
    first = corrupted.copy()
    assert project.run("corrupt", batch_size=4)[0] == 0  # the same set, in other batches
    assert np.array_equal(np.load(project.root / "set" / "c.npy"), first)
    assert project.run("corruption")[0] == 0
    out = project.out / "corruption"
    metrics = json.loads((out / "m.json").read_text())
    assert set(metrics) == {"clean_accuracy", "mean_corruption_accuracy"}
    info = load_record(CorruptionInfo, out / "i.json")
    load_record(CorruptionMetrics, out / "m.json")
    assert [s.name for s in info.corruptions] == list(CORRUPTIONS) and info.images == 4
    table = [a for s in info.corruptions for a in s.accuracy]
    assert len(table) == 70 and metrics["mean_corruption_accuracy"] == pytest.approx(np.mean(table))
    assert info.worst == min(info.corruptions, key=lambda s: s.mean).name


def test_an_empty_test_split_is_refused(project: Project) -> None:
    project.write_data(0)
    project.refuses("corrupt", "the test split is empty")
    project.refuses("calibrate", "the test split is empty")


def test_a_severity_param_outside_1_to_5_is_refused(project: Project) -> None:
    project.refuses(
        "corrupt", "corrupt.severities must be a list whose values are each an integer in 1..5", severities=[1, 6]
    )
    project.refuses("corrupt", "corrupt.severities must be a list without repeats", severities=[2, 2])


def test_a_corrupted_set_that_does_not_match_the_test_split_is_refused(project: Project) -> None:
    assert project.run("corrupt")[0] == 0
    project.write_data(6, seed=1)  # other test images
    project.refuses("corruption", "was not made from these test images")
    project.write_data(6)
    assert project.run("corrupt", severities=[1, 2])[0] == 0
    index = project.root / "set" / "c.json"
    record = json.loads(index.read_text())
    index.write_text(json.dumps({**record, "severities": [1, 2, 3]}))  # the index no longer fits the array
    project.refuses("corruption", "its index says uint8 (14, 3, 4, 3, 32, 32)")
    index.write_text(json.dumps({**record, "severities": [1, 7]}))  # a severity in the index, too
    project.refuses("corruption", "severities[1] must be an integer in 1..5, got 7")


def test_a_validation_split_other_than_the_trained_one_is_refused(project: Project) -> None:
    path = project.params()
    params = yaml.safe_load(path.read_text())
    project.monkeypatch.setattr(project, "params", lambda **_: path)
    path.write_text(yaml.safe_dump({**params, "data": {"val_fraction": 0.5}}))
    project.refuses("calibrate", "the validation split (seed, data.val_fraction) has 10 images")
