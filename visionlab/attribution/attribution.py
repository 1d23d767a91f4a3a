"""Where a classifier looks at the attack's ship, clean and adversarial: Integrated Gradients and Grad-CAM (Captum). The
adversarial image is the seed's unbounded attack recomputed here with the attack stage's own code and params
(deterministic: no random start), so ``attack@<model>`` stays as it is and this stage's deps are exact."""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam
from torch import nn

from visionlab.attack.attack import SHIP, ships_and_target, unbounded_attack
from visionlab.attack.params import AttackParams
from visionlab.attribution.record import AttributedImage, AttributionInfo, ClassAttribution, MassOverlap
from visionlab.core.errors import PipelineError
from visionlab.data.cifar import Cifar10
from visionlab.models.classifier import Classifier, last_activation
from visionlab.probe.record import probed_model

ALEXNET_SHIP = "container ship"  # ImageNet has no class "ship"; ours: the nearest to CIFAR-10's
INPUTS = ("clean", "adversarial")
TOWARD = ("ship", "target")
IG_BATCH = 32  # images a forward and backward pass of Integrated Gradients (memory, not n_steps)


def gradcam_layer(model: nn.Module, name: str) -> tuple[str, nn.Module]:
    """Where Grad-CAM reads ``model`` (a ``Normalized`` network): :func:`last_activation`, and its name."""
    layer = last_activation(name, getattr(model, "net", None))
    return next(n for n, m in model.named_modules() if m is layer), layer


@contextlib.contextmanager
def one_view(model: nn.Module) -> Iterator[bool]:
    """Test-time views off (the fast model's ``tta``) while Grad-CAM runs; yields whether any were on. With them on, the
    last conv sees six flipped and shifted copies of the image, six maps for one image."""
    views = [(m, m.tta) for m in model.modules() if getattr(m, "tta", "none") != "none"]
    for module, _ in views:
        module.tta = "none"
    try:
        yield bool(views)
    finally:
        for module, tta in views:
            module.tta = tta


