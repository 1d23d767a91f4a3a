"""Class maximisation (seed 4): ascend a class's probability (or logit) from seeded noise, then check
whether the result survives small random shifts and rescales."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from visionlab.interpret.classifiers import Classifier
from visionlab.interpret.objectives import class_objective
from visionlab.interpret.optimize import gradient_ascent
from visionlab.interpret.parametrization import noise_image
from visionlab.interpret.transforms import Jittered, random_shift_rescale
from visionlab.metrics.classes import ClassInfo, ClassMetrics, Guess, RobustnessInfo, RobustnessScores
from visionlab.metrics.probe import probed_model
from visionlab.params import MaximizeClassParams


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


def maximize_class(
    clf: Classifier,
    class_index: int,
    objective: str,
    steps: int,
    step_size: float,
    init_mean: float,
    init_std: float,
    seed: int,
    trials: int,
    max_shift: float,
    max_scale: float,
) -> ClassResult:
    """Ascend p(class) or its logit from seeded noise, then re-score randomly shifted/rescaled copies."""
    device = next(clf.model.parameters()).device
    init = noise_image(clf.input_size, init_mean, init_std, seed, device)
    result = gradient_ascent(class_objective(clf.model, class_index, objective), init, steps, step_size, desc="class")
    image = result.images
    jittered = random_shift_rescale(image.cpu(), trials, max_shift, max_scale, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        logits = clf.model(torch.cat([init, image, jittered.images.to(device)]))
        probs = F.softmax(logits, dim=1).cpu()
    values, indices = probs[1].topk(min(5, clf.num_classes))
    return ClassResult(
        class_index=class_index,
        objective=objective,
        initial=init[0].cpu(),
        image=image[0].cpu(),
        initial_probability=float(probs[0, class_index]),
        probability=float(probs[1, class_index]),
        logit=float(logits[1, class_index]),
        top=[(int(i), float(p)) for p, i in zip(values, indices, strict=True)],
        jittered=jittered,
        jittered_probabilities=probs[2:, class_index],
        jittered_top1=probs[2:].argmax(dim=1),
    )


def maximize_class_with(clf: Classifier, settings: MaximizeClassParams, seed: int) -> ClassResult:
    """:func:`maximize_class` with the ``maximize_class`` params, on ``clf``'s own class."""
    index = settings.class_index.of(clf.name)
    clf.check_class(index, f"maximize_class.class_index.{clf.name}")
    return maximize_class(
        clf, index, settings.objective, settings.steps, settings.step_size, settings.init_mean,
        settings.init_std, seed, settings.robustness_trials, settings.max_shift, settings.max_scale,
    )  # fmt: skip


def class_records(
    clf: Classifier, settings: MaximizeClassParams, result: ClassResult
) -> tuple[ClassMetrics, ClassInfo]:
    """The class-maximisation stages' metrics (the probabilities reached) and info (what, how, the top-5)."""
    robustness, robustness_info = None, None
    if settings.robustness_trials:
        kept = result.jittered_top1 == result.class_index
        robustness = RobustnessScores(float(result.jittered_probabilities.mean()), float(kept.float().mean()))
        robustness_info = RobustnessInfo(
            settings.robustness_trials,
            settings.max_shift,
            settings.max_scale,
            float(result.jittered_probabilities.min()),
        )
    metrics = ClassMetrics(result.probability, robustness)
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
        robustness=robustness_info,
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
