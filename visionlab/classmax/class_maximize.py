"""Class maximisation (seed 4): ascend a class's probability (or logit) from seeded noise, then check
whether the result survives small random shifts and rescales."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from visionlab.classmax.params import MaximizeClassParams
from visionlab.classmax.record import ClassInfo, ClassMetrics, Guess, RobustnessInfo
from visionlab.models.classifier import Classifier
from visionlab.probe.objectives import class_objective
from visionlab.probe.optimize import gradient_ascent, noise_image
from visionlab.probe.record import probed_model


@dataclass
class Jittered:
    images: torch.Tensor  # (N, 3, H, W)
    shifts: torch.Tensor  # (N, 2): (x, y) as fractions of the image size, positive = right / down
    scales: torch.Tensor  # (N,): > 1 zooms in


def shift_rescale(image: torch.Tensor, shifts: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Copies of ``image`` (1, C, H, W) zoomed by ``scales`` about the centre, then moved by ``shifts``;
    borders are filled by reflection."""
    count = shifts.shape[0]
    # affine_grid maps output to input coordinates in [-1, 1]: a zoom by s reads the input at x / s,
    # and a move of f image sizes is 2f in those coordinates (read from the opposite side).
    theta = torch.zeros((count, 2, 3), dtype=image.dtype)
    theta[:, 0, 0] = 1 / scales
    theta[:, 1, 1] = 1 / scales
    theta[:, :, 2] = -2 * shifts
    theta = theta.to(image.device)
    batch = image.expand(count, -1, -1, -1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return moved.clamp(0, 1)


def random_shift_rescale(
    image: torch.Tensor, count: int, max_shift: float, max_scale: float, generator: torch.Generator
) -> Jittered:
    """``count`` copies of ``image``, each shifted by up to ``max_shift`` of its size in x and y and
    rescaled by a factor in [1 - max_scale, 1 + max_scale], drawn from ``generator``."""
    shifts = (torch.rand((count, 2), generator=generator) * 2 - 1) * max_shift
    scales = 1 + (torch.rand(count, generator=generator) * 2 - 1) * max_scale
    return Jittered(images=shift_rescale(image, shifts, scales), shifts=shifts, scales=scales)


@dataclass
class ClassResult:
    class_index: int
    objective: str
    initial: torch.Tensor  # (3, S, S) on the CPU
    image: torch.Tensor
    initial_probability: float
    probability: float
    logit: float
    top: list[tuple[int, float]]  # top-5 (class index, probability)
    jittered: Jittered  # on the CPU
    jittered_probabilities: torch.Tensor  # (trials,) p(class) of each jittered copy
    jittered_top1: torch.Tensor  # (trials,) top-1 class of each jittered copy


def maximize_class_with(clf: Classifier, settings: MaximizeClassParams, seed: int) -> ClassResult:
    """Ascend p(class) of ``clf``'s own class (``maximize_class`` params) or its logit from seeded noise, then
    re-score randomly shifted/rescaled copies."""
    index = settings.class_index.of(clf.name)
    clf.check_class(index, f"maximize_class.class_index.{clf.name}")
    device = next(clf.model.parameters()).device
    init = noise_image(clf.input_size, settings.init_mean, settings.init_std, seed, device)
    objective = class_objective(clf.model, index, settings.objective)
    image = gradient_ascent(objective, init, settings.steps, settings.step_size, desc="class").images
    generator = torch.Generator().manual_seed(seed + 1)
    jittered = random_shift_rescale(
        image.cpu(), settings.robustness_trials, settings.max_shift, settings.max_scale, generator
    )
    with torch.no_grad():
        logits = clf.model(torch.cat([init, image, jittered.images.to(device)]))
        probs = F.softmax(logits, dim=1).cpu()
    values, indices = probs[1].topk(min(5, len(clf.class_names)))
    return ClassResult(
        class_index=index,
        objective=settings.objective,
        initial=init[0].cpu(),
        image=image[0].cpu(),
        initial_probability=float(probs[0, index]),
        probability=float(probs[1, index]),
        logit=float(logits[1, index]),
        top=[(int(i), float(p)) for p, i in zip(values, indices, strict=True)],
        jittered=jittered,
        jittered_probabilities=probs[2:, index],
        jittered_top1=probs[2:].argmax(dim=1),
    )


def class_records(
    clf: Classifier, settings: MaximizeClassParams, result: ClassResult
) -> tuple[ClassMetrics, ClassInfo]:
    """The class-maximisation stages' metrics (the probabilities reached) and info (what, how, the top-5)."""
    robustness = None
    if settings.robustness_trials:
        kept = float((result.jittered_top1 == result.class_index).float().mean())
        p = result.jittered_probabilities
        robustness = RobustnessInfo(
            settings.robustness_trials, settings.max_shift, settings.max_scale, float(p.mean()), float(p.min()), kept
        )
    metrics = ClassMetrics(result.probability)
    info = ClassInfo(
        model=probed_model(clf.name, clf.random_weights, clf.provenance),
        class_index=result.class_index,
        class_name=clf.class_names[result.class_index],
        objective=settings.objective,
        steps=settings.steps,
        step_size=settings.step_size,
        initial_probability=result.initial_probability,
        logit=result.logit,
        top5=[Guess(i, clf.class_names[i], p) for i, p in result.top],
        robustness=robustness,
    )
    return metrics, info


def class_summary(clf: Classifier, settings: MaximizeClassParams, result: ClassResult) -> str:
    """The stage's log lines."""
    text = (
        f"{clf.name} class {clf.label(result.class_index)}: p {result.initial_probability:.4f} -> "
        f"{result.probability:.4f} after {settings.steps} steps"
    )
    if settings.robustness_trials:
        kept = float((result.jittered_top1 == result.class_index).float().mean())
        text += (
            f"\nafter {settings.robustness_trials} random shifts/rescales: mean p "
            f"{float(result.jittered_probabilities.mean()):.4f}, still top-1 in {100 * kept:.0f} %"
        )
    return text