def integrated_gradients(
    model: nn.Module, images: torch.Tensor, targets: list[int], n_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """IG of each image toward its target logit from the black image (pixel space: the models normalise
    inside), :data:`IG_BATCH` path images a forward pass whatever ``n_steps``; the attributions and Captum's
    convergence deltas."""
    ig = IntegratedGradients(model)
    attributions, delta = ig.attribute(
        images,
        baselines=torch.zeros_like(images),
        target=targets,
        n_steps=n_steps,
        internal_batch_size=max(IG_BATCH, len(images)),  # Captum needs one step of every image a pass
        return_convergence_delta=True,
    )
    return attributions.detach(), delta.detach()


def grad_cam(model: nn.Module, layer: nn.Module, images: torch.Tensor, targets: list[int]) -> torch.Tensor:
    """Grad-CAM (ReLU'd) of each image toward its target at ``layer``, upsampled bilinearly to the image size."""
    cam = LayerGradCam(model, layer).attribute(images, target=targets, relu_attributions=True)
    if cam.shape[0] != images.shape[0]:
        raise PipelineError(f"Grad-CAM gave {cam.shape[0]} maps for {images.shape[0]} images at this layer")
    return LayerAttribution.interpolate(cam.detach(), tuple(images.shape[-2:]), interpolate_mode="bilinear")


def mass_overlap(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """sum(min(a, b)) of two non-negative maps each normalised to sum 1; None if either is all zero."""
    total_a, total_b = float(a.sum()), float(b.sum())
    if total_a <= 0 or total_b <= 0:
        return None
    return min(1.0, float(torch.minimum(a / total_a, b / total_b).sum()))


@dataclass
class ShipAttribution:
    """The clean and adversarial ship and their maps, indexed [input][toward] as INPUTS x TOWARD."""

    ship: int  # position in the test split
    images: torch.Tensor  # (2, 3, S, S): clean, adversarial
    ig: torch.Tensor  # (2, 2, 3, S, S)
    cam: torch.Tensor  # (2, 2, 1, S, S)
    info: AttributionInfo


def ship_class(clf: Classifier) -> int:
    """The ship's true class for ``clf``: CIFAR-10's "ship", or ImageNet's "container ship" for AlexNet."""
    for name in (SHIP, ALEXNET_SHIP):
        if name in clf.class_names:
            return clf.class_names.index(name)
    raise PipelineError(f"model={clf.name} has no class {SHIP!r} or {ALEXNET_SHIP!r} to attribute the ship toward")


def attribute_ship(clf: Classifier, data: Cifar10, attack: AttackParams, n_steps: int) -> ShipAttribution:
    """IG and Grad-CAM of the attack's ship, clean and after the seed's unbounded attack, toward ship and target."""
    layer_name, layer = gradcam_layer(clf.model, clf.name)  # refused before any work
    _, ship, target = ships_and_target(clf, data, attack)
    true = ship_class(clf)
    unbounded = unbounded_attack(clf, data.test_images[ship], target, attack.steps, attack.step_size)
    images = torch.cat([unbounded.original, unbounded.adversarial]).detach()
    pairs = [(i, c) for i in range(len(INPUTS)) for c in (true, target)]  # image, class: rows of INPUTS x TOWARD
    batch, targets = images[[i for i, _ in pairs]], [c for _, c in pairs]
    ig, delta = integrated_gradients(clf.model, batch, targets, n_steps)
    with one_view(clf.model) as single_view:
        cam = grad_cam(clf.model, layer, batch, targets)
    with torch.no_grad():
        logits = clf.model(torch.cat([images, torch.zeros_like(images[:1])]))
    probs = F.softmax(logits[:2], dim=1)
    ig, cam, delta = ig.view(2, 2, *ig.shape[1:]), cam.view(2, 2, *cam.shape[1:]), delta.view(2, 2)
    records = []
    for i in range(len(INPUTS)):
        per_class = []
        for j, c in enumerate((true, target)):
            per_class.append(
                ClassAttribution(
                    logit=float(logits[i, c]),
                    baseline_logit=float(logits[2, c]),
                    ig_sum=float(ig[i, j].sum()),
                    convergence_delta=float(delta[i, j]),
                    gradcam_sum=float(cam[i, j].sum()),
                )
            )
        best = int(probs[i].argmax())
        records.append(AttributedImage(best, clf.class_names[best], float(probs[i, best]), *per_class))
    ig_mass = ig.abs().sum(dim=2)  # per pixel, over colour channels
    overlap = MassOverlap(
        *(mass_overlap(ig_mass[0, j], ig_mass[1, j]) for j in range(2)),
        *(mass_overlap(cam[0, j], cam[1, j]) for j in range(2)),
    )
    info = AttributionInfo(
        model=probed_model(clf.name, clf.random_weights, clf.provenance),
        ship_test_index=ship,
        input_size=clf.input_size,
        ship_class=true,
        ship_name=clf.class_names[true],
        target_class=target,
        target_name=clf.class_names[target],
        attack_steps=attack.steps,
        attack_step_size=attack.step_size,
        n_steps=n_steps,
        gradcam_layer=layer_name,
        gradcam_single_view=single_view,
        clean=records[0],
        adversarial=records[1],
        overlap=overlap,
    )
    return ShipAttribution(ship, images, ig, cam, info)


def attribution_summary(result: ShipAttribution) -> str:
    """Lines for the stage's log: the predictions and IG's completeness."""
    info = result.info
    lines = [
        f"ship #{result.ship}: top-1 {info.clean.predicted_name} -> {info.adversarial.predicted_name} "
        f"after the attack toward {info.target_name}; Grad-CAM at {info.gradcam_layer}"
    ]
    for name, image in zip(INPUTS, (info.clean, info.adversarial), strict=True):
        for toward, a in zip(TOWARD, (image.toward_ship, image.toward_target), strict=True):
            lines.append(
                f"  {name} toward {toward}: sum(IG) {a.ig_sum:.4g}, f(x) - f(black) "
                f"{a.logit - a.baseline_logit:.4g}, delta {a.convergence_delta:.2g}"
            )
    return "\n".join(lines)
