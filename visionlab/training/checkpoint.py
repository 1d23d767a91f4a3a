"""Per-epoch training checkpoints: atomic saves, weights-only loads, and refusing foreign ones."""

import hashlib
import math
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from visionlab.core.errors import PipelineError, short
from visionlab.core.torchfile import first_nonfinite, load_weights_only, state_dict_problem
from visionlab.models.trained import history_problem

# Every key `fit` writes, and its type; cuda_rng_state only on CUDA.
RESUME_KEYS: dict[str, type | tuple[type, ...]] = {
    "fingerprint": dict,
    "model_state": dict,
    "optimizer_state": dict,
    "scheduler_state": dict,
    "generator_state": torch.Tensor,
    "cpu_rng_state": torch.Tensor,
    "history": list,
    "train_seconds": (int, float),
    "wall_seconds": (int, float),
}
OPTIONAL_RESUME_KEYS: dict[str, type] = {"cuda_rng_state": torch.Tensor, "lookahead_state": dict}
TYPE_NAMES = {dict: "a mapping", list: "a list", torch.Tensor: "a tensor", (int, float): "a number"}
RESUME_ADVICE = "delete it or set run.resume=false"


def _differences(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(saved) | set(wanted)):
        old, new = saved.get(key), wanted.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            diffs += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            diffs.append(f"{prefix}{key}: {short(str(old))} -> {short(str(new))}")
    return diffs


def file_digest(*paths: str | Path) -> str:
    """sha256 over the bytes of the given files, or of every .py file under given folders (sorted)."""
    digest = hashlib.sha256()
    for root in map(Path, paths):
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            digest.update(path.as_posix().encode())
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def loaded_code_digest() -> str:
    """sha256 over the source of every project module imported so far (``visionlab.*``, ``stages.*``). Called by the
    train stage after its imports, it covers exactly the code that shapes the run: the same files DVC lists as the
    stage's code deps."""
    project = [module for name, module in list(sys.modules.items()) if name.split(".")[0] in ("visionlab", "stages")]
    return file_digest(*sorted({Path(module.__file__) for module in project if getattr(module, "__file__", None)}))


def resume_state_problem(state: dict[str, Any], epochs: int | None) -> str | None:
    """What is wrong with the keys, types and history of a resume checkpoint, or None. ``epochs``: ``train.epochs`` of
    the run; a history longer than that cannot belong to it."""
    for key, kind in (*RESUME_KEYS.items(), *OPTIONAL_RESUME_KEYS.items()):
        if key not in state:
            if key in OPTIONAL_RESUME_KEYS:
                continue
            return f"it has no {key}"
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"its {key} must be {TYPE_NAMES[kind]}, got {type(value).__name__}"
    if unknown := sorted(str(key) for key in state if key not in RESUME_KEYS and key not in OPTIONAL_RESUME_KEYS):
        return f"it has unknown keys ({', '.join(unknown[:3])})"
    for key in ("train_seconds", "wall_seconds"):
        if not math.isfinite(state[key]) or state[key] < 0:
            return f"its {key} must be a finite number >= 0, got {state[key]}"
    for key in ("generator_state", "cpu_rng_state", "cuda_rng_state"):
        if key in state and (state[key].dtype != torch.uint8 or state[key].dim() != 1):
            return f"its {key} must be a 1-d uint8 tensor, got {state[key].dtype} {tuple(state[key].shape)}"
    if state["cpu_rng_state"].numel() != torch.get_rng_state().numel():
        return f"its cpu_rng_state has {state['cpu_rng_state'].numel()} bytes, not {torch.get_rng_state().numel()}"
    model_state = state["model_state"]
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model_state.items()):
        return "its model_state must map parameter names to tensors"
    if (bad := first_nonfinite(model_state)) is not None:
        return f"its model_state {bad} holds NaN or infinite values"
    optimizer_state = state["optimizer_state"]
    if not isinstance(optimizer_state.get("state"), dict) or not isinstance(optimizer_state.get("param_groups"), list):
        return "its optimizer_state must hold state and param_groups"
    history = state["history"]
    if epochs is not None and len(history) > epochs:
        return f"its history has {len(history)} epochs, more than train.epochs={epochs}"
    return history_problem(history, "its history")


