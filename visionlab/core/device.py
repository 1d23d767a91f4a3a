"""Choosing the torch device from the ``device`` param."""

import torch

from visionlab.core.errors import PipelineError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must be available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise PipelineError(f"device={name} but CUDA is not available here; use device=auto or cpu")
    if name.startswith("cuda:") and int(name[5:]) >= (count := torch.cuda.device_count()):
        raise PipelineError(f"device={name} but only {count} CUDA device(s) are visible (cuda:0..cuda:{count - 1})")
    if name == "mps" and not torch.backends.mps.is_available():
        raise PipelineError("device=mps but MPS is not available here; use device=auto or cpu")
    return torch.device(name)
