"""Hostile inputs (issue #10): each is refused in one line, before it costs memory or time, and
leaves nothing half-written. The files are crafted here, tiny; archive cases are in test_archive.py."""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import http.server
import importlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO_ROOT, committed_params
from PIL import Image
from torchvision.models import alexnet as alexnet_net

import visionlab.core.io
from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.record import load_record, write_record
from visionlab.corruption import corrupted_set
from visionlab.corruption.corrupted_set import open_corrupted, write_corrupted
from visionlab.corruption.corruptions import CORRUPTIONS, corrupt
from visionlab.corruption.record import CorruptedSet
from visionlab.data.cifar import Split
from visionlab.data.colour import ColourStats
from visionlab.evaluation.inference import DeviceSplit
from visionlab.models.alexnet import _load_into as load_into
from visionlab.models.alexnet import load_alexnet
from visionlab.models.normalize import Normalized
from visionlab.models.registry import build_model
from visionlab.models.trained import load_trained
from visionlab.predict.predict import MODES, Prediction, predictions_markdown
from visionlab.predict.record import Top1
from visionlab.probe import images
from visionlab.probe.images import InputImage, folder_photos, read_photo
from visionlab.report.alexnet import included
from visionlab.report.blocks import Table, to_markdown
from visionlab.training.loop import TrainingRun, check_resumable, fit
from visionlab.training.params import RecipeParams

