"""Feature visualisation (visualize@<model>): the Fourier image, colour decorrelation, transforms, the ladder on a
toy unit with a known maximiser, the diversity term against Lucent's, the measures, the pre-ReLU read-out, its
params and its stage."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from test_interpret_stages import CIFAR_NAMES, TINY_CNN, TINY_SUMMARY
from torch import nn

from visionlab.core.errors import PipelineError, run_stage
from visionlab.core.params import parse_params
from visionlab.core.record import load_record, write_record
from visionlab.data.colour import ColourStats, colour_covariance
from visionlab.models.classifier import Classifier
from visionlab.models.normalize import Normalized
from visionlab.models.registry import build_model
from visionlab.probe.objectives import capture, channel_mean
from visionlab.visualize.measure import high_frequency, robust_activation
from visionlab.visualize.param import (
    IMAGENET_COLOUR_SQRT,
    FourierImage,
    colour_sqrt,
    decorrelate,
    decorrelation,
)
from visionlab.visualize.params import TransformParams, VisualizeParams
from visionlab.visualize.record import RUNGS, VisualizeInfo
from visionlab.visualize.render import Target, fourier, gram_similarity, ladder
from visionlab.visualize.targets import last_conv, targets
from visionlab.visualize.transform import apply, draw, random_transform

SMALL = TransformParams(shift=2, jitter=1, scale_min=0.9, scale_max=1.1, rotate=10.0)
IMAGENET = decorrelation(torch.tensor(IMAGENET_COLOUR_SQRT))


@pytest.mark.parametrize("size", [8, 9])  # rfft2 keeps size // 2 + 1 columns: even and odd differ
def test_the_fourier_image_gives_back_the_image_whose_spectrum_it_holds(size: int) -> None:
    image = FourierImage(2, size, torch.eye(3), 0.01, 1.0, torch.Generator().manual_seed(0))
    wanted = torch.randn(2, 3, size, size)
    spectrum = torch.fft.rfft2(wanted, norm="ortho") * 4 / image.scale  # what spatial() must undo
    image.spectrum = torch.view_as_real(spectrum).contiguous()
    assert torch.allclose(image.spatial(), wanted, atol=1e-5)
    assert torch.allclose(image.images(), torch.sigmoid(wanted), atol=1e-5)  # identity colours


def test_the_spectrum_falls_as_one_over_f() -> None:
    image = FourierImage(64, 16, torch.eye(3), 1.0, 1.0, torch.Generator().manual_seed(0))
    power = torch.fft.rfft2(image.spatial().detach(), norm="ortho").abs().pow(2).mean(dim=(0, 1))
    # Frequencies 1/16 and 4/16 along x: power ~ 1/f**2, a ratio of 16 (loose: 64 x 3 samples of each).
    assert 8 < float(power[0, 1] / power[0, 4]) < 32


@pytest.mark.parametrize("name", ["cifar_like", "imagenet"])
def test_decorrelated_noise_has_the_colour_covariance_it_was_given(name: str) -> None:
    if name == "imagenet":
        given = torch.tensor(IMAGENET_COLOUR_SQRT) @ torch.tensor(IMAGENET_COLOUR_SQRT).T
    else:
        given = torch.tensor([[0.062, 0.055, 0.052], [0.055, 0.060, 0.058], [0.052, 0.058, 0.069]])
    noise = torch.randn(1, 3, 400, 500, generator=torch.Generator().manual_seed(0))
    pixels = decorrelate(noise, colour_sqrt(given))[0].flatten(1)
    measured = torch.cov(pixels)
    # 200,000 samples: each entry within a few standard errors, sqrt((c_ii c_jj + c_ij^2) / n) <= 0.0003 here.
    assert torch.allclose(measured, given, atol=1e-3), (measured, given)


def test_the_colour_covariance_of_uint8_images_is_numpys() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (1500, 3, 4, 4), dtype=np.uint8)  # more than one chunk
    images[:, 1] = images[:, 0] // 2 + images[:, 1] // 2  # correlated green
    expected = np.cov(images.transpose(1, 0, 2, 3).reshape(3, -1) / 255, bias=True)
    assert np.allclose(colour_covariance(images), expected, atol=1e-12)


def test_the_stats_stage_writes_the_colour_covariance_apart_and_stats_json_as_before(tmp_path: Path, run_stage) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 3, 32, 32), dtype=np.uint8)
    data = tmp_path / "c.npz"
    np.savez(data, train_images=images, train_labels=np.arange(20) % 10, test_images=images[:2],
             test_labels=np.arange(2), class_names=np.array(CIFAR_NAMES))  # fmt: skip
    params = tmp_path / "params.yaml"
    params.write_text("seed: 0\ndata:\n  val_fraction: 0.1\n")
    alone, both = tmp_path / "alone.json", tmp_path / "both.json"
    assert run_stage("stats.py", "--params", params, "--data", data, "--out", alone).returncode == 0
    colour = tmp_path / "colour.json"
    result = run_stage("stats.py", "--params", params, "--data", data, "--out", both, "--colour", colour)
    assert result.returncode == 0, result.stderr
    assert both.read_bytes() == alone.read_bytes()
    stats = load_record(ColourStats, colour)
    train = images[np.sort(np.random.default_rng(0).permutation(20)[2:])]  # the seeded split: 2 held out
    expected = np.cov(train.transpose(1, 0, 2, 3).reshape(3, -1) / 255, bias=True)
    assert stats.train_images == 18 and np.allclose(stats.covariance, expected, atol=1e-12)


def test_transforms_are_deterministic_under_a_seed_and_keep_the_image_in_0_1() -> None:
    images = torch.rand(6, 3, 32, 32)
    images[0], images[1] = 0.0, 1.0
    first = random_transform(images, SMALL, torch.Generator().manual_seed(3))
    again = random_transform(images, SMALL, torch.Generator().manual_seed(3))
    other = random_transform(images, SMALL, torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == images.shape and float(first.min()) >= 0 and float(first.max()) <= 1
    assert all(not torch.allclose(moved, image, atol=1e-3) for moved, image in zip(first, images, strict=True))


def test_no_transform_is_the_identity_and_a_shift_moves_by_whole_pixels() -> None:
    images = torch.rand(4, 3, 16, 16)
    none = TransformParams(shift=0, jitter=0, scale_min=1.0, scale_max=1.0, rotate=0.0)
    assert torch.allclose(random_transform(images, none, torch.Generator().manual_seed(0)), images, atol=1e-6)
    shifted = random_transform(images, TransformParams(1, 0, 1.0, 1.0, 0.0), torch.Generator().manual_seed(0))
    for out, image in zip(shifted, images, strict=True):  # some one-pixel shift of the image, grey coming in
        rolled = [image.roll((dy, dx), (1, 2)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(torch.allclose(out[:, 1:-1, 1:-1], r[:, 1:-1, 1:-1], atol=1e-5) for r in rolled)


def test_alexnets_transforms_spread_the_content_as_far_as_lucents_do() -> None:
    # Lucent's standard_transforms move the content by jitter(8) then jitter(4), each np.random.choice(d) pixels
    # per axis (pad only adds a border; scale and rotation are about the centre): 0..10, spread sqrt(6.5) = 2.55.
    lucent = torch.tensor([a + b for a in range(8) for b in range(4)], dtype=torch.float64)
    alexnet = VisualizeParams().models.alexnet.transforms
    translation = dataclasses.replace(alexnet, scale_min=1.0, scale_max=1.0, rotate=0.0)
    size, count = 33, 4000
    impulses = torch.zeros(count, 1, size, size)
    impulses[:, :, size // 2, size // 2] = 1.0
    moved = random_transform(impulses, translation, torch.Generator().manual_seed(0)).flatten(1).argmax(dim=1)
    shifts = torch.stack([moved // size, moved % size], 1).double() - size // 2  # (dy, dx) in whole pixels
    assert int(shifts.max() - shifts.min()) == int(lucent.max() - lucent.min())  # 11 positions per axis
    assert torch.allclose(shifts.std(dim=0), lucent.std(unbiased=False).expand(2), rtol=0.1), shifts.std(dim=0)


class LinearUnit(nn.Module):
    """A unit linear in the pixels, with a smooth weight: its maximiser over [0, 1] is 1 where w > 0, else 0."""

    def __init__(self, size: int) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
        self.weight = torch.stack([torch.cos(3 * xs), torch.sin(3 * ys), -torch.cos(2 * (xs + ys))])
        self.features = nn.Conv2d(3, 4, 3)  # a layer the diversity rung can compare Gram matrices at
        torch.nn.init.normal_(self.features.weight, generator=torch.Generator().manual_seed(0))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.features(images)
        return (images * self.weight).sum(dim=(1, 2, 3))


def cosine_to_maximiser(images: torch.Tensor, unit: LinearUnit) -> torch.Tensor:
    best = (unit.weight > 0).float() - 0.5
    return torch.nn.functional.cosine_similarity((images - 0.5).flatten(1), best.flatten()[None], dim=1)


def test_every_rung_moves_toward_the_known_maximiser_of_a_linear_unit() -> None:
    unit = LinearUnit(16)
    target = Target("toy", "toy", unit, unit.features)
    settings = VisualizeParams(naive_steps=3, steps=40, diversity_batch=2)
    start = FourierImage(1, 16, IMAGENET, settings.sd, settings.decay_power, torch.Generator().manual_seed(0))
    before = float(cosine_to_maximiser(start.images().detach(), unit)[0])
    rungs = ladder(target, 16, IMAGENET, settings, SMALL, seed=0, device=torch.device("cpu"))
    assert tuple(rungs) == RUNGS
    for rung, result in rungs.items():
        after = cosine_to_maximiser(result.images, unit)
        assert float(after.min()) > max(before, 0) + 0.3, (rung, before, after)


def test_the_diversity_term_raises_the_mean_pairwise_distance_of_the_batch() -> None:
    unit = LinearUnit(16)
    # The unit's score times 0: what moves the batch is the diversity term alone.
    target = Target("toy", "toy", lambda images: 0 * unit(images), unit.features)
    settings = VisualizeParams(steps=30)

    def spread(weight: float) -> float:
        cpu = torch.device("cpu")
        result = fourier(target, 16, IMAGENET, settings, 0, cpu, SMALL, batch=4, diversity_weight=weight)
        return float(torch.pdist(result.images.flatten(1)).mean())

    assert spread(100.0) > 1.2 * spread(0.0)


def test_the_diversity_rung_scores_the_objectives_batch_mean_as_lucent_does() -> None:
    # Lucent's objectives are batch means (channel: -layer[:, n].mean()), so each image's score weighs 1 / N
    # against the diversity term, and a weight means what Lucent's does.
    unit, seen = LinearUnit(16), []

    def objective(images: torch.Tensor) -> torch.Tensor:
        scores = unit(images)
        scores.register_hook(seen.append)  # d(loss)/d(score of each image)
        return scores

    settings = VisualizeParams(steps=1)
    target = Target("toy", "toy", objective, unit.features)
    fourier(target, 16, IMAGENET, settings, 0, torch.device("cpu"), SMALL, batch=4, diversity_weight=100.0)
    assert torch.equal(seen[0], torch.full((4,), -0.25))


def lucent_diversity(features: torch.Tensor) -> torch.Tensor:
    """Lucent's ``diversity(layer)`` without its minus sign, from its definition: each Gram matrix of unit
    Frobenius norm, the sum over ordered pairs i != j of their inner products, divided by the batch."""
    count = features.shape[0]
    flat = features.flatten(2)
    grams = flat @ flat.transpose(1, 2)
    grams = grams / grams.flatten(1).norm(dim=1)[:, None, None]
    return sum((grams[i] * grams[j]).sum() for i in range(count) for j in range(count) if j != i) / count


def test_gram_similarity_is_lucents_diversity() -> None:
    features = torch.randn(3, 5, 4, 4, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(gram_similarity(features), lucent_diversity(features))
    same = features[:1].expand(4, -1, -1, -1)
    assert float(gram_similarity(same)) == pytest.approx(3.0)  # N - 1: every ordered pair alike
    orthogonal = torch.zeros(4, 4, 3, 3)
    for i in range(4):
        orthogonal[i, i] = torch.rand(3, 3) + 0.1  # image i lights channel i only: Gram entry (i, i) alone
    assert float(gram_similarity(orthogonal)) == pytest.approx(0.0, abs=1e-7)


def test_the_diversity_rung_reads_gram_matrices_after_the_activation() -> None:
    torch.manual_seed(0)
    model = Normalized(build_model("cnn", TINY_CNN), [0.5] * 3, [0.25] * 3).eval()
    clf = Classifier("cnn", model, tuple(CIFAR_NAMES), 32, True, {})
    found = targets(clf, VisualizeParams().models.cnn)  # last conv channels, the class
    with contextlib.ExitStack() as stack, torch.no_grad():
        seen = [stack.enter_context(capture(target.gram_layer)) for target in found]
        model(torch.rand(2, 3, 32, 32))
    assert len(found) == 3 and all(float(s.output.min()) == 0.0 and float(s.output.max()) > 0 for s in seen)


def test_high_frequency_of_white_noise_is_the_area_outside_radius_one_quarter() -> None:
    # White noise spreads its energy evenly over the frequency square [-1/2, 1/2)^2 (area 1); half the Nyquist
    # frequency is the circle of radius 1/4 (area pi / 16).
    noise = torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(high_frequency(noise), torch.full((8,), 1 - math.pi / 16), atol=0.02)


@pytest.mark.parametrize(
    ("fy", "fx", "share"),
    [(0, 8, 0.0), (0, 24, 1.0), (6, 6, 0.0), (12, 12, 1.0)],  # cycles per 64 px; (12, 12): radius 0.265 > 1/4
)
def test_high_frequency_of_a_pure_cosine_is_all_or_nothing(fy: int, fx: int, share: float) -> None:
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    image = (0.5 + 0.4 * torch.cos(2 * math.pi * (fy * ys + fx * xs) / 64)).expand(1, 3, 64, 64)
    assert float(high_frequency(image)[0]) == pytest.approx(share, abs=1e-6)


def test_robust_activation_is_each_images_mean_over_the_maps() -> None:
    unit, images = LinearUnit(16), torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    maps = draw(5, SMALL, 16, torch.Generator().manual_seed(1))
    expected = [sum(float(unit(apply(image[None], m[None]))[0]) for m in maps) / len(maps) for image in images]
    assert robust_activation(unit, images, maps).tolist() == pytest.approx(expected, abs=1e-5)


def test_robust_activation_is_the_mean_over_every_trial_in_passes_of_at_most_64_copies() -> None:
    images, generator = torch.rand(3, 3, 8, 8), torch.Generator().manual_seed(0)
    maps = draw(200, SMALL, 8, generator)
    seen: list[int] = []

    def objective(copies: torch.Tensor) -> torch.Tensor:  # a score per image that depends on the transform
        seen.append(len(copies))
        return (copies * torch.linspace(-1, 1, 8)).sum(dim=(1, 2, 3))

    unbatched = torch.stack(
        [torch.stack([objective(apply(image[None], m[None]))[0] for m in maps]) for image in images]
    )
    seen.clear()
    assert torch.allclose(robust_activation(objective, images, maps), unbatched.mean(dim=1), atol=1e-5)
    assert max(seen) <= 64 and sum(seen) == 3 * 200  # memory does not grow with the trials: 600 copies in 64s


def test_the_fourier_image_is_finite_at_the_schemas_bounds_and_what_breaks_it_is_refused() -> None:
    unit, cpu = LinearUnit(32), torch.device("cpu")
    target = Target("toy", "toy", unit, unit.features)

    def finite(settings: dict, transforms: dict) -> bool:  # namespaces: the schema would refuse the broken values
        params = SimpleNamespace(**{"steps": 4, "lr": 0.05, "sd": 0.01, "decay_power": 1.0, "diversity_weight": 100.0})
        params.__dict__.update(settings)
        moves = SimpleNamespace(**{**dataclasses.asdict(SMALL), **transforms})
        result = fourier(target, 32, IMAGENET, params, 0, cpu, moves, 2, params.diversity_weight)
        robust = robust_activation(unit, result.images, draw(8, moves, 32, torch.Generator().manual_seed(1)))
        return bool(torch.isfinite(result.images).all() and torch.isfinite(robust).all())

    tiny = {"scale_min": 1e-40, "scale_max": 1e-40}  # float32 holds no inverse: the transforms turn NaN
    broken = [({"sd": 1e38}, {}), ({"decay_power": 30.0}, {}), ({"diversity_weight": 1e39}, {}), ({}, tiny)]
    for settings, transforms in broken:  # real faults, as on e04381c: a NaN image or robust activation ...
        assert not finite(settings, transforms), (settings, transforms)
        with pytest.raises(PipelineError, match="must be a number in"):  # ... now refused before any work
            parse_params(
                {"visualize": {**settings, "models": {"cnn": {"transforms": transforms}}}}, visualize=VisualizeParams
            )
    edges = {"sd": 1.0, "decay_power": 2.0, "lr": 10.0, "diversity_weight": 10_000.0}
    for scale in (1 / 32, 32.0):  # every bound at once, the scale at either end
        assert finite(edges, {"shift": 224, "jitter": 224, "scale_min": scale, "scale_max": scale, "rotate": 180.0})
        transforms = {"scale_min": scale, "scale_max": scale}
        parse_params({"visualize": {**edges, "models": {"cnn": {"transforms": transforms}}}}, visualize=VisualizeParams)


def test_a_channel_read_after_an_in_place_relu_is_pre_relu() -> None:
    conv = nn.Conv2d(3, 2, 3)
    nn.init.constant_(conv.bias, -1.0)  # channel means below 0, whatever the random weights
    nn.init.uniform_(conv.weight, -0.05, 0.05)
    model = nn.Sequential(conv, nn.ReLU(inplace=True), nn.Conv2d(2, 1, 1))
    images = torch.rand(8, 3, 8, 8)
    read = channel_mean(model, conv, 1)(images)
    direct = conv(images)[:, 1].mean(dim=(1, 2))
    assert torch.allclose(read, direct) and bool((direct < 0).any())  # a post-ReLU read-out is never negative


@pytest.mark.parametrize("name", ["cnn", "resnet", "fast"])
def test_each_models_last_conv_read_out_comes_before_its_activation(name: str) -> None:
    configs = {"cnn": TINY_CNN, "resnet": {"width": 4, "blocks": [1, 1, 1, 1]}, "fast": {"widths": [4, 4, 4]}}
    torch.manual_seed(0)
    net = build_model(name, configs[name]).eval()
    if name == "fast":
        net.init_from_data(torch.randn(16, 3, 32, 32))
    layer = last_conv(name, net)
    assert isinstance(layer, nn.BatchNorm2d)
    with torch.no_grad():
        layer.bias.fill_(-1.0)  # about -1 before the activation; after it 0 (ReLU) or -0.16 (GELU)
    with capture(layer) as seen, torch.no_grad():
        net(torch.rand(4, 3, 32, 32))
    assert float(seen.output.max()) < -0.5


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"steps": 0}, "visualize.steps must be an integer in 1..100000, got 0"),
        ({"diversity_batch": 1}, "visualize.diversity_batch must be an integer in 2..32, got 1"),
        ({"models": {"cnn": {"class_objectives": ["logits"]}}}, "class_objectives must be a list of logit, prob"),
        ({"models": {"fast": {"transforms": {"rotate": -1}}}}, "rotate must be a number of degrees in [0, 180]"),
        ({"models": {"resnet": {"transforms": {"scale_min": 1.2}}}}, "must be a range with scale_min <= scale_max"),
        ({"models": {"alexnet": {"conv1_channels": [64]}}}, "conv1_channels must be a list of integers in 0..63"),
        ({"models": {"vgg": {}}}, "unknown key visualize.models.vgg"),
        (
            {"models": {"cnn": {"channels": [], "class_objectives": []}}},
            "visualize.models.cnn must be a model with an objective in class_objectives, channels or conv1_channels, "
            "got {channels: [], class_objectives: []}",
        ),
    ],
)
def test_bad_visualize_params_are_refused_in_one_line(raw: dict, message: str) -> None:
    with pytest.raises(PipelineError, match=None) as err:
        parse_params({"visualize": raw}, visualize=VisualizeParams)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_partial_alexnet_entry_keeps_alexnets_defaults() -> None:
    raw = {"visualize": {"models": {"alexnet": {"channels": [3]}}}}
    alexnet = parse_params(raw, visualize=VisualizeParams).visualize.models.alexnet
    assert alexnet.class_index == 207 and alexnet.transforms.shift == 3 and alexnet.channels == [3]


TINY = {"naive_steps": 2, "steps": 3, "diversity_batch": 2, "robust_trials": 2}


def run_visualize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, **section: object) -> int:
    from stages.visualize import main

    params = tmp_path / "params.yaml"
    raw = {"seed": 0, "device": "cpu", "visualize": {**TINY, **section}}
    params.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    argv = ["visualize", "--params", str(params), *args, "--figure", str(out / "v.png"), "--out", str(out / "v.json")]
    monkeypatch.setattr(sys, "argv", argv)
    try:
        run_stage(main)
    except SystemExit as exit_:
        return int(exit_.code)
    return 0


def cnn_inputs(tmp_path: Path) -> list[str]:
    """A tiny trained-CNN checkpoint and colour stats, as the stage's arguments."""
    torch.manual_seed(0)
    torch.save(
        {
            "model": "cnn",
            "config": TINY_CNN,
            "state_dict": build_model("cnn", TINY_CNN).state_dict(),
            "mean": [0.5] * 3,
            "std": [0.25] * 3,
            "class_names": CIFAR_NAMES,
            "summary": TINY_SUMMARY,
        },
        tmp_path / "cnn.pt",
    )
    colour = tmp_path / "colour.json"
    write_record(colour, ColourStats([[0.06, 0.05, 0.05], [0.05, 0.06, 0.05], [0.05, 0.05, 0.07]], 4))
    return ["--model", "cnn", "--checkpoint", str(tmp_path / "cnn.pt"), "--colour-stats", str(colour)]


