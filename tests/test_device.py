"""``resolve_device``: an explicit CUDA index must name a device this machine has (checked without a GPU)."""

from __future__ import annotations

import pytest
import torch

from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_visible_cuda_device_is_accepted(two_gpus: None, name: str) -> None:
    assert resolve_device(name) == torch.device(name)


@pytest.mark.parametrize("name", ["cuda:2", "cuda:17"])
def test_cuda_index_beyond_device_count_is_refused(two_gpus: None, name: str) -> None:
    with pytest.raises(PipelineError) as refused:
        resolve_device(name)
    assert str(refused.value) == f"device={name} but only 2 CUDA device(s) are visible (cuda:0..cuda:1)"


def test_cuda_without_cuda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PipelineError, match="CUDA is not available here"):
        resolve_device("cuda:0")
