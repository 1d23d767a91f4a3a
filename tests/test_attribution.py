"""Integrated Gradients and Grad-CAM (visionlab.attribution.attribution) on tiny models: completeness, Grad-CAM by
hand at each model's last conv activation, the in-place ReLUs of torchvision's AlexNet, the fast model's test-time
views, and the refusals."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients
from torch import nn
from torchvision.models import alexnet

from visionlab.attribution.attribution import grad_cam, gradcam_layer, integrated_gradients, mass_overlap, one_view
from visionlab.core.errors import PipelineError
from visionlab.models.normalize import Normalized
from visionlab.models.registry import build_model

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


RESNET = {"width": 4, "blocks": [1, 1, 1, 1], "kernel_size": 3}


@pytest.mark.parametrize(("name", "config"), [("cnn", TINY_CNN), ("resnet", RESNET)])
def test_grad_cam_is_the_papers_map_at_the_last_conv_activation(name: str, config: dict) -> None:
    model, x = tiny(name, config), images()
    # What practice reads: the CNN's last ReLU (before its pool), the ResNet's last block (after the residual sum).
    net = model.net
    block = net.features[-1][2] if name == "cnn" else net.layer4[-1]
    held = {}
    handle = block.register_forward_hook(lambda _m, _i, out: held.update(a=out))
    # The Grad-CAM paper: weights = the spatial mean of d(logit)/dA per channel; map = ReLU(sum_k w_k A_k).
    logits = model(x)
    handle.remove()
    grads = torch.autograd.grad(logits[0, 8] + logits[1, 5], held["a"])[0]
    weights, a = grads.mean(dim=(2, 3), keepdim=True), held["a"].detach()
    by_hand = F.interpolate(F.relu((weights * a).sum(dim=1, keepdim=True)), size=(32, 32), mode="bilinear")
    cam = grad_cam(model, gradcam_layer(model, name)[1], x, [8, 5])
    assert cam.shape == (2, 1, 32, 32) and float(by_hand.amax()) > 0
    assert torch.allclose(cam, by_hand, atol=1e-6 * float(by_hand.amax()))


def test_grad_cam_is_unchanged_by_an_in_place_relu_at_the_layer() -> None:
    # torchvision's AlexNet rectifies its last conv with ReLU(inplace=True), the module Grad-CAM hooks.
    def net(inplace: bool) -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(inplace=inplace), nn.Conv2d(6, 8, 3, padding=1),
            nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
        ).eval()  # fmt: skip

    x = images(size=16)
    maps = [grad_cam(model, model[3], x, [1, 2]) for model in (net(True), net(False))]  # at the last ReLU
    assert maps[0].shape == (2, 1, 16, 16) and maps[1].sum() > 0
    assert torch.equal(maps[0], maps[1])


def test_grad_cam_of_the_fast_model_takes_one_view_and_restores_its_test_time_views() -> None:
    model = tiny("fast", {"widths": [4, 4, 4], "tta": "flip_shift"})
    fast = model.net
    _, layer = gradcam_layer(model, "fast")
    with one_view(model) as single:
        cam = grad_cam(model, layer, images(), [8, 5])
    assert single and cam.shape == (2, 1, 32, 32) and fast.tta == "flip_shift"
    with pytest.raises(PipelineError, match="gave 12 maps for 2 images"):  # six views per image
        grad_cam(model, layer, images(), [8, 5])


@pytest.mark.parametrize("name", ["alexnet", "cnn", "resnet", "fast"])
def test_each_models_grad_cam_layer_is_its_last_conv_map_after_the_activation(name: str) -> None:
    configs = {"cnn": TINY_CNN, "resnet": RESNET, "fast": {"widths": [4, 4, 4], "tta": "none"}}
    torch.manual_seed(0)
    net = alexnet() if name == "alexnet" else build_model(name, configs[name])
    if name == "fast":
        net.init_from_data(torch.randn(16, 3, 32, 32))  # its whitening filters, zero until then
    model, size = Normalized(net, [0.5] * 3, [0.25] * 3).eval(), 224 if name == "alexnet" else 32
    conv = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)][-1]
    with torch.no_grad():
        conv.weight.normal_()  # an output far below zero (fast's convs start as identities of GELU outputs)
    layer_name, layer = gradcam_layer(model, name)
    seen = {}
    hooks = [m.register_forward_hook(lambda m, _i, out: seen.update({m: out.clone()})) for m in (conv, layer)]
    with torch.no_grad():
        model(torch.rand(2, 3, size, size))
    for hook in hooks:
        hook.remove()
    assert dict(model.named_modules())[layer_name] is layer
    assert float(seen[layer].min()) >= -0.17  # after the activation: ReLU >= 0, GELU >= -0.17 ...
    assert float(seen[conv].min()) < -1.0  # ... which the last conv's own output is not
    assert seen[layer].shape[-2:] == seen[conv].shape[-2:]  # the conv's map size: before any pooling


def test_a_model_without_its_last_conv_activation_is_refused_in_one_line() -> None:
    mlp = Normalized(nn.Sequential(nn.Flatten(), nn.Linear(12, 10)), [0.5] * 3, [0.25] * 3)
    with pytest.raises(PipelineError) as err:
        gradcam_layer(mlp, "cnn")
    assert str(err.value).startswith("model=cnn: the network lacks the last conv block's ReLU")
    assert "\n" not in str(err.value)
    with pytest.raises(PipelineError, match="model=mlp: no last conv activation known"):
        gradcam_layer(mlp, "mlp")


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
