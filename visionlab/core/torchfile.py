"""Loading ``.pt`` files with ``weights_only``, and refusing anything else in one line. torch's own refusal is several
lines that end by suggesting ``weights_only=False``, which would run whatever code the file carries; the reasons here
say what was found, never how to load it anyway."""

import math
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from visionlab.core.errors import PipelineError
from visionlab.core.io import atomic_path

REFUSED = "refused: it holds objects other than tensors and plain values"


def load_weights_only(path: str | Path, refusal: Callable[[str], str], map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; a file it cannot load is the PipelineError ``refusal(reason)``."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # weights_only refusals and pickles that are not pickles
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        reason = f"{REFUSED} ({found[1]})" if found else "not a PyTorch file (an unreadable pickle)"
    except (IsADirectoryError, PermissionError) as err:
        reason = f"cannot read it ({err.strerror})"
    except Exception as err:  # zip, EOF and decoding errors of a corrupt, truncated or foreign file
        reason = f"not a PyTorch file, or a truncated one ({type(err).__name__})"
    raise PipelineError(refusal(reason))


def finite_numbers(value: Any, count: int, low: float, high: float, low_open: bool = False) -> bool:
    """Whether ``value`` is a list/tuple of ``count`` finite real numbers in [low, high] ((low, high] if low_open)."""
    if not isinstance(value, list | tuple) or len(value) != count:
        return False
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            return False
        if item > high or item < low or (low_open and item == low):
            return False
    return True


def state_dict_problem(saved: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> str | None:
    """What keeps tensors ``saved`` from loading into a model whose fresh state dict is ``expected``, or None. Besides
    keys and shapes, the kind of number: load_state_dict would silently cast complex values, or integers where the model
    has floats; integer buffers (BatchNorm's step count) stay integer."""
    found = (
        ("missing", [k for k in expected if k not in saved]),
        ("unexpected", [k for k in saved if k not in expected]),
        ("wrong shape", [k for k in expected if k in saved and saved[k].shape != expected[k].shape]),
    )
    if parts := [f"{len(keys)} {label} key(s), e.g. {keys[0]}" for label, keys in found if keys]:
        return "; ".join(parts)
    for key, value in saved.items():
        if value.is_complex() or value.is_floating_point() != expected[key].is_floating_point():
            return f"{key} holds {value.dtype} values, not {expected[key].dtype}"
    return None


def first_nonfinite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The name of the first tensor holding NaN or infinite values (complex ones too), or None."""
    return next((key for key, value in tensors.items() if not bool(torch.isfinite(value).all())), None)


def overflow_problem(model: torch.nn.Module, size: int) -> str | None:
    """Why ``model`` (in eval mode, on the CPU, taking [0, 1] pixels) is unusable although its weights are finite:
    its logits on a black, a white and two noise images of ``size`` pixels are not all finite; else None."""
    images = torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0))
    images[0], images[1] = 0.0, 1.0
    with torch.no_grad():
        if bool(torch.isfinite(model(images)).all()):
            return None
    return "the model's logits are not finite (weights overflow?) on a black, a white and two noise images"


def save_torch(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` with torch.save under a temporary name, then rename: a crash never leaves half a file. torch.save
    names the zip records after the file it is given; through an open handle they are always ``archive/...``, so the
    same state gives the same bytes whatever the temporary name."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        try:
            torch.save(state, handle)
        except RuntimeError as err:  # torch's zip writer words the OSError of a full disk as its own error
            if isinstance(err.__context__, OSError):
                raise err.__context__ from None
            raise