def test_the_stage_on_a_cifar_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_visualize(tmp_path, monkeypatch, *cnn_inputs(tmp_path)) == 0
    info = load_record(VisualizeInfo, tmp_path / "out" / "v.json")
    assert [o.key for o in info.objectives] == ["last_conv_0", "last_conv_1", "class_logit"]
    assert all(tuple(o.rungs) == RUNGS for o in info.objectives)
    assert "4 training images" in info.colour and not info.model.random_weights
    assert (tmp_path / "out" / "v.png").stat().st_size > 0
    json.loads((tmp_path / "out" / "v.json").read_text())


@pytest.mark.parametrize(
    ("section", "message"),
    [  # on e04381c: a torch traceback; the figure written, then a NaN blamed on the record; a matplotlib traceback
        ({"lr": 1.0e300}, "visualize.lr must be a number in (0, 10], got 1.0e+300"),
        ({"decay_power": 30.0}, "visualize.decay_power must be a number in [0, 2], got 30.0"),
        (
            {"models": {"cnn": {"channels": [], "class_objectives": []}}},
            "visualize.models.cnn must be a model with an objective in class_objectives, channels or conv1_channels, "
            "got {channels: [], class_objectives: []}",
        ),
    ],
)
def test_the_stage_refuses_what_it_cannot_render_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], section: dict, message: str
) -> None:
    assert run_visualize(tmp_path, monkeypatch, *cnn_inputs(tmp_path), **section) == 1
    assert capsys.readouterr().err.splitlines() == [f"error: {tmp_path / 'params.yaml'}: {message}"]
    assert not (tmp_path / "out").exists()


def test_the_stage_refuses_a_cifar_model_without_colour_stats_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.save(
        {"model": "cnn", "config": TINY_CNN, "state_dict": build_model("cnn", TINY_CNN).state_dict(),
         "mean": [0.5] * 3, "std": [0.25] * 3, "class_names": CIFAR_NAMES, "summary": TINY_SUMMARY},
        tmp_path / "cnn.pt",
    )  # fmt: skip
    assert run_visualize(tmp_path, monkeypatch, "--model", "cnn", "--checkpoint", str(tmp_path / "cnn.pt")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs --colour-stats" in err[0]
    assert not (tmp_path / "out").exists()


def test_the_stage_on_random_alexnet_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alexnet_file: Path
) -> None:
    models = {"alexnet": {"conv1_channels": [5], "channels": [0], "class_objectives": ["prob"]}}
    args = ("--model", "alexnet", "--checkpoint", str(alexnet_file))
    assert run_visualize(tmp_path, monkeypatch, *args, models=models) == 0
    info = load_record(VisualizeInfo, tmp_path / "out" / "v.json")
    assert info.model.random_weights and "ImageNet" in info.colour and info.input_size == 224
    assert [o.key for o in info.objectives] == ["conv1_5", "conv5_0", "class_prob"]
