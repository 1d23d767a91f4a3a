"""Integrated Gradients and Grad-CAM (visionlab.interpret.attribution) on tiny models: completeness, map sizes,
the in-place ReLUs of torchvision's AlexNet, the fast model's test-time views, and the refusals."""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients
from torch import nn

from visionlab.errors import PipelineError
from visionlab.interpret.attribution import grad_cam, integrated_gradients, last_conv, mass_overlap, one_view
from visionlab.models import build_model
from visionlab.models.normalize import Normalized

TINY_CNN = {"channels": [4, 4, 4, 4], "kernel_sizes": [3, 3, 3, 3], "dropout": 0.0, "fc_widths": [8, 8, 8]}


def tiny(name: str, config: dict) -> nn.Module:
    torch.manual_seed(0)
    return Normalized(build_model(name, config), [0.5] * 3, [0.25] * 3).eval()


def images(count: int = 2, size: int = 32) -> torch.Tensor:
    return torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(1))


def curved() -> nn.Module:
    """A small conv net whose logits move by order 1 between black and the images, and not linearly."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.Softplus(), nn.Conv2d(8, 8, 3, padding=1), nn.Tanh(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )  # fmt: skip
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Conv2d | nn.Linear):
                layer.weight.mul_(4)
    return Normalized(net, [0.5] * 3, [0.25] * 3).eval()


def test_integrated_gradients_are_complete_within_captums_delta() -> None:
    model, x = curved(), images()
    attributions, delta = integrated_gradients(model, x, [8, 5], n_steps=50)
    with torch.no_grad():
        scores, black = model(x), model(torch.zeros_like(x))
    change = torch.stack([scores[0, 8] - black[0, 8], scores[1, 5] - black[1, 5]])
    sums = attributions.flatten(1).sum(dim=1)
    assert attributions.shape == x.shape
    assert torch.allclose(sums - change, delta, atol=1e-5)  # the delta Captum reports is the true gap ...
    assert (delta.abs() <= 0.05 * change.abs() + 1e-4).all(), (delta, change)  # ... and small after 50 steps
    assert change.abs().min() > 0.1  # not a vacuous check on a flat model


def test_grad_cam_has_the_images_size_and_is_non_negative() -> None:
    model, x = tiny("cnn", TINY_CNN), images()
    _, layer = last_conv(model, "cnn")
    cam = grad_cam(model, layer, x, [8, 5])
    assert cam.shape == (2, 1, 32, 32) and (cam >= 0).all() and cam.sum() > 0


def test_grad_cam_is_unchanged_by_an_in_place_relu_after_the_layer() -> None:
    # torchvision's AlexNet follows its last conv with ReLU(inplace=True), which would overwrite the hooked output.
    def net(inplace: bool) -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace), nn.Conv2d(6, 8, 3, padding=1),
            nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
        ).eval()  # fmt: skip

    x = images(size=16)
    maps = [grad_cam(model, model[2], x, [1, 2]) for model in (net(True), net(False))]
    assert maps[0].shape == (2, 1, 16, 16) and maps[1].sum() > 0
    assert torch.equal(maps[0], maps[1])


def test_grad_cam_of_the_fast_model_takes_one_view_and_restores_its_test_time_views() -> None:
    model = tiny("fast", {"widths": [4, 4, 4], "tta": "flip_shift"})
    fast = model.net
    _, layer = last_conv(model, "fast")
    with one_view(model) as single:
        cam = grad_cam(model, layer, images(), [8, 5])
    assert single and cam.shape == (2, 1, 32, 32) and fast.tta == "flip_shift"
    with pytest.raises(PipelineError, match="gave 12 maps for 2 images"):  # six views per image
        grad_cam(model, layer, images(), [8, 5])


def test_the_last_conv_skips_a_resnets_shortcut_projection() -> None:
    model = tiny("resnet", {"width": 4, "blocks": [1, 1, 1, 1], "kernel_size": 3})
    name, conv = last_conv(model, "resnet")
    assert name == "1.layer4.0.conv2.1" and conv.kernel_size == (3, 3)


def test_a_model_without_a_conv_layer_is_refused_in_one_line() -> None:
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(12, 10), nn.Conv2d(3, 3, 1))  # a 1x1 conv is no spatial map
    with pytest.raises(PipelineError) as err:
        last_conv(mlp, "mlp")
    assert str(err.value) == "model=mlp has no conv layer (an nn.Conv2d larger than 1x1): Grad-CAM needs one"


def test_mass_overlap() -> None:
    a = torch.tensor([[1.0, 3.0], [0.0, 0.0]])
    assert mass_overlap(a, 2 * a) == pytest.approx(1.0)  # scale does not matter
    assert mass_overlap(a, torch.tensor([[0.0, 0.0], [1.0, 1.0]])) == 0.0  # disjoint
    assert mass_overlap(a, torch.tensor([[1.0, 1.0], [0.0, 0.0]])) == pytest.approx(0.25 + 0.5)
    assert mass_overlap(a, torch.zeros(2, 2)) is None


def test_integrated_gradients_sees_at_most_32_images_a_pass_whatever_n_steps() -> None:
    # Memory: on e04381c the model saw n_steps images a pass (1,000 steps of AlexNet: killed at 3 GB).
    model, x, targets = curved(), images(4), [8, 5, 1, 2]
    seen: list[int] = []
    hook = model.register_forward_pre_hook(lambda _, args: seen.append(len(args[0])))
    attributions, delta = integrated_gradients(model, x, targets, n_steps=100)
    hook.remove()
    assert max(seen) <= 32 and sum(seen) >= 4 * 100
    whole, whole_delta = IntegratedGradients(model).attribute(  # Captum's, all 400 path images in one pass
        x, baselines=torch.zeros_like(x), target=targets, n_steps=100, return_convergence_delta=True
    )
    assert torch.allclose(attributions, whole, atol=1e-6) and torch.allclose(delta, whole_delta, atol=1e-5)
