"""Loading a trained CIFAR model as written by the train stage (``models/<name>.pt``)."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from visionlab.core import torchfile
from visionlab.core.errors import PipelineError, short
from visionlab.core.params import parse_section
from visionlab.models.normalize import Normalized
from visionlab.models.registry import MODEL_CONFIGS, MODELS, build_model

NUM_CLASSES = 10  # the models are CIFAR-10 classifiers
INPUT_SIZE = 32
TRAINED_KEYS = ("model", "config", "state_dict", "mean", "std", "class_names", "summary")
# What evaluate and the figures read from the summary (timings are not checked: they may move out of it).
SUMMARY_FIELDS: dict[str, tuple[type, str]] = {
    "epochs": (int, "a positive integer"),
    "history": (list, "a list of epoch rows"),
    "device": (str, "a device name"),
    "train_images": (int, "a positive integer"),
    "val_images": (int, "a non-negative integer"),
    "subset": (bool, "true or false"),
}
LOSSES = ("train_loss", "val_loss")
ACCURACIES = ("train_accuracy", "val_accuracy")


@dataclass
class TrainedModel:
    """A trained CIFAR model that takes [0, 1] pixels (normalisation included) and what it was trained on."""

    name: str
    config: dict[str, Any]
    model: Normalized
    class_names: tuple[str, ...]
    mean: list[float]
    std: list[float]
    summary: dict[str, Any]


def summary_problem(summary: Any) -> str | None:
    """What is wrong with a trained checkpoint's ``summary`` (the fields evaluate and the figures read), or None."""
    if not isinstance(summary, dict):
        return f"its summary must be a mapping, got {short(repr(summary), 40)}"
    for key, (kind, wanted) in SUMMARY_FIELDS.items():
        value = summary.get(key)
        wrong_kind = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if wrong_kind or (key in ("epochs", "train_images") and value < 1) or (key == "val_images" and value < 0):
            return f"summary.{key} must be {wanted}, got {short(repr(value), 40)}"
    history = summary["history"]
    if len(history) != summary["epochs"]:
        return f"summary.history has {len(history)} rows for {summary['epochs']} epochs"
    return history_problem(history, "summary.history")


def history_problem(history: list[Any], where: str) -> str | None:
    """What is wrong with a list of per-epoch rows as ``fit`` writes them (epochs 1, 2, ...), or None."""
    for epoch, row in enumerate(history, start=1):
        if not isinstance(row, dict) or row.get("epoch") != epoch:
            return f"{where} row {epoch} must be a mapping for epoch {epoch}, got {short(repr(row), 40)}"
        for key in (*LOSSES, *ACCURACIES):
            value = row.get(key)
            number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not number or value < 0 or (key in ACCURACIES and value > 1):
                wanted = "a finite loss >= 0" if key in LOSSES else "an accuracy in [0, 1]"
                return f"{where} row {epoch}: {key} must be {wanted}, got {short(repr(value), 40)}"
    return None


def check_trained(saved: Any, path: Path, expected: str | None = None) -> None:
    """Validate everything a trained checkpoint holds before any of it is used; one line naming the problem."""

    def refuse(problem: str) -> PipelineError:
        return PipelineError(f"{path} is not a checkpoint written by the train stage: {problem}")

    if not isinstance(saved, dict):
        raise refuse(f"it holds a {type(saved).__name__}, not a mapping")
    if missing := [key for key in TRAINED_KEYS if key not in saved]:
        raise refuse(f"it has no {', '.join(missing)}")
    name = saved["model"]
    if not isinstance(name, str) or name not in MODELS:
        raise refuse(f"model {short(repr(name), 40)} is none of {', '.join(MODELS)}")
    if expected is not None and name != expected:
        raise PipelineError(f"{path} holds a {name} model, not {expected}")
    parse_section("fast.model" if name == "fast" else name, MODEL_CONFIGS[name], saved["config"], f"{path} config")
    names = saved["class_names"]
    if (
        not isinstance(names, list | tuple)
        or len(names) != NUM_CLASSES
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise refuse(f"class_names must be {NUM_CLASSES} names, got {short(repr(names), 40)}")
    if not torchfile.finite_numbers(saved["mean"], 3, 0.0, 1.0):
        raise refuse(f"mean must be 3 finite values in [0, 1], got {short(repr(saved['mean']), 40)}")
    if not torchfile.finite_numbers(saved["std"], 3, 0.0, 1.0, low_open=True):
        raise refuse(f"std must be 3 finite values in (0, 1], got {short(repr(saved['std']), 40)}")
    state = saved["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise refuse("state_dict must map parameter names to tensors")
    if (bad := torchfile.first_nonfinite(state)) is not None:
        raise refuse(f"state_dict {bad} holds NaN or infinite values")
    if (problem := summary_problem(saved["summary"])) is not None:
        raise refuse(problem)


def load_trained(
    path: str | Path, map_location: str | torch.device = "cpu", expected: str | None = None
) -> TrainedModel:
    """``models/<name>.pt`` as written by the train stage (weights_only: no code runs), validated;
    ``expected``: the model it must hold (``models/resnet.pt`` a resnet)."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"trained checkpoint {path} not found: run `dvc repro train@{path.stem}` first")
    saved = torchfile.load_weights_only(
        path, lambda why: f"{path} is not a checkpoint written by the train stage: {why}", map_location
    )
    check_trained(saved, path, expected)
    try:
        net = build_model(saved["model"], saved["config"], num_classes=len(saved["class_names"]))
    except (TypeError, ValueError, RuntimeError) as err:  # a config the schema allows but the model cannot build
        raise PipelineError(f"{path}: cannot build its {saved['model']} ({type(err).__name__}: {err})") from None
    # a mismatch (keys, shapes, kinds of number) in one line instead of torch's report
    if (problem := torchfile.state_dict_problem(saved["state_dict"], net.state_dict())) is not None:
        raise PipelineError(f"{path}: its state_dict does not fit its {type(net).__name__} config: {problem}")
    net.load_state_dict(saved["state_dict"])
    wrapped = Normalized(net, saved["mean"], saved["std"])
    wrapped.to(memory_format=torch.channels_last).eval()
    if (problem := torchfile.overflow_problem(wrapped, INPUT_SIZE)) is not None:  # before any stage writes a thing
        raise PipelineError(f"{path}: {problem}: retrain it")
    return TrainedModel(
        name=saved["model"],
        config=dict(saved["config"]),
        model=wrapped,
        class_names=tuple(saved["class_names"]),
        mean=[float(m) for m in saved["mean"]],
        std=[float(s) for s in saved["std"]],
        summary=dict(saved["summary"]),
    )
