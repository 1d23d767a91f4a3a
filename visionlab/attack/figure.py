"""The figure of the attack stages: original, adversarial and difference, unbounded and bounded."""

from typing import Any

import matplotlib.pyplot as plt

from visionlab.attack.attack import ShipAttack
from visionlab.attack.params import AttackParams
from visionlab.models.classifier import Classifier
from visionlab.probe.figure_style import model_note, prob_label, rgb, short, title_with_banner


def ship_attack_figure(clf: Classifier, settings: AttackParams, attack: ShipAttack) -> plt.Figure:
    """Rows: the seed's unbounded attack and the epsilon-bounded one; columns: original, adversarial, difference."""
    u, target = attack.unbounded, settings.target_class.of(clf.name)
    interp = "nearest" if clf.input_size <= 64 else "antialiased"
    fig, axes = plt.subplots(2, 3, figsize=(11, 8.2), layout="constrained")
    rows = (
        (
            f"unbounded: {settings.steps} steps of size {settings.step_size:g} on p(target)",
            u.adversarial,
            u.metrics["after"],
        ),
        (
            f"bounded: ε = {settings.epsilon * 255:.0f}/255, {settings.steps} signed steps of "
            f"{settings.epsilon_step * 255:.0f}/255",
            attack.bounded,
            attack.bounded_scores,
        ),
    )

    def caption(label: str, scores: dict[str, Any]) -> str:
        return (
            f"{label}\ntop-1: {short(scores['top1_name'])} {prob_label(scores['top1_probability'])}\n"
            f"p({short(clf.class_names[target])}) = {scores['target_probability']:.3f}"
        )

    for row_axes, (label, adversarial, scores) in zip(axes, rows, strict=True):
        delta = (adversarial - u.original)[0]
        linf = float(delta.abs().max())
        amplified = f"amplified ×{0.5 / linf:.3g}" if linf > 0 else "none"
        titles = (
            caption("original", u.metrics["before"]),
            caption(label, scores),
            f"difference, {amplified}\nL∞ = {linf * 255:.3g}/255\nL2 = {float(delta.norm()):.3g}",
        )
        # the difference scaled so its largest component spans the colour range, centred on grey
        pictures = (u.original[0], adversarial[0], 0.5 + delta / (2 * (linf or 1.0)))
        for ax, picture, title in zip(row_axes, pictures, titles, strict=True):
            ax.imshow(rgb(picture), interpolation=interp)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    title_with_banner(fig, f"Adversarial ship → {clf.label(target)}", clf.random_weights, model_note(clf))
    return fig
