"""The figure of the class-maximisation stages: noise, the result, its top-5 and jittered copies."""

from typing import Any

import matplotlib.pyplot as plt

from visionlab.classmax.class_maximize import ClassResult
from visionlab.models.classifier import Classifier
from visionlab.probe.figure_style import model_note, rgb, short, title_with_banner


def class_figure(result: ClassResult, clf: Classifier, details: dict[str, Any]) -> plt.Figure:
    """Start and result of class maximisation, its top-5, and the jittered copies re-scored."""
    trials = result.jittered.images.shape[0]
    thumbs = min(trials, 8)
    fig = plt.figure(figsize=(13, 7.2 if thumbs else 4.6), layout="constrained")
    grid = fig.add_gridspec(2 if thumbs else 1, max(thumbs, 1), height_ratios=[2.2, 1] if thumbs else None)
    top = grid[0, :].subgridspec(1, 3, width_ratios=[1, 1, 1.5])
    interp = "nearest" if clf.input_size <= 64 else "antialiased"
    for cell, image, title in (
        (top[0], result.initial, f"start: seeded noise\np = {result.initial_probability:.4f}"),
        (top[1], result.image, f"after {details['steps']} steps ({result.objective})\np = {result.probability:.4f}"),
    ):
        ax = fig.add_subplot(cell)
        ax.imshow(rgb(image), interpolation=interp)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    ax = fig.add_subplot(top[2])
    names = [short(clf.class_names[i], 28) for i, _ in result.top][::-1]
    probs = [p for _, p in result.top][::-1]
    colours = ["tab:orange" if i == result.class_index else "tab:blue" for i, _ in result.top][::-1]
    ax.barh(names, probs, color=colours)
    # Scale to the largest bar: near-uniform outputs (p ~ 0.001) would be invisible on [0, 1].
    right = max(max(probs) * 1.25, 1e-6)
    ax.set_xlim(0, right)
    ax.set_xlabel("probability" + ("" if right >= 1 else " (axis zoomed to the largest bar)"))
    ax.set_title("top-5 of the result", fontsize=9)
    for y, p in enumerate(probs):
        ax.text(min(p, 0.8 * right) + 0.01 * right, y, f"{p:.3g}", va="center", fontsize=8)
    for i in range(thumbs):
        ax = fig.add_subplot(grid[1, i])
        ax.imshow(rgb(result.jittered.images[i]), interpolation=interp)
        shift = result.jittered.shifts[i]
        kept = "✓" if int(result.jittered_top1[i]) == result.class_index else "✗"
        ax.set_title(
            f"shift ({shift[0]:+.2f}, {shift[1]:+.2f})\nscale {float(result.jittered.scales[i]):.2f}\n"
            f"p = {float(result.jittered_probabilities[i]):.3f} {kept}",
            fontsize=8,
        )
        ax.axis("off")
    title = f"Maximising class {clf.label(result.class_index)} of {clf.name}"
    if thumbs:
        title += f"; bottom: {trials} random shifts/rescales re-scored (✓ = still top-1)"
    title_with_banner(fig, title, clf.random_weights, model_note(clf))
    return fig
