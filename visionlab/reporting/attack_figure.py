"""The figure of the attack stages: original, adversarial and difference, unbounded and bounded."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from visionlab.interpret.attack import ShipAttack
from visionlab.interpret.classifiers import Classifier
from visionlab.params import AttackParams
from visionlab.reporting.figure_style import model_note, prob_label, rgb, short, title_with_banner


def _difference(delta: torch.Tensor) -> tuple[np.ndarray, float]:
    """The perturbation scaled so its largest component spans the colour range, centred on grey."""
    scale = float(delta.abs().max()) or 1.0
    return rgb(0.5 + delta / (2 * scale)), scale


def attack_figure(
    clf: Classifier,
    target: int,
    original: torch.Tensor,
    unbounded: torch.Tensor,
    unbounded_scores: dict[str, Any],
    bounded: torch.Tensor,
    bounded_scores: dict[str, Any],
    before: dict[str, Any],
    details: dict[str, Any],
) -> plt.Figure:
    """Rows: the seed's unbounded attack and the epsilon-bounded one; columns: original, adversarial, difference."""
    interp = "nearest" if clf.input_size <= 64 else "antialiased"
    fig, axes = plt.subplots(2, 3, figsize=(11, 8.2), layout="constrained")
    rows = (
        (
            f"unbounded: {details['steps']} steps of size {details['step_size']:g} on p(target)",
            unbounded,
            unbounded_scores,
        ),
        (
            f"bounded: ε = {details['epsilon'] * 255:.0f}/255, {details['steps']} signed steps of "
            f"{details['epsilon_step'] * 255:.0f}/255",
            bounded,
            bounded_scores,
        ),
    )
    target_name = short(clf.class_names[target])
    for row_axes, (label, adversarial, scores) in zip(axes, rows, strict=True):
        row_axes[0].imshow(rgb(original[0]), interpolation=interp)
        row_axes[0].set_title(
            f"original\ntop-1: {short(before['top1_name'])} {prob_label(before['top1_probability'])}\n"
            f"p({target_name}) = {before['target_probability']:.3f}",
            fontsize=9,
        )
        row_axes[1].imshow(rgb(adversarial[0]), interpolation=interp)
        row_axes[1].set_title(
            f"{label}\ntop-1: {short(scores['top1_name'])} {prob_label(scores['top1_probability'])}\n"
            f"p({target_name}) = {scores['target_probability']:.3f}",
            fontsize=9,
        )
        delta = (adversarial - original)[0]
        picture, scale = _difference(delta)
        linf = float(delta.abs().max())
        amplified = f"amplified ×{0.5 / scale:.3g}" if linf > 0 else "none"
        row_axes[2].imshow(picture, interpolation=interp)
        row_axes[2].set_title(
            f"difference, {amplified}\nL∞ = {linf * 255:.3g}/255\nL2 = {float(delta.norm()):.3g}", fontsize=9
        )
        for ax in row_axes:
            ax.axis("off")
    title_with_banner(fig, f"Adversarial ship → {clf.label(target)}", clf.random_weights, model_note(clf))
    return fig


def ship_attack_figure(clf: Classifier, settings: AttackParams, attack: ShipAttack) -> plt.Figure:
    """:func:`attack_figure` for an attack stage's result."""
    u = attack.unbounded
    details = {
        "steps": settings.steps,
        "step_size": settings.step_size,
        "epsilon": settings.epsilon,
        "epsilon_step": settings.epsilon_step,
    }
    return attack_figure(
        clf,
        settings.target_class.of(clf.name),
        u.original,
        u.adversarial,
        u.metrics["after"],
        attack.bounded,
        attack.bounded_scores,
        u.metrics["before"],
        details,
    )
