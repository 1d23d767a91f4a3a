"""Progress bars only on a terminal; CI logs get the one line per epoch and nothing else."""

from __future__ import annotations

import io
import sys

import pytest
import torch
from torch import nn

from visionlab.core.progress import progress_enabled
from visionlab.evaluation.inference import DeviceSplit
from visionlab.training.loop import train_epoch
from visionlab.training.params import RecipeParams


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def test_progress_enabled_only_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress_enabled(Terminal()) is True
    assert progress_enabled(io.StringIO()) is False
    assert progress_enabled(Closed()) is False
    assert progress_enabled(object()) is False  # type: ignore[arg-type]  # no isatty at all
    monkeypatch.setattr(sys, "stderr", Terminal())  # the default is the stderr of the moment
    assert progress_enabled() is True
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_enabled() is False


def one_epoch(progress: bool = True) -> None:
    generator = torch.Generator().manual_seed(0)
    data = DeviceSplit(
        torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=generator), torch.arange(64) % 10
    )
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train_epoch(model, optimizer, None, data, RecipeParams(epochs=1, batch_size=16), generator, 1, progress)


@pytest.mark.parametrize(
    ("stream", "progress", "drawn"),
    [(io.StringIO, True, False), (Terminal, True, True), (Terminal, False, False)],
    ids=["not-a-terminal", "terminal", "terminal-but-off"],
)
def test_train_epoch_draws_its_bar_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, stream, progress: bool, drawn: bool
) -> None:
    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    one_epoch(progress)
    assert ("epoch 1" in err.getvalue()) is drawn, err.getvalue()
