"""conv1 units: pre-ReLU values, receptive field, analytic maximum, and what gradient ascent does to pixels."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from visionlab.channels.maximize import conv_unit_max, maximize_conv1_channels, receptive_field
from visionlab.models.alexnet import LoadedAlexNet, load_alexnet
from visionlab.models.normalize import Normalize
from visionlab.probe.objectives import centre_unit, conv_unit
from visionlab.probe.optimize import gradient_ascent, noise_image

# Written out, not imported, so the tests do not reuse the constants under test.
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
RF = slice(106, 117)  # unit (27, 27): rows/cols 27*4-2 .. 27*4-2+10


@pytest.fixture(scope="module")
def alex() -> LoadedAlexNet:
    return load_alexnet("none")


def _manual_unit(alex: LoadedAlexNet, image: torch.Tensor, channel: int) -> float:
    """bias + sum over the receptive field of w * (x - mean) / std, by hand."""
    patch = image[0, :, RF, RF].double()
    mean = torch.tensor(MEAN, dtype=torch.float64).view(3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float64).view(3, 1, 1)
    weight = alex.net.features[0].weight[channel].detach().double()
    return float(alex.net.features[0].bias[channel].detach()) + float((weight * (patch - mean) / std).sum())


def test_centre_unit_and_receptive_field_of_alexnet_conv1(alex: LoadedAlexNet) -> None:
    assert centre_unit(alex.conv1, 224) == (27, 27)
    field = receptive_field(alex.conv1, 27, 27, 224)
    assert field.rows == (106, 117) and field.cols == (106, 117)
    corner = receptive_field(alex.conv1, 0, 0, 224)  # starts at -2: clipped, kernel offset 2
    assert corner.rows == (0, 9) and corner.kernel_rows == (2, 11)


def test_objective_is_the_pre_relu_conv_output(alex: LoadedAlexNet) -> None:
    image = noise_image(224, 0.5, 0.2, seed=3)
    for channel in (0, 13, 63):
        value = float(conv_unit(alex.conv1, alex.normalize, channel, 27, 27)(image).detach())
        assert value == pytest.approx(_manual_unit(alex, image, channel), abs=1e-4)
    # The full pre-ReLU map matches a functional conv on hand-normalised pixels.
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    expected = F.conv2d((image - mean) / std, alex.conv1.weight, alex.conv1.bias, stride=4, padding=2)
    with torch.no_grad():
        values = conv_unit(alex.conv1, alex.normalize, list(range(64)), 27, 27)(image.repeat(64, 1, 1, 1))
    torch.testing.assert_close(values, expected[0, :, 27, 27], atol=1e-4, rtol=1e-4)
    assert (values < 0).any()  # a forward hook after the inplace ReLU would never show these


def test_maximised_value_can_be_negative() -> None:
    alex = load_alexnet("none")
    with torch.no_grad():
        alex.conv1.bias[4] = -1000.0  # no image can lift this unit above zero
    objective = conv_unit(alex.conv1, alex.normalize, 4, 27, 27)
    result = gradient_ascent(objective, noise_image(224, 0.5, 0.01, seed=0), steps=10, step_size=5.0)
    reached = float(result.history[-1, 0])
    assert reached < 0
    assert reached > float(result.history[0, 0])
    assert reached == pytest.approx(conv_unit_max(alex.conv1, MEAN, STD, 4, 27, 27, 224).value, rel=1e-3)


def _brute_force_max(
    conv: nn.Conv2d,
    mean: list[float],
    std: list[float],
    channel: int,
    row: int,
    col: int,
    rows: range,
    cols: range,
    size: int,
) -> float:
    """Largest activation over every 0/1 corner of the receptive field (an affine function peaks at a corner)."""
    pixels = [(c, r, q) for c in range(3) for r in rows for q in cols]
    corners = torch.tensor(list(itertools.product((0.0, 1.0), repeat=len(pixels))))
    images = torch.full((len(corners), 3, size, size), 0.5)
    for i, (c, r, q) in enumerate(pixels):
        images[:, c, r, q] = corners[:, i]
    with torch.no_grad():
        return float(conv(Normalize(mean, std)(images))[:, channel, row, col].max())


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "row", "col", "rows", "cols"),
    [
        (3, 2, 1, 0, 0, range(0, 2), range(0, 2)),  # corner unit: half its kernel lies in the padding
        (2, 1, 0, 2, 1, range(2, 4), range(1, 3)),  # interior unit, whole kernel inside
    ],
)
def test_analytic_max_matches_brute_force(
    kernel: int, stride: int, padding: int, row: int, col: int, rows: range, cols: range
) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 2, kernel, stride=stride, padding=padding)
    mean, std = [0.3, 0.5, 0.6], [0.2, 0.25, 0.5]
    for channel in range(2):
        analytic = conv_unit_max(conv, mean, std, channel, row, col, input_size=5)
        expected = _brute_force_max(conv, mean, std, channel, row, col, rows, cols, size=5)
        assert analytic.value == pytest.approx(expected, abs=1e-5)
        assert (analytic.field.rows, analytic.field.cols) == ((rows.start, rows.stop), (cols.start, cols.stop))


def test_ascent_reaches_analytic_max_and_leaves_other_pixels_alone(alex: LoadedAlexNet) -> None:
    results = maximize_conv1_channels(alex, [0, 20], steps=10, step_size=5.0, init_mean=0.5, init_std=0.01, seed=0)
    init = noise_image(224, 0.5, 0.01, seed=0)[0]
    outside = torch.ones(3, 224, 224, dtype=torch.bool)
    outside[:, RF, RF] = False
    for r in results:
        assert r.fraction >= 0.99
        assert r.activation <= r.analytic.value + 1e-3
        assert torch.equal(r.image[outside], init[outside])  # exactly as initialised
        assert r.image.min() >= 0 and r.image.max() <= 1
        assert not torch.equal(r.image[:, RF, RF], init[:, RF, RF])


def test_clamp_keeps_pixels_in_range_and_hits_the_bounds(alex: LoadedAlexNet) -> None:
    objective = conv_unit(alex.conv1, alex.normalize, 0, 27, 27)
    result = gradient_ascent(objective, noise_image(224, 0.5, 0.01, seed=0), steps=3, step_size=1000.0)
    assert float(result.images.min()) == 0.0 and float(result.images.max()) == 1.0


def test_same_seed_same_images_other_seed_differs(alex: LoadedAlexNet) -> None:
    kwargs = {"steps": 3, "step_size": 5.0, "init_mean": 0.5, "init_std": 0.01}
    first = maximize_conv1_channels(alex, [3], seed=1, **kwargs)[0]
    again = maximize_conv1_channels(alex, [3], seed=1, **kwargs)[0]
    other = maximize_conv1_channels(alex, [3], seed=2, **kwargs)[0]
    assert torch.equal(first.image, again.image)
    assert not torch.equal(first.image, other.image)


def test_noise_image_statistics() -> None:
    image = noise_image(224, 0.5, 0.01, seed=0)
    assert image.shape == (1, 3, 224, 224)
    assert float(image.mean()) == pytest.approx(0.5, abs=1e-3)
    assert float(image.std()) == pytest.approx(0.01, rel=0.02)
    assert torch.equal(image, noise_image(224, 0.5, 0.01, seed=0))
