"""Gradient ascent, the bounded attack, jitter transforms and image loading, on tiny hand-checkable cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from visionlab.classmax.class_maximize import random_shift_rescale, shift_rescale
from visionlab.core.errors import PipelineError
from visionlab.probe.images import folder_photos, photo_pixels, upscale
from visionlab.probe.optimize import gradient_ascent, targeted_linf_attack


def test_one_ascent_step_is_the_seed_update() -> None:
    weight = torch.tensor([[[[1.0, -2.0], [0.01, 0.0]]]])  # objective: sum(weight * x), gradient = weight
    init = torch.full((1, 1, 2, 2), 0.5)
    result = gradient_ascent(lambda x: (x * weight).flatten(1).sum(1), init, steps=1, step_size=0.1)
    expected = torch.tensor([[[[0.6, 0.3], [0.501, 0.5]]]])
    torch.testing.assert_close(result.images, expected)
    assert result.history.shape == (2, 1)
    assert float(result.history[0, 0]) == pytest.approx(0.5 * (1 - 2 + 0.01))


def test_ascent_clamps_every_step() -> None:
    weight = torch.tensor([[[[1.0, -1.0]]]])
    result = gradient_ascent(lambda x: (x * weight).flatten(1).sum(1), torch.full((1, 1, 1, 2), 0.5), 4, 10.0)
    assert result.images.flatten().tolist() == [1.0, 0.0]


class _Threshold(nn.Module):
    """Two classes over a 1x2x2 image: logits (0, sum(x) - 2), so class 1 wins when the mean pixel > 0.5."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = x.flatten(1).sum(1)
        return torch.stack([torch.zeros_like(total), total - 2], dim=1)


def test_bounded_attack_stays_in_the_ball_and_reports_first_success() -> None:
    model = _Threshold()
    clean = torch.tensor([[[[0.30, 0.30], [0.30, 0.30]]], [[[0.49, 0.49], [0.49, 0.49]]], [[[0.9, 0.9], [0.9, 0.9]]]])
    result = targeted_linf_attack(model, clean, target=1, epsilon=0.05, step_size=0.02, steps=5)
    assert float((result.images - clean).abs().max()) <= 0.05 + 1e-7
    assert result.images.min() >= 0 and result.images.max() <= 1
    # image 0 needs +0.2 per pixel: out of reach; image 1 crosses 0.5 after one step; image 2 already is class 1
    assert result.success.tolist() == [False, True, True]
    assert result.first_success.tolist() == [-1, 1, 0]
    torch.testing.assert_close(result.images[0], torch.full((1, 2, 2), 0.35))


def test_bounded_attack_respects_the_unit_box() -> None:
    clean = torch.full((1, 1, 2, 2), 0.99)
    result = targeted_linf_attack(_Threshold(), clean, target=1, epsilon=0.1, step_size=0.05, steps=3)
    assert float(result.images.max()) == 1.0


def test_jitter_without_range_is_the_identity_and_is_seeded() -> None:
    image = torch.rand(1, 3, 16, 16)
    same = random_shift_rescale(image, 2, 0.0, 0.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(same.images, image.expand(2, -1, -1, -1), atol=1e-5, rtol=0)
    first = random_shift_rescale(image, 3, 0.1, 0.1, torch.Generator().manual_seed(5))
    again = random_shift_rescale(image, 3, 0.1, 0.1, torch.Generator().manual_seed(5))
    assert torch.equal(first.images, again.images)
    assert (first.shifts.abs() <= 0.1).all() and ((first.scales - 1).abs() <= 0.1).all()


def test_shift_and_rescale_move_content_as_stated() -> None:
    image = torch.zeros(1, 1, 8, 8)
    image[..., 4, 4] = 1.0
    right = shift_rescale(image, torch.tensor([[0.25, 0.0]]), torch.tensor([1.0]))  # 2 of 8 pixels
    assert right[0, 0, 4].argmax().item() == 6 and right[0, 0, :, 6].argmax().item() == 4
    down = shift_rescale(image, torch.tensor([[0.0, -0.25]]), torch.tensor([1.0]))
    assert down[0, 0, :, 4].argmax().item() == 2
    band = torch.zeros(1, 1, 8, 8)
    band[..., 2:6] = 1.0  # the middle half of the columns
    zoomed = shift_rescale(band, torch.tensor([[0.0, 0.0]]), torch.tensor([2.0]))
    # zoom x2 about the centre: the band now covers columns 1..6 (0 and 7 are blended at the edge)
    assert torch.allclose(zoomed[..., 1:7], torch.ones(1, 1, 8, 6)) and band[..., 1].max() == 0


def test_photo_is_resized_and_centre_cropped() -> None:
    array = np.zeros((300, 600, 3), dtype=np.uint8)
    array[:, 250:350] = 255  # a white band in the middle survives the centre crop
    pixels = photo_pixels(Image.fromarray(array))
    assert pixels.shape == (3, 224, 224)
    assert pixels.min() >= 0 and pixels.max() <= 1
    assert float(pixels[:, :, 112].mean()) == pytest.approx(1.0)
    assert float(pixels[:, :, 0].mean()) == pytest.approx(0.0)


def test_cifar_upscale_is_bilinear_to_224() -> None:
    images = np.full((2, 3, 32, 32), 255, dtype=np.uint8)
    up = upscale(images, 224)
    assert up.shape == (2, 3, 224, 224) and torch.allclose(up, torch.ones_like(up))
    assert upscale(images, 32).shape == (2, 3, 32, 32)


def test_folder_skips_unreadable_and_dotfiles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.fromarray(np.zeros((40, 50, 3), dtype=np.uint8)).save(tmp_path / "good.png")
    (tmp_path / "broken.jpg").write_bytes(b"not really a jpeg")
    (tmp_path / ".gitkeep").write_text("")
    photos = folder_photos(tmp_path)
    assert [p.name for p in photos] == ["good.png"]
    err = capsys.readouterr().err
    assert "broken.jpg" in err and ".gitkeep" not in err


def test_folder_with_no_readable_file_fails(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PipelineError, match="notes.txt"):
        list(folder_photos(tmp_path))


def test_folder_with_only_a_gitkeep_is_fine_and_missing_folder_fails(tmp_path: Path) -> None:
    (tmp_path / ".gitkeep").write_text("")
    assert list(folder_photos(tmp_path)) == []
    with pytest.raises(PipelineError, match="no such folder"):
        folder_photos(tmp_path / "absent")