# --- photos --------------------------------------------------------------------------------------


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` RGB pixels but holds no pixel data at all:
    decoding it fails, so a refusal that names the size came from the header alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_a_1x20000_png_is_refused_from_its_header_before_decoding(tmp_path: Path) -> None:
    tall = tmp_path / "tall.png"
    Image.new("RGB", (1, 20000), (200, 100, 50)).save(tall)
    assert tall.stat().st_size < 1000
    with pytest.raises(ValueError, match=r"^1x20000 pixels, an aspect ratio beyond 20:1 \(crop it\)$"):
        read_photo(tall)
    with pytest.raises(ValueError, match="1x20000 pixels"):
        read_photo(png_header_only(tmp_path / "empty.png", 1, 20000))


@pytest.mark.parametrize(("side", "pixels"), [(10_000, "100,000,000"), (30_000, "900,000,000")])
def test_a_photo_over_the_pixel_budget_is_refused_from_its_header(tmp_path: Path, side: int, pixels: str) -> None:
    # 100 MP: over the budget (PIL would only warn); 900 MP: over twice it (PIL's own bomb error)
    path = png_header_only(tmp_path / "big.png", side, side)
    with pytest.raises(ValueError, match=rf"^{pixels} pixels, more than the 64,000,000 a photo may have"):
        read_photo(path)


def test_photo_pixels_refuses_what_read_photo_refuses() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        images.photo_pixels(Image.new("RGB", (1, 100)))
    assert images.photo_pixels(Image.new("RGB", (20, 400))).shape == (3, 224, 224)  # 20:1 is fine


def test_folder_skips_a_hostile_photo_with_a_warning_and_keeps_the_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.new("RGB", (1, 20000)).save(tmp_path / "tall.png")
    Image.new("RGB", (40, 30), (10, 200, 10)).save(tmp_path / "ok.png")
    assert [p.name for p in folder_photos(tmp_path)] == ["ok.png"]
    err = capsys.readouterr().err.splitlines()
    assert err == [f"warning: skipping {tmp_path / 'tall.png'}: 1x20000 pixels, an aspect ratio beyond 20:1 (crop it)"]


def test_folder_of_only_hostile_photos_is_one_error_with_the_reason(tmp_path: Path) -> None:
    Image.new("RGB", (1, 20000)).save(tmp_path / "tall.png")
    with pytest.raises(PipelineError) as info:
        list(folder_photos(tmp_path))
    assert str(info.value) == (
        f"none of the 1 file(s) in {tmp_path} is a readable image "
        "(tall.png: 1x20000 pixels, an aspect ratio beyond 20:1 (crop it)): add JPEG/PNG files or remove them"
    )


def test_a_16_bit_greyscale_png_keeps_its_grey(tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((30, 40), 32896, dtype=np.uint16)).save(path)  # 32896 / 65535 = 128 / 255
    assert Image.open(path).mode.startswith("I")  # convert("RGB") would clip it to white
    assert torch.allclose(read_photo(path), torch.full((3, 224, 224), 128 / 255))


def test_a_photo_is_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    array = np.zeros((20, 40, 3), dtype=np.uint8)
    array[:, :20] = 255  # stored wide, white on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to display, as a phone held upright writes it
    Image.fromarray(array).save(tmp_path / "phone.png", exif=exif)
    pixels = read_photo(tmp_path / "phone.png")
    assert float(pixels[:, 0].mean()) == pytest.approx(1) and float(pixels[:, -1].mean()) == pytest.approx(0)
    Image.fromarray(array).save(tmp_path / "bad.png", exif=b"Exif\x00\x00not TIFF")
    assert torch.equal(read_photo(tmp_path / "bad.png")[:, 0], pixels[:, :, 0])  # unreadable EXIF: as stored


def test_a_file_name_with_a_pipe_or_a_line_break_stays_in_its_table_cell() -> None:
    guesses = [Top1(1, "goldfish", 0.5)]
    pred = Prediction(InputImage("a|b\nc.png", "folder", torch.zeros(3, 1, 1)), dict.fromkeys(MODES, guesses))
    alex = SimpleNamespace(random_weights=True, weights="none")
    (table,) = [b for b in included(predictions_markdown([pred], 1, alex)) if isinstance(b, Table)]
    assert [row[0] for row in table.rows] == ["a|b\\nc.png"] * 2  # both modes' rows, the break shown as \n
    assert included(to_markdown([table])) == [table]  # and so in the report's markdown


# --- special files in the photo folder ---------------------------------------------------------


def _symlink_to_dev_zero(folder: Path) -> str:
    (folder / "zero.png").symlink_to("/dev/zero")
    return f"{folder / 'zero.png'} is a symlink to /dev/zero, not to a regular file"


def _hidden_symlink_to_dev_zero(folder: Path) -> str:
    (folder / ".zero").symlink_to("/dev/zero")  # dotfiles are ignored by predict, not by DVC
    return f"{folder / '.zero'} is a symlink to /dev/zero, not to a regular file"


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe.jpg")
    return f"{folder / 'pipe.jpg'} is a named pipe, not a regular file"


def _fifo_in_subfolder(folder: Path) -> str:
    (folder / "sub").mkdir()
    os.mkfifo(folder / "sub" / "pipe")
    return f"{folder / 'sub' / 'pipe'} is a named pipe, not a regular file"


def _dangling_symlink(folder: Path) -> str:
    (folder / "gone.png").symlink_to(folder / "nowhere.png")
    return f"{folder / 'gone.png'} is a symlink to {folder / 'nowhere.png'}, not to a regular file"


def _symlink_to_folder(folder: Path) -> str:
    (folder / "root").symlink_to("/")
    return f"{folder / 'root'} is a symlink to /, not to a regular file"


SPECIAL = {
    "symlink to /dev/zero": _symlink_to_dev_zero,
    "hidden symlink to /dev/zero": _hidden_symlink_to_dev_zero,
    "named pipe": _fifo,
    "named pipe in a subfolder": _fifo_in_subfolder,
    "dangling symlink": _dangling_symlink,
    "symlink to a folder": _symlink_to_folder,
}


@pytest.mark.parametrize("case", list(SPECIAL))
def test_special_files_in_the_photo_folder_are_refused_without_reading_them(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (40, 30)).save(folder / "ok.png")
    described = SPECIAL[case](folder)
    with pytest.raises(PipelineError) as info:
        folder_photos(folder)  # a pipe would block this call forever if it were opened
    assert str(info.value) == f"predict.input_dir: {described}; {folder} holds regular image files only (remove it)"


def test_a_symlink_to_a_regular_photo_is_fine(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30)).save(tmp_path / "elsewhere.png")
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "linked.png").symlink_to(tmp_path / "elsewhere.png")
    assert [p.name for p in folder_photos(folder)] == ["linked.png"]


# --- trained checkpoints (models/<name>.pt) ----------------------------------------------------

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TINY_CNN = {"channels": [4, 4, 4, 4], "kernel_sizes": [3, 3, 3, 3], "dropout": 0.0, "fc_widths": [8, 8, 8]}
DROP = object()


def trained_state(**changes: Any) -> dict[str, Any]:
    """What the train stage writes (a tiny CNN), with ``changes`` applied; ``key=DROP`` removes a key."""
    torch.manual_seed(0)
    state = {
        "model": "cnn",
        "config": dict(TINY_CNN),
        "state_dict": build_model("cnn", TINY_CNN).state_dict(),
        "mean": [0.5, 0.5, 0.5],
        "std": [0.25, 0.25, 0.25],
        "class_names": list(CLASSES),
        "summary": {
            "epochs": 2,
            "device": "cpu",
            "train_images": 8,
            "val_images": 2,
            "test_images": 8,
            "subset": True,
            "history": [
                {"epoch": e, "train_loss": 2.0, "train_accuracy": 0.2, "val_loss": 2.1, "val_accuracy": 0.1}
                for e in (1, 2)
            ],
            "train_seconds": 1.0,
            "wall_seconds": 1.0,
            "images_per_second": 8.0,
        },
    }
    for key, value in changes.items():
        if value is DROP:
            state.pop(key)
        else:
            state[key] = value
    return state


def summary(**changes: Any) -> dict[str, Any]:
    return {**trained_state()["summary"], **changes}


def weights(change: Callable[[dict[str, torch.Tensor]], None]) -> dict[str, torch.Tensor]:
    state_dict = trained_state()["state_dict"]
    change(state_dict)
    return state_dict


class _RunsCode:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("true",))


ROW = {"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "val_accuracy": 0.5}  # no val_loss
BAD_TRAINED: dict[str, tuple[Callable[[], Any], str]] = {
    "std of zeros": (lambda: trained_state(std=[0, 0, 0]), "std must be 3 finite values in (0, 1], got [0, 0, 0]"),
    "std NaN": (lambda: trained_state(std=[0.2, math.nan, 0.2]), "std must be 3 finite values in (0, 1]"),
    "mean out of range": (lambda: trained_state(mean=[0.5, 2.0, 0.5]), "mean must be 3 finite values in [0, 1]"),
    "no summary": (lambda: trained_state(summary=DROP), "it has no summary"),
    "summary not a mapping": (lambda: trained_state(summary=[1, 2]), "its summary must be a mapping, got [1, 2]"),
    "summary without history": (
        lambda: trained_state(summary={k: v for k, v in summary().items() if k != "history"}),
        "summary.history must be a list of epoch rows, got None",
    ),
    "history row without val_loss": (
        lambda: trained_state(summary=summary(history=[ROW], epochs=1)),
        "summary.history row 1: val_loss must be a finite loss >= 0, got None",
    ),
    "history shorter than epochs": (
        lambda: trained_state(summary=summary(epochs=5)),
        "summary.history has 2 rows for 5 epochs",
    ),
    "epochs as text": (lambda: trained_state(summary=summary(epochs="2")), "summary.epochs must be a positive integer"),
    "unknown model": (lambda: trained_state(model="vgg"), "model 'vgg' is none of cnn, resnet"),
    "config kernel too big": (
        lambda: trained_state(config=dict(TINY_CNN, kernel_sizes=[64, 64, 64, 64])),
        "config: cnn.kernel_sizes must be at most the map size each block sees (32, 16, 8, 4), got [64, 64, 64, 64]",
    ),
    "config not a mapping": (lambda: trained_state(config=[1]), "config: cnn must be a mapping, got [1]"),
    "nine classes": (lambda: trained_state(class_names=CLASSES[:9]), "class_names must be 10 names"),
    "weights missing a key": (
        lambda: trained_state(state_dict=weights(lambda w: w.pop("classifier.7.bias"))),
        "its state_dict does not fit its CNN config: 1 missing key(s), e.g. classifier.7.bias",
    ),
    "NaN weights": (
        lambda: trained_state(state_dict=weights(lambda w: w["classifier.7.bias"].fill_(math.nan))),
        "state_dict classifier.7.bias holds NaN or infinite values",
    ),
    "weights that overflow": (
        lambda: trained_state(
            state_dict=weights(lambda w: [v.mul_(1e38) for v in w.values() if v.is_floating_point()])
        ),
        "the model's logits are not finite (weights overflow?) on a black, a white and two noise images",
    ),
    "a list, not a checkpoint": (lambda: [1, 2, 3], "it holds a list, not a mapping"),
    "code inside": (
        lambda: {"model": "cnn", "evil": _RunsCode()},
        "refused: it holds objects other than tensors and plain values (posix.system)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_TRAINED))
def test_trained_checkpoint_is_validated_before_use(tmp_path: Path, case: str) -> None:
    make, expected = BAD_TRAINED[case]
    path = tmp_path / "cnn.pt"
    torch.save(make(), path)
    with pytest.raises(PipelineError) as info:
        load_trained(path)
    message = str(info.value)
    assert expected in message and "\n" not in message, message
    assert message.startswith(str(path))
    assert "weights_only" not in message and "False" not in message  # never advice to turn safety off


def test_a_valid_trained_checkpoint_loads(tmp_path: Path) -> None:
    torch.save(trained_state(), tmp_path / "cnn.pt")
    trained = load_trained(tmp_path / "cnn.pt", expected="cnn")
    assert trained.std == [0.25] * 3 and trained.summary["epochs"] == 2


def test_junk_and_truncated_checkpoints_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(bytes(range(256)) * 4)
    torch.save(trained_state(), tmp_path / "whole.pt")
    (tmp_path / "half.pt").write_bytes((tmp_path / "whole.pt").read_bytes()[:2000])
    for name in ("junk.pt", "half.pt"):
        with pytest.raises(PipelineError, match=r"is not a checkpoint written by the train stage: not a PyTorch file"):
            load_trained(tmp_path / name)


# --- the stages that read checkpoints, end to end (in-process, as their CLI runs them) ---------


def run_main(
    stage: str, args: list[Any], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run ``python -m stages.<stage> args`` in this process; return (exit status, stderr)."""
    module = importlib.import_module(f"stages.{stage}")
    monkeypatch.setattr(sys, "argv", [stage, *map(str, args)])
    capfd.readouterr()
    try:
        run_stage(module.main)
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code)
    return status, capfd.readouterr().err


def one_error_line(status: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Tiny data, stats and params for the stages that read trained checkpoints."""
    return write_project(tmp_path)


def write_project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "cifar10.npz",
        train_images=rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8),
        train_labels=np.arange(4, dtype=np.int64),
        test_images=rng.integers(0, 256, (8, 3, 32, 32), dtype=np.uint8),
        test_labels=np.array([3, 8, 8, 0, 8, 1, 8, 5], dtype=np.int64),
        class_names=np.array(CLASSES),
    )
    (tmp_path / "stats.json").write_text(json.dumps({"mean": [0.5] * 3, "std": [0.25] * 3}))
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "seed": 0,
                "device": "cpu",
                "evaluate": {"misclassified": 4},
                "maximize_class": {"class_index": {"resnet": 3}, "steps": 1, "robustness_trials": 0},
                "attack": {"target_class": {"resnet": 5}, "steps": 1, "max_images": 1},
            }
        )
    )
    (tmp_path / "models").mkdir()
    (tmp_path / "out").mkdir()
    return tmp_path


def test_evaluate_refuses_a_checkpoint_with_zero_std_and_writes_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    checkpoint = project / "models" / "cnn.pt"
    torch.save(trained_state(std=[0, 0, 0]), checkpoint)
    out = project / "out"
    status, err = run_main(
        "evaluate",
        [
            "--model",
            "cnn",
            "--params",
            project / "params.yaml",
            "--data",
            project / "cifar10.npz",
            "--checkpoint",
            checkpoint,
            "--metrics",
            out / "cnn.json",
            "--info",
            out / "info.json",
            "--per-class",
            out / "per_class.csv",
            "--predictions",
            out / "p.csv",
            "--figures",
            out / "figures",
        ],
        monkeypatch,
        capfd,
    )
    assert one_error_line(status, err) == (
        f"error: {checkpoint} is not a checkpoint written by the train stage: "
        "std must be 3 finite values in (0, 1], got [0, 0, 0]"
    )
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("stage", ["attack", "maximize_class"])
def test_resnet_pt_holding_the_cnn_is_refused_by_the_analyses(
    project: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], stage: str
) -> None:
    torch.save(trained_state(), project / "models" / "resnet.pt")  # the CNN under the ResNet's name
    out = project / "out"
    args = [
        "--model",
        "resnet",
        "--params",
        project / "params.yaml",
        "--checkpoint",
        project / "models" / "resnet.pt",
        "--figure",
        out / "f.png",
        "--metrics",
        out / "m.json",
        "--info",
        out / "info.json",
    ]
    if stage == "attack":
        args += ["--data", project / "cifar10.npz"]
    status, err = run_main(stage, args, monkeypatch, capfd)
    assert one_error_line(status, err) == f"error: {project / 'models' / 'resnet.pt'} holds a cnn model, not resnet"
    assert list(out.iterdir()) == []


# --- resume checkpoints (models/checkpoints/<name>.pt) ----------------------------------------


def tiny_run(checkpoint: Path, epochs: int = 1, resume: bool = False, **train: Any) -> TrainingRun:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8)
    labels = np.arange(40, dtype=np.int64) % 10
    cpu = torch.device("cpu")
    return TrainingRun(
        model_name="cnn",
        model_config=TINY_CNN,
        seed=0,
        checkpoint_path=checkpoint,
        fingerprint_extra={},
        params=RecipeParams(epochs=epochs, batch_size=16, lr=0.01, **train),
        resume=resume,
        train=DeviceSplit.from_split(Split(images[:32], labels[:32]), cpu),
        val=DeviceSplit.from_split(Split(images[32:], labels[32:]), cpu),
        progress=False,
    )


def tiny_model() -> Normalized:
    torch.manual_seed(0)
    return Normalized(build_model("cnn", TINY_CNN), [0.5] * 3, [0.25] * 3)


# The runs whose resume checkpoints are tampered with: plain, with a schedule, with lookahead.
RESUME_RUNS = {"none": {}, "onecycle": {"schedule": "onecycle"}, "lookahead": {"lookahead": 0.5}}


@pytest.fixture(scope="module")
def resume_states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Real resume checkpoints of one epoch of each of RESUME_RUNS (loaded, to be tampered with)."""
    states = {}
    for name, train in RESUME_RUNS.items():
        path = tmp_path_factory.mktemp("resume") / "ckpt.pt"
        fit(tiny_run(path, **train), tiny_model())
        states[name] = torch.load(path, weights_only=True)
    return states


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda state: state.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda state: state.pop(key)


def _second_epoch(state: dict[str, Any]) -> None:
    state["history"] = [*state["history"], {**state["history"][0], "epoch": 2}]


def _wrong_exp_avg(state: dict[str, Any]) -> None:
    first = state["optimizer_state"]["state"][0]
    first["exp_avg"] = torch.zeros(3)


BAD_RESUME: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "fingerprint a list": (
        "none",
        _set("fingerprint", [1, 2]),
        "not a training checkpoint (its fingerprint is a list)",
    ),
    "no optimizer_state": ("none", _drop("optimizer_state"), "it has no optimizer_state"),
    "optimizer_state a list": ("none", _set("optimizer_state", []), "its optimizer_state must be a mapping, got list"),
    "history longer than train.epochs": ("none", _second_epoch, "its history has 2 epochs, more than train.epochs=1"),
    "history row with NaN loss": (
        "none",
        lambda s: s["history"][0].__setitem__("val_loss", math.nan),
        "its history row 1: val_loss must be a finite loss >= 0, got nan",
    ),
    "train_seconds NaN": ("none", _set("train_seconds", math.nan), "its train_seconds must be a finite number >= 0"),
    "generator state of floats": (
        "none",
        _set("generator_state", torch.zeros(5056)),
        "its generator_state must be a 1-d uint8 tensor",
    ),
    "unknown key": ("none", _set("extra", 1), "it has unknown keys (extra)"),
    "model state lacks a key": (
        "none",
        lambda s: s["model_state"].pop("1.classifier.7.bias"),
        "its model_state does not fit the model: 1 missing key(s), e.g. 1.classifier.7.bias",
    ),
    "optimizer state of another shape": (
        "none",
        _wrong_exp_avg,
        "its optimizer_state does not fit the optimizer: exp_avg of parameter 0 has shape (3,)",
    ),
    "scheduler state that would replace a method": (
        "onecycle",
        lambda s: s["scheduler_state"].__setitem__("step", 0),
        "its scheduler_state does not fit the OneCycleLR schedule (step)",
    ),
    "learning rate as text": (
        "none",
        lambda s: s["optimizer_state"]["param_groups"][0].__setitem__("lr", "fast"),
        "a parameter group setting lr that this optimizer does not have in that form",
    ),
    "lookahead weights of another layout": (
        "lookahead",
        lambda s: s["lookahead_state"].__setitem__("slow", []),
        "its lookahead_state does not fit the run (AttributeError)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RESUME))
def test_resume_checkpoint_is_validated_before_any_output(
    tmp_path: Path, resume_states: dict[str, dict[str, Any]], case: str
) -> None:
    name, tamper, expected = BAD_RESUME[case]
    state = copy.deepcopy(resume_states[name])
    tamper(state)
    path = tmp_path / "ckpt.pt"
    torch.save(state, path)
    run = tiny_run(path, epochs=1, resume=True, **RESUME_RUNS[name])
    with pytest.raises(PipelineError) as info:
        check_resumable(run, tiny_model())  # what the train stage calls before it opens any output
    message = str(info.value)
    assert message.startswith(f"cannot resume from {path}: ") and expected in message, message
    assert message.endswith("; delete it or set run.resume=false") and "\n" not in message
    with pytest.raises(PipelineError, match="cannot resume from"):
        fit(run, tiny_model())  # and fit refuses it the same way


def test_an_untampered_resume_checkpoint_passes_the_checks(
    tmp_path: Path, resume_states: dict[str, dict[str, Any]]
) -> None:
    for name, state in resume_states.items():
        torch.save(state, tmp_path / f"{name}.pt")
        check_resumable(tiny_run(tmp_path / f"{name}.pt", resume=True, **RESUME_RUNS[name]), tiny_model())


def test_resume_checkpoint_with_code_inside_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    torch.save({"fingerprint": {"model": "cnn"}, "evil": _RunsCode()}, path)
    with pytest.raises(PipelineError) as info:
        check_resumable(tiny_run(path, resume=True), tiny_model())
    assert str(info.value) == (
        f"cannot resume from {path}: not a training checkpoint (refused: it holds objects other than tensors and "
        "plain values (posix.system)); delete it or set run.resume=false"
    )


def test_train_stage_refuses_a_malformed_resume_checkpoint_before_opening_its_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "cifar10.npz",
        train_images=rng.integers(0, 256, (40, 3, 32, 32), dtype=np.uint8),
        train_labels=np.arange(40, dtype=np.int64) % 10,
        test_images=np.zeros((2, 3, 32, 32), np.uint8),
        test_labels=np.arange(2, dtype=np.int64),
        class_names=np.array(CLASSES),
    )
    (tmp_path / "stats.json").write_text(json.dumps({"mean": [0.5] * 3, "std": [0.25] * 3}))
    params = {
        "seed": 0,
        "device": "cpu",
        "run": {"resume": False, "processes": 1},
        "data": {"val_fraction": 0.1},
        "train": {"epochs": 1, "batch_size": 16},
        "cnn": TINY_CNN,
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    checkpoint, out, live = tmp_path / "ckpt.pt", tmp_path / "cnn.pt", tmp_path / "live"
    args = [
        "--model",
        "cnn",
        "--params",
        tmp_path / "params.yaml",
        "--data",
        tmp_path / "cifar10.npz",
        "--stats",
        tmp_path / "stats.json",
        "--out",
        out,
        "--resume-checkpoint",
        checkpoint,
        "--live",
        live,
        "--info",
        live.with_name("train_info.json"),
    ]
    assert run_main("train", args, monkeypatch, capfd)[0] == 0

    state = torch.load(checkpoint, weights_only=True)
    state["model_state"].pop("1.classifier.7.bias")
    torch.save(state, checkpoint)
    out.unlink()  # DVC removes a stage's outs before it runs
    shutil.rmtree(live)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**params, "run": {"resume": True}}))
    status, err = run_main("train", args, monkeypatch, capfd)
    assert one_error_line(status, err) == (
        f"error: cannot resume from {checkpoint}: its model_state does not fit the model: 1 missing key(s), "
        "e.g. 1.classifier.7.bias; delete it or set run.resume=false"
    )
    assert not live.exists() and not out.exists()  # no reports/train/<model>/metrics.json left as {}


# --- leftovers of a killed run -----------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def test_a_write_killed_midway_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"
    code = (
        "import sys, time\nfrom visionlab.core.io import atomic_path\nwith atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n    print('writing', flush=True)\n    time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True, env=_env())
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    assert _writing_unnamed(writer.pid, target.parent)  # what the kill interrupts
    writer.kill()  # SIGKILL: no finally block runs
    writer.wait()
    writer.stdout.close()
    assert list(target.parent.iterdir()) == []


def _writing_unnamed(pid: int, folder: Path) -> bool:
    """Whether process ``pid`` holds an unnamed file (O_TMPFILE, shown as ``<folder>/#<inode> (deleted)``)
    in ``folder`` with bytes in it."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd).startswith(f"{folder}/#") and fd.stat().st_size:
                return True
    return False


class StallingHandler(http.server.BaseHTTPRequestHandler):
    """Announces 4 MiB, sends half of it (two of the download's 1 MiB chunks), then stalls until the test ends."""

    release = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(4 << 20))
        self.end_headers()
        self.wfile.write(bytes(2 << 20))
        self.wfile.flush()
        self.release.wait(30)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_download_killed_midway_leaves_nothing_after_the_next_run(tmp_path: Path, tiny_archive: Any) -> None:
    out_dir, tmpdir = tmp_path / "data", tmp_path / "tmp"
    out_dir.mkdir()
    tmpdir.mkdir()
    StallingHandler.release.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    params = tmp_path / "params.yaml"
    url = f"http://127.0.0.1:{server.server_port}/cifar-10-python.tar.gz"
    params.write_text(json.dumps({"data": {"url": url, "md5": "0" * 32}}))
    command = [sys.executable, "-m", "stages.download", "--params", str(params), "--out", str(out_dir / "cifar10.npz")]
    download = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=dict(_env(), TMPDIR=str(tmpdir)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _writing_unnamed(download.pid, out_dir) and download.poll() is None:
            assert time.monotonic() < deadline, "the download never started writing"
            time.sleep(0.05)
        assert download.poll() is None, "the download ended before it could be killed"
    finally:
        download.kill()  # SIGKILL, midway through the download
        download.wait()
        StallingHandler.release.set()
        server.shutdown()
        server.server_close()
    assert list(out_dir.iterdir()) == [] and list(tmpdir.iterdir()) == []  # nor in the system's temp folder

    params.write_text(json.dumps({"data": {"url": str(tiny_archive.path), "md5": tiny_archive.md5}}))
    again = subprocess.run(
        command, cwd=REPO_ROOT, env=dict(_env(), TMPDIR=str(tmpdir)), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert [p.name for p in out_dir.iterdir()] == ["cifar10.npz"]
    assert list(tmpdir.iterdir()) == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_temp_files_are_git_ignored_and_project_files_are_not() -> None:
    names = [
        "data/.cifar10.npz.abcd_123.tmp.npz",
        "data/.cifar-10-python.tar.gz.a1b2c3d4.tmp.gz",
        "reports/figures/cnn/.curves.png.zz99yy88.tmp.png",
        "models/.cnn.pt.abcdefgh.tmp.pt",
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *names], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert ignored.stdout.split() == names
    kept = subprocess.run(
        ["git", "check-ignore", "--no-index", "visionlab/core/io.py", "data/images/photo.tmp.png"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert kept.stdout == ""


def test_alexnet_weights_file_with_code_inside_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "alexnet.pth"
    torch.save({"features.0.weight": torch.zeros(1), "evil": _RunsCode()}, path)
    with pytest.raises(PipelineError) as info:
        load_alexnet(str(path))
    assert str(info.value) == (
        f"{path} is not a PyTorch state dict file (refused: it holds objects other than tensors and plain values "
        "(posix.system))"
    )


# --- outputs that cannot be written (issue #20) ------------------------------------------------


def evaluate_args(project: Path) -> list[Any]:
    """``stages.evaluate`` on ``project`` (the fixture) and ``models/cnn.pt``, writing under ``out/``."""
    out = project / "out"
    return [
        *("--model", "cnn", "--params", project / "params.yaml", "--data", project / "cifar10.npz"),
        *("--checkpoint", project / "models" / "cnn.pt", "--metrics", out / "cnn.json", "--info", out / "info.json"),
        *("--per-class", out / "per_class.csv", "--predictions", out / "p.csv", "--figures", out / "figures"),
    ]


@pytest.fixture
def mount() -> Iterator[Callable[..., None]]:
    """``mount(*args)`` runs ``mount *args`` (skipping the test where it is not permitted); unmounted afterwards."""
    mounted: list[str] = []

    def run(*args: str) -> None:
        done = subprocess.run(["mount", *args], capture_output=True, text=True) if shutil.which("mount") else None
        if done is None or done.returncode != 0:
            pytest.skip(f"mount is not permitted here ({done.stderr.strip() if done else 'no mount command'})")
        mounted.append(args[-1])

    yield run
    for target in reversed(mounted):
        subprocess.run(["umount", target], check=True)


def _unnamed_fails(code: int) -> Callable[[Path], int]:
    """A stand-in for visionlab.core.io._unnamed: ENOSPC is /dev/full (every write fails), others fail to open."""

    def unnamed(folder: Path) -> int:
        if code == errno.ENOSPC:
            return os.open("/dev/full", os.O_RDWR)
        raise OSError(code, os.strerror(code), str(folder))

    return unnamed


@pytest.mark.parametrize(
    ("fault", "real"),
    [("read-only", True), ("read-only", False), ("full", True), ("full", False), ("a directory", True)],
)
def test_an_output_that_cannot_be_written_is_one_line_and_leaves_no_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any, mount: Any, fault: str, real: bool
) -> None:
    torch.save(trained_state(), project / "models" / "cnn.pt")
    out, code = project / "out", {"read-only": errno.EROFS, "full": errno.ENOSPC, "a directory": errno.EISDIR}[fault]
    if fault == "a directory":
        (out / "figures" / "curves.png").mkdir(parents=True)
    elif real:  # the kernel's own faults: a read-only bind mount (as root chmod is not enough), a 4 KiB tmpfs
        source = ["--bind", "-o", "ro", str(out)] if fault == "read-only" else ["-t", "tmpfs", "-o", "size=4k", "tmpfs"]
        mount(*source, str(out))
    else:
        monkeypatch.setattr(visionlab.core.io, "_unnamed", _unnamed_fails(code))
    status, err = run_main("evaluate", evaluate_args(project), monkeypatch, capfd)
    assert one_error_line(status, err) == f"error: {out / 'figures' / 'curves.png'}: cannot write ({os.strerror(code)})"
    assert [p for p in out.rglob("*") if not p.is_dir()] == []


def test_train_on_a_full_disk_is_one_line_naming_the_dvclive_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], mount: Any
) -> None:
    params = yaml.safe_load(committed_params())
    params.update(device="cpu", data={**params["data"], "val_fraction": 0.25})
    params["train"].update(epochs=1, batch_size=2)
    params["cnn"].update(TINY_CNN)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    out = project / "out"
    mount("-t", "tmpfs", "-o", "size=4k", "tmpfs", str(out))  # DVCLive's first files fill it
    args = [*("--model", "cnn", "--params", project / "params.yaml", "--data", project / "cifar10.npz"), "--stats"]
    args += [project / "stats.json", "--out", out / "cnn.pt", "--resume-checkpoint", out / "ckpt.pt"]
    status, err = run_main("train", [*args, "--live", out / "live", "--info", out / "info.json"], monkeypatch, capfd)
    assert one_error_line(status, err) == f"error: {out / 'live'}: cannot write (No space left on device)"


def _floats_to(dtype: torch.dtype, nan: bool = False) -> Callable[[dict[str, torch.Tensor]], None]:
    def change(state: dict[str, torch.Tensor]) -> None:
        for key, value in state.items():
            if value.is_floating_point():  # BatchNorm's integer step counts stay as they are
                state[key] = (value + (math.nan if nan else 0)).to(dtype)

    return change


@pytest.mark.parametrize(
    ("dtype", "nan", "problem"),
    [
        (
            torch.complex64,
            False,
            "does not fit its CNN config: features.0.0.1.weight holds torch.complex64 values, not torch.float32",
        ),
        (
            torch.int8,
            False,
            "does not fit its CNN config: features.0.0.1.weight holds torch.int8 values, not torch.float32",
        ),
        (
            torch.complex64,
            True,
            "not a checkpoint written by the train stage: state_dict features.0.0.1.weight holds NaN",
        ),
    ],
    ids=["complex", "int8", "NaN+0j"],
)
def test_evaluate_refuses_weights_of_the_wrong_kind_before_touching_its_outputs(
    project: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any, dtype: torch.dtype, nan: bool, problem: str
) -> None:
    checkpoint = project / "models" / "cnn.pt"
    torch.save(trained_state(state_dict=weights(_floats_to(dtype, nan))), checkpoint)
    (project / "out" / "p.csv").write_text("earlier run")
    status, err = run_main("evaluate", evaluate_args(project), monkeypatch, capfd)
    line = one_error_line(status, err)
    assert line.startswith(f"error: {checkpoint}") and line.endswith(problem + (" or infinite values" if nan else ""))
    assert [(p.name, p.read_text()) for p in (project / "out").rglob("*")] == [("p.csv", "earlier run")]


def test_resume_refuses_model_state_of_the_wrong_kind(tmp_path: Path, resume_states: dict[str, dict[str, Any]]) -> None:
    checkpoint = tmp_path / "checkpoint.pt"
    kinds = [(torch.complex64, False, "holds torch.complex64 values"), (torch.int8, False, "holds torch.int8 values")]
    for dtype, nan, problem in [*kinds, (torch.complex64, True, "holds NaN or infinite values")]:
        state = copy.deepcopy(resume_states["none"])
        _floats_to(dtype, nan)(state["model_state"])
        torch.save(state, checkpoint)
        with pytest.raises(PipelineError, match=f"^cannot resume from {checkpoint}: .*{problem}"):
            check_resumable(tiny_run(checkpoint, resume=True), tiny_model())


STAGE_SCRIPT = """import os, signal
from visionlab.core.io import write_atomic

def writer(tmp):
    tmp.write_text("half")
    if os.environ.get("KILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    tmp.write_text(open("input.txt").read())

write_atomic("out/result.txt", writer)
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_stage_killed_midway_leaves_no_temp_file_when_dvc_restores_it_from_the_run_cache(tmp_path: Path) -> None:
    from dvc_project import Project

    p = Project(tmp_path)
    p.env["PYTHONPATH"] = str(REPO_ROOT)
    (tmp_path / "write.py").write_text(STAGE_SCRIPT)
    stage = {"cmd": f"{sys.executable} write.py", "deps": ["write.py", "input.txt"], "outs": ["out/result.txt"]}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"write": stage}}))
    (tmp_path / "input.txt").write_text("A")
    p.git("init", "-q")
    p.dvc("init", "-q")
    p.dvc("repro")  # the run-cache now holds the run on input A
    (tmp_path / "input.txt").write_text("B")
    p.env["KILL"] = "1"
    assert p.dvc("repro", check=False).returncode != 0  # killed midway through writing out/result.txt
    del p.env["KILL"]
    (tmp_path / "input.txt").write_text("A")
    restored = p.dvc("repro")
    assert p.ran(restored) == set() and (tmp_path / "out" / "result.txt").read_text() == "A"  # from the run-cache
    assert [q for q in tmp_path.rglob("*.tmp*") if not {".dvc", ".git"} & set(q.parts)] == []


def test_without_o_tmpfile_a_named_temp_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(visionlab.core.io, "_unnamed", lambda folder: None)  # as on macOS, or a filesystem without it
    names: list[str] = []
    visionlab.core.io.write_atomic(tmp_path / "a.txt", lambda tmp: names.append(tmp.name) or tmp.write_text("whole"))
    with pytest.raises(ZeroDivisionError):
        visionlab.core.io.write_atomic(tmp_path / "b.txt", lambda tmp: tmp.write_text("half") / 0)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and (tmp_path / "a.txt").read_text() == "whole"
    assert names[0].startswith(".a.txt.") and names[0].endswith(".tmp.txt")  # git-ignored, if a kill leaves it


def test_an_oserror_no_stage_words_is_one_line_naming_the_file(tmp_path: Path, capfd: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_stage(lambda: tmp_path.write_text("x"))  # IsADirectoryError, with its filename
    assert one_error_line(int(exit_.value.code), capfd.readouterr().err) == f"error: {tmp_path}: Is a directory"


# --- inputs checked when read, before any output is written (issue #27) -------------------------------


@pytest.mark.parametrize(
    ("covariance", "problem"),
    [
        ([[0.0] * 3] * 3, "must be a symmetric positive definite matrix, got [[0.0, 0.0, 0.0], "),
        ([[-0.06, 0.0, 0.0], [0.0, -0.06, 0.0], [0.0, 0.0, -0.06]], "must be a symmetric positive definite matrix"),
        ([[0.06, 0.05, 0.0], [0.0, 0.06, 0.0], [0.0, 0.0, 0.06]], "must be a symmetric positive definite matrix"),
        ([[1e308, 0.0, 0.0], [0.0, 1e308, 0.0], [0.0, 0.0, 1e308]], "must be 3 rows of 3 numbers in [-0.25, 0.25]"),
    ],
    ids=["zeros", "negative-definite", "asymmetric", "1e308"],
)
def test_a_colour_covariance_is_refused_when_read_unless_positive_definite(
    tmp_path: Path, covariance: list[list[float]], problem: str
) -> None:
    path = tmp_path / "colour.json"
    path.write_text(json.dumps({"covariance": covariance, "train_images": 4}))
    with pytest.raises(PipelineError) as info:
        load_record(ColourStats, path)
    assert str(info.value).startswith(f"{path}: covariance {problem}")


@pytest.fixture(scope="module")
def overflowing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose models/cnn.pt the train stage wrote, its weights then scaled x1e38: all finite (float32
    reaches 3.4e38), but the logits overflow. Also a valid data/colour.json."""
    root = write_project(tmp_path_factory.mktemp("overflow"))
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    params.update(device="cpu", data={**params["data"], "val_fraction": 0.25})
    params["train"].update(epochs=1, batch_size=2)
    params["cnn"].update(TINY_CNN)
    params["visualize"].update(naive_steps=1, steps=1, diversity_batch=2, robust_trials=1)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    checkpoint, live = root / "models" / "cnn.pt", root / "train"
    args = ["--model", "cnn", "--params", root / "params.yaml", "--data", root / "cifar10.npz", "--stats"]
    args += [root / "stats.json", "--out", checkpoint, "--resume-checkpoint", live / "ckpt.pt", "--live", live]
    with pytest.MonkeyPatch.context() as patch:  # the train stage as dvc.yaml runs it, in this process
        patch.setattr(sys, "argv", ["train", *map(str, [*args, "--info", live / "info.json"])])
        importlib.import_module("stages.train").main()
    saved = torch.load(checkpoint, weights_only=True)
    saved["state_dict"] = {k: v * 1e38 if v.is_floating_point() else v for k, v in saved["state_dict"].items()}
    assert all(bool(torch.isfinite(v).all()) for v in saved["state_dict"].values())
    torch.save(saved, checkpoint)
    write_record(root / "colour.json", ColourStats([[0.06, 0.05, 0.05], [0.05, 0.06, 0.05], [0.05, 0.05, 0.07]], 3))
    return root


OVERFLOW = "the model's logits are not finite (weights overflow?) on a black, a white and two noise images: retrain it"


def analysis_args(root: Path, stage: str, out: Path) -> list[Any]:
    """``stages.<stage>`` (evaluate, calibrate, visualize) on ``root``'s params, data and models/cnn.pt."""
    common = ["--model", "cnn", "--params", root / "params.yaml", "--checkpoint", root / "models" / "cnn.pt"]
    data = ["--data", root / "cifar10.npz", "--metrics", out / "m.json", "--info", out / "i.json"]
    return {
        "evaluate": [*common, *data, "--per-class", out / "c.csv", "--predictions", out / "p.csv", "--figures", out],
        "calibrate": [*common, *data, "--plot", out, "--figure", out / "r.png"],
        "visualize": [
            *common,
            "--colour-stats",
            root / "colour.json",
            "--figure",
            out / "v.png",
            "--out",
            out / "v.json",
        ],
    }[stage]


@pytest.mark.parametrize("stage", ["evaluate", "calibrate", "visualize"])
def test_a_checkpoint_whose_logits_overflow_is_refused_before_any_output(
    overflowing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any, stage: str
) -> None:
    status, err = run_main(stage, analysis_args(overflowing, stage, tmp_path / "out"), monkeypatch, capfd)
    assert one_error_line(status, err) == f"error: {overflowing / 'models' / 'cnn.pt'}: {OVERFLOW}"
    assert not (tmp_path / "out").exists()


def test_an_alexnet_state_dict_whose_logits_overflow_is_refused() -> None:
    with torch.device("meta"):  # no random init: every value is set below
        net = alexnet_net().to_empty(device="cpu")
    scaled = {k: torch.full(v.shape, 1e30) for k, v in net.state_dict().items()}  # finite, but 1e30 * 1e30 is not
    with pytest.raises(PipelineError, match=r"^alexnet.pth: the model's logits are not finite \(weights overflow\?\)"):
        load_into(net, scaled, Path("alexnet.pth"))


def test_visualize_refuses_a_colour_covariance_of_zeros_before_any_output(
    overflowing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    shutil.copy(overflowing / "params.yaml", tmp_path)  # a few steps of each rung
    (tmp_path / "models").mkdir()
    torch.save(trained_state(), tmp_path / "models" / "cnn.pt")
    (tmp_path / "colour.json").write_text(json.dumps({"covariance": [[0.0] * 3] * 3, "train_images": 4}))
    status, err = run_main("visualize", analysis_args(tmp_path, "visualize", tmp_path / "out"), monkeypatch, capfd)
    assert one_error_line(status, err).startswith(
        f"error: {tmp_path / 'colour.json'}: covariance must be a symmetric positive definite matrix"
    )
    assert not (tmp_path / "out").exists()


# --- the corrupted test set (data/cifar10_c.npy and its index) ---------------------------------------


def tiny_corrupted_set(folder: Path) -> tuple[Path, CorruptedSet, Split]:
    """Every corruption of 2 random images at severity 1, written by the corrupt stage's code."""
    rng = np.random.default_rng(0)
    clean = Split(rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8), np.array([3, 8]))
    return folder / "c.npy", write_corrupted(folder / "c.npy", clean, [1], seed=0, batch_size=2), clean


def test_a_corrupted_set_whose_npy_changed_is_refused_by_its_digest(tmp_path: Path) -> None:
    path, index, clean = tiny_corrupted_set(tmp_path)
    assert index.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert open_corrupted(path, index, clean).shape == (len(CORRUPTIONS), 1, 2, 3, 32, 32)
    with path.open("r+b") as file:  # one value of the last image inverted: header and shape untouched
        file.seek(-1, os.SEEK_END)
        value = file.read(1)[0]
        file.seek(-1, os.SEEK_END)
        file.write(bytes([255 - value]))
    with pytest.raises(PipelineError) as info:
        open_corrupted(path, index, clean)
    assert str(info.value) == (
        f"{path} is not the file its index describes (its sha256 differs): rerun the corrupt stage"
    )


INDEX = {"images": 2, "corruptions": list(CORRUPTIONS), "severities": [1, 2, 3, 4, 5], "seed": 0}
INDEX |= {"source_sha256": "0" * 64, "left_out": ["frost"], "sha256": "1" * 64}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"corruptions": ["gaussian_noise", "gaussian_noise", *list(CORRUPTIONS)[2:]]},
            "corruptions must be a non-empty list of distinct corruptions ('gaussian_noise' twice)",
        ),
        (
            {"corruptions": [*list(CORRUPTIONS)[:7], "xsnow", *list(CORRUPTIONS)[8:]]},
            "corruptions must be a non-empty list of distinct corruptions ('xsnow' is none of gaussian_noise, shot_",
        ),
        ({"corruptions": []}, "corruptions must be a non-empty list of distinct corruptions (empty), got []"),
        ({"severities": [1, 2, 3, 3, 5]}, "severities must be a non-empty list of distinct severities (3 twice)"),
    ],
    ids=["a corruption twice", "unknown corruption", "no corruption", "a severity twice"],
)
def test_the_corrupted_sets_index_is_checked_against_the_corruptions_made(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({**INDEX, **change}))
    with pytest.raises(PipelineError) as info:
        load_record(CorruptedSet, path)
    assert str(info.value).startswith(f"{path}: {problem}")


def test_the_corrupted_set_reserves_its_disk_space_before_writing_an_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write through a map into a hole of a sparse file on a full disk is SIGBUS; reserved blocks are not."""
    reserved: list[bool] = []

    def corrupt_and_look(*args: Any) -> np.ndarray:
        for fd in Path("/proc/self/fd").iterdir():  # the unnamed (or named) temp file being written
            with contextlib.suppress(OSError):
                if os.readlink(fd).startswith(f"{tmp_path}/"):
                    reserved.append(fd.stat().st_blocks * 512 >= fd.stat().st_size > 86_016)
        return corrupt(*args)

    monkeypatch.setattr(corrupted_set, "corrupt", corrupt_and_look)
    tiny_corrupted_set(tmp_path)  # 14 x 1 x 2 images of 3,072 bytes: 86,016 bytes and a header
    assert reserved and all(reserved)


def test_corrupt_on_a_full_disk_is_one_line_and_leaves_nothing(project: Path, mount: Any) -> None:
    (project / "params.yaml").write_text(yaml.safe_dump({"seed": 0, "corrupt": {"images": 8, "severities": [1]}}))
    out = project / "out"
    mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(out))  # 14 x 8 images of 3,072 bytes do not fit
    command = [sys.executable, "-m", "stages.corrupt", "--params", str(project / "params.yaml"), "--data"]
    command += [str(project / "cifar10.npz"), "--out", str(out / "c.npy"), "--index", str(out / "c.json")]
    done = subprocess.run(command, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (1, f"error: {out / 'c.npy'}: cannot write (No space left on device)\n")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("fault", "line"),
    [  # real faults of the libraries, as a param beyond torch's reach raised them on e04381c
        (
            lambda: torch.zeros(1).add_(torch.ones(1), alpha=1e300),  # visualize.lr: 1.0e+300 in Adam
            "error: internal: RuntimeError: value cannot be converted to type float without overflow (",
        ),
        (
            lambda: torch.randint(-(10**19), 10**19 + 1, (1, 2)),  # a transform pad of 1e19
            "error: internal: ValueError: Overflow when unpacking long long (",
        ),
        (
            lambda: np.empty(2**62, dtype=np.uint8),  # what a count of anything can claim
            "error: out of memory: MemoryError: Unable to allocate 4.00 EiB for an array with shape (",
        ),
        (lambda: json.loads('{"a":\n\n  1,}'), "error: internal: JSONDecodeError: Expecting property name enclosed"),
    ],
)
def test_any_other_exception_is_one_line_naming_it_never_a_traceback(
    capfd: pytest.CaptureFixture[str], fault: Callable[[], Any], line: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_stage(fault)
    err = one_error_line(int(exit_.value.code), capfd.readouterr().err)
    assert err.startswith(line) and err.endswith(")") and "Traceback" not in err, err
