"""Per-epoch training checkpoints: atomic saves, weights-only loads, and refusing foreign ones."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import torch

from visionlab.errors import PipelineError
from visionlab.io import atomic_path


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` with torch.save under a temporary name, then rename: a crash never leaves half a file."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _differences(saved: dict[str, Any], wanted: dict[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(saved) | set(wanted)):
        old, new = saved.get(key), wanted.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            diffs += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            diffs.append(f"{prefix}{key}: {_short(old)} -> {_short(new)}")
    return diffs


def _short(value: Any, limit: int = 24) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """sha256 over the source of every project module imported so far (``visionlab.*``, ``stages.*``).

    Called by the train stage after its imports, it covers exactly the code that shapes the run:
    the same files DVC lists as the stage's code deps.
    """
    files = sorted(
        {
            Path(module.__file__)
            for name, module in list(sys.modules.items())
            if name.split(".")[0] in ("visionlab", "stages") and getattr(module, "__file__", None)
        }
    )
    return file_digest(*files)


def load_resume_checkpoint(path: str | Path, fingerprint: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Load a checkpoint to resume from; refuse one written for another model or other params."""
    path = Path(path)
    try:
        # Load on the CPU: load_state_dict puts tensors where they belong, and optimizer `step`
        # counters must stay on the CPU (on the GPU they cost a host sync per parameter per step).
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = state["fingerprint"]
    except Exception as err:  # corrupt, truncated or not ours: never guess
        raise PipelineError(f"cannot resume from {path}: not a training checkpoint ({type(err).__name__})") from None
    if saved.get("model") != fingerprint["model"]:
        raise PipelineError(
            f"cannot resume from {path}: it holds a {saved.get('model')} model, not {fingerprint['model']}; "
            "delete it or set train.resume=false"
        )
    diffs = _differences(saved, fingerprint)
    if diffs:
        raise PipelineError(
            f"cannot resume from {path}: it was trained with other params ({'; '.join(diffs[:3])}); "
            "delete it or set train.resume=false"
        )
    return state