def load_resume_checkpoint(path: str | Path, fingerprint: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Load a checkpoint to resume from; refuse one written for another model or other params, or malformed."""

    def refusal(problem: str) -> str:
        return f"cannot resume from {path}: {problem}; {RESUME_ADVICE}"

    # Loaded on the CPU: load_state_dict puts tensors where they belong, and optimizer `step` counters
    # must stay on the CPU (on the GPU they cost a host sync per parameter per step).
    state = load_weights_only(path, lambda why: refusal(f"not a training checkpoint ({why})"))
    if not isinstance(state, dict):
        raise PipelineError(refusal(f"not a training checkpoint (it holds a {type(state).__name__})"))
    if not isinstance(saved := state.get("fingerprint"), dict):
        found = "missing" if saved is None else f"a {type(saved).__name__}"
        raise PipelineError(refusal(f"not a training checkpoint (its fingerprint is {found})"))
    if saved.get("model") != fingerprint["model"]:
        raise PipelineError(refusal(f"it holds a {saved.get('model')} model, not {fingerprint['model']}"))
    if diffs := _differences(saved, fingerprint):
        raise PipelineError(refusal(f"it was trained with other params ({'; '.join(diffs[:3])})"))
    train = fingerprint.get("train")
    if (problem := resume_state_problem(state, train.get("epochs") if isinstance(train, dict) else None)) is not None:
        raise PipelineError(refusal(problem))
    return state


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "sequence"
    return type(value).__name__


def _mismatched(saved: dict[str, Any], current: dict[str, Any], allow_unknown: bool) -> str | None:
    """The first saved setting of another kind than the current one (None fits anything), or unknown
    to ``current`` unless ``allow_unknown``; None if all fit. Settings only ``current`` has keep their value."""
    for key in sorted(saved, key=str):
        if key not in current:
            if allow_unknown:
                continue
            return str(key)
        old, new = saved[key], current[key]
        if old is not None and new is not None and _kind(old) != _kind(new):
            return str(key)
    return None


def _optimizer_problem(saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> str | None:
    current = optimizer.state_dict()
    groups = saved["param_groups"]
    if len(groups) != len(current["param_groups"]):
        return f"{len(groups)} parameter groups, not {len(current['param_groups'])}"
    by_id: dict[Any, torch.Tensor] = {}
    for group, now, live in zip(groups, current["param_groups"], optimizer.param_groups, strict=True):
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            return "a parameter group that is not a mapping with params"
        if len(group["params"]) != len(now["params"]):
            return f"a group of {len(group['params'])} parameters, not {len(now['params'])}"
        if (wrong := _mismatched(group, now, allow_unknown=True)) is not None:
            return f"a parameter group setting {wrong} that this optimizer does not have in that form"
        by_id.update(zip(group["params"], live["params"], strict=True))
    for key, values in saved["state"].items():
        if key not in by_id or not isinstance(values, dict):
            return f"state for an unknown parameter {key!r}"
        for name, value in values.items():
            if not isinstance(value, torch.Tensor | int | float):
                return f"{name} of parameter {key} is a {type(value).__name__}"
            if isinstance(value, torch.Tensor) and (value.is_complex() or not bool(torch.isfinite(value).all())):
                return f"{name} of parameter {key} is not finite real numbers ({value.dtype})"
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != by_id[key].shape:
                return f"{name} of parameter {key} has shape {tuple(value.shape)}, not {tuple(by_id[key].shape)}"
    return None


def restore_training_state(
    state: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    lookahead: Any,
    generator: torch.Generator,
    path: str | Path,
) -> None:
    """Load a validated resume checkpoint into the run's model, optimiser, schedule, lookahead (None if off)
    and generator, each checked first: a state that does not fit is one line, not torch's report."""

    def refuse(problem: str) -> PipelineError:
        return PipelineError(f"cannot resume from {path}: {problem}; {RESUME_ADVICE}")

    saved = state["model_state"]
    if (problem := state_dict_problem(saved, model.state_dict())) is not None:
        raise refuse(f"its model_state does not fit the model: {problem}")
    if (problem := _optimizer_problem(state["optimizer_state"], optimizer)) is not None:
        raise refuse(f"its optimizer_state does not fit the optimizer: {problem}")
    if scheduler is not None:
        # load_state_dict sets every saved key as an attribute: an unknown one could replace a method
        wrong = _mismatched(state["scheduler_state"], scheduler.state_dict(), allow_unknown=False)
        if wrong is not None:
            raise refuse(f"its scheduler_state does not fit the {type(scheduler).__name__} schedule ({wrong})")
    try:
        model.load_state_dict(saved)
        optimizer.load_state_dict(state["optimizer_state"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler_state"])
        generator.set_state(state["generator_state"].cpu())
    except (RuntimeError, ValueError, KeyError, TypeError) as err:  # what the checks above did not foresee
        raise refuse(f"its state does not load ({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None
    try:
        if lookahead is not None:
            lookahead.load_state_dict(state["lookahead_state"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
        raise refuse(f"its lookahead_state does not fit the run ({type(err).__name__})") from None
