"""Loading ``.pt`` files with ``weights_only``, and refusing anything else in one line.

torch's own refusal is several lines that end by suggesting ``weights_only=False``, which would
run whatever code the file carries; the reasons here say what was found, never how to load it anyway.
"""

from __future__ import annotations

import math
import pickle
import re
from pathlib import Path
from typing import Any

import torch

REFUSED = "refused: it holds objects other than tensors and plain values"


class UnreadableFile(Exception):
    """The file could not be loaded as weights; ``str()`` is the one-line reason."""


def load_weights_only(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; raise :class:`UnreadableFile` with a one-line reason."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # weights_only refusals and pickles that are not pickles
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        if found:
            raise UnreadableFile(f"{REFUSED} ({found[1]})") from None
        raise UnreadableFile("not a PyTorch file (an unreadable pickle)") from None
    except (IsADirectoryError, PermissionError) as err:
        raise UnreadableFile(f"cannot read it ({err.strerror})") from None
    except Exception as err:  # zip, EOF and decoding errors of a corrupt, truncated or foreign file
        raise UnreadableFile(f"not a PyTorch file, or a truncated one ({type(err).__name__})") from None


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
