"""Figures of the interpretability stages: predictions, conv1 filters, maximised units and classes, attacks.

Every figure made with random AlexNet weights carries a red banner saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: stages run without a display
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle
from matplotlib.transforms import offset_copy

from visionlab.interpret.alexnet import RANDOM_WEIGHTS_NOTE
from visionlab.interpret.analytic import ReceptiveField
from visionlab.interpret.classifiers import Classifier
from visionlab.interpret.maximize import ChannelResult, ClassResult
from visionlab.interpret.predict import Prediction

BANNER_COLOUR = "#c00000"


def _rgb(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) [0, 1] tensor -> (H, W, 3) array for imshow."""
    return image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _p(probability: float) -> str:
    """Probabilities near 0 (random weights, 1000 classes) would all print as 0.00."""
    return f"{probability:.2f}" if probability >= 0.01 else f"{probability:.1e}"


def _title(fig: plt.Figure, title: str, random_weights: bool, note: str = "") -> None:
    """Suptitle, the provenance note, and the random-weights banner where it applies."""
    lines = [title] + ([note] if note else [])
    fig.suptitle("\n".join(lines), fontsize=11)
    if random_weights:
        # Just below the figure's bottom edge (savefig's tight bbox grows to include it), clear of the axes.
        below = offset_copy(fig.transFigure, fig=fig, y=-8, units="points")
        fig.text(0.5, 0.0, RANDOM_WEIGHTS_NOTE, ha="center", va="top", fontsize=11, fontweight="bold",
                 color="white", bbox={"facecolor": BANNER_COLOUR, "edgecolor": "none", "pad": 4}, transform=below)


def model_note(clf: Classifier) -> str:
    """What the probed network is: AlexNet's weights, or what a CIFAR model was trained on."""
    if clf.name == "alexnet":
        return f"AlexNet, weights={clf.provenance['alexnet_weights']}"
    summary = clf.provenance.get("trained_model", {})
    parts = [f"{clf.name} from {clf.provenance.get('checkpoint')}"]
    if "epochs" in summary:
        parts.append(f"{summary['epochs']} epoch{'s' if summary['epochs'] != 1 else ''}")
    if "train_images" in summary:
        parts.append(f"{summary['train_images']:,} training images")
    if summary.get("subset"):
        parts.append("SAMPLE SUBSET of CIFAR-10")
    return ", ".join(parts)


def predictions_figure(predictions: Sequence[Prediction], random_weights: bool, weights: str) -> plt.Figure:
    """Each input with its top-1 class and confidence without and with ImageNet normalisation."""
    cols = min(4, len(predictions))
    rows = -(-len(predictions) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.9 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, pred in zip(axes.flat, predictions, strict=False):
        ax.imshow(_rgb(pred.image.pixels))
        raw, norm = pred.top["without_normalization"][0], pred.top["with_normalization"][0]
        heading = pred.image.name + (f" (true: {pred.image.note})" if pred.image.note else "")
        ax.set_title(
            f"{_short(heading, 30)}\nraw: {_short(raw.name)} {_p(raw.probability)}\n"
            f"normalised: {_short(norm.name)} {_p(norm.probability)}",
            fontsize=9,
        )
    _title(fig, "AlexNet top-1 without (raw) and with ImageNet normalisation", random_weights, f"weights={weights}")
    return fig


def filters_figure(filters: torch.Tensor, random_weights: bool, weights: str) -> plt.Figure:
    """The conv1 filters (N, 3, k, k), already scaled to [0, 1], as an 8-wide grid of RGB patches."""
    count = filters.shape[0]
    cols = 8
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.1 + 0.6), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for index, (ax, patch) in enumerate(zip(axes.flat, filters, strict=False)):
        ax.imshow(_rgb(patch), interpolation="nearest")
        ax.set_title(str(index), fontsize=7, pad=2)
    kernel = filters.shape[-1]
    _title(fig, f"AlexNet conv1: {count} filters, 3×{kernel}×{kernel}, each min–max scaled to [0, 1]",
           random_weights, f"weights={weights}")
    return fig


def _crop_box(field: ReceptiveField, margin: int, size: int) -> tuple[int, int, int, int]:
    top, left = max(field.rows[0] - margin, 0), max(field.cols[0] - margin, 0)
    return top, min(field.rows[1] + margin, size), left, min(field.cols[1] + margin, size)


def _channel_row(axes: Sequence[plt.Axes], result: ChannelResult, seed_value: float | None, margin: int = 5) -> None:
    field = result.analytic.field
    image = _rgb(result.image)
    full, zoom, best = axes
    full.imshow(image)
    (r0, r1), (c0, c1) = field.rows, field.cols
    full.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, edgecolor="red", linewidth=1))
    seed = f" (seed report: {seed_value:g})" if seed_value is not None else ""
    full.set_title(f"channel {result.channel}: activation {result.activation:.2f}{seed}", fontsize=9)
    top, bottom, left, right = _crop_box(field, margin, image.shape[0])
    zoom.imshow(image[top:bottom, left:right], interpolation="nearest", extent=(left - 0.5, right - 0.5, bottom - 0.5,
                                                                                top - 0.5))
    zoom.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, edgecolor="red", linewidth=1))
    zoom.set_title(f"receptive field rows {r0}–{r1 - 1}, cols {c0}–{c1 - 1}", fontsize=9)
    best.imshow(_rgb(result.analytic.pattern), interpolation="nearest")
    best.set_title(f"analytic optimum {result.analytic.value:.2f}\nreached {100 * result.fraction:.2f} %", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])


def channel_figure(result: ChannelResult, seed_value: float | None, random_weights: bool, weights: str) -> plt.Figure:
    """One maximised conv1 unit: the whole image, its receptive field enlarged, and the analytic optimum."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
    _channel_row(axes, result, seed_value)
    row, col = result.unit
    _title(fig, f"AlexNet conv1 channel {result.channel}, unit ({row}, {col}) before ReLU", random_weights,
           f"weights={weights}")
    return fig


def channels_panel(
    results: Sequence[ChannelResult], seeds: dict[int, float], random_weights: bool, weights: str
) -> plt.Figure:
    """All maximised channels, one row each (same columns as :func:`channel_figure`)."""
    fig, axes = plt.subplots(len(results), 3, figsize=(11, 3.8 * len(results)), squeeze=False, layout="constrained")
    for row_axes, result in zip(axes, results, strict=True):
        _channel_row(row_axes, result, seeds.get(result.channel))
    row, col = results[0].unit
    _title(fig, f"AlexNet conv1, centre unit ({row}, {col}) of each channel, maximised before ReLU",
           random_weights, f"weights={weights}; red box: the unit's receptive field")
    return fig


def class_figure(result: ClassResult, clf: Classifier, details: dict[str, Any]) -> plt.Figure:
    """Start and result of class maximisation, its top-5, and the jittered copies re-scored."""
    trials = result.jittered.images.shape[0]
    thumbs = min(trials, 8)
    fig = plt.figure(figsize=(13, 7.2 if thumbs else 4.6), layout="constrained")
    grid = fig.add_gridspec(2 if thumbs else 1, max(thumbs, 1), height_ratios=[2.2, 1] if thumbs else None)
    top = grid[0, :].subgridspec(1, 3, width_ratios=[1, 1, 1.5])
    interp = "nearest" if clf.input_size <= 64 else "antialiased"
    ax = fig.add_subplot(top[0])
    ax.imshow(_rgb(result.initial), interpolation=interp)
    ax.set_title(f"start: seeded noise\np = {result.initial_probability:.4f}", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(top[1])
    ax.imshow(_rgb(result.image), interpolation=interp)
    ax.set_title(f"after {details['steps']} steps ({result.objective})\np = {result.probability:.4f}", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(top[2])
    names = [_short(clf.class_names[i], 28) for i, _ in result.top][::-1]
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
        ax.imshow(_rgb(result.jittered.images[i]), interpolation=interp)
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
    _title(fig, title, clf.random_weights, model_note(clf))
    return fig


def _difference(delta: torch.Tensor) -> tuple[np.ndarray, float]:
    """The perturbation scaled so its largest component spans the colour range, centred on grey."""
    scale = float(delta.abs().max()) or 1.0
    return _rgb(0.5 + delta / (2 * scale)), scale


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
        (f"unbounded: {details['steps']} steps of size {details['step_size']:g} on p(target)", unbounded,
         unbounded_scores),
        (f"bounded: ε = {details['epsilon'] * 255:.0f}/255, {details['steps']} signed steps of "
         f"{details['epsilon_step'] * 255:.0f}/255", bounded, bounded_scores),
    )
    target_name = _short(clf.class_names[target])
    for row_axes, (label, adversarial, scores) in zip(axes, rows, strict=True):
        row_axes[0].imshow(_rgb(original[0]), interpolation=interp)
        row_axes[0].set_title(
            f"original\ntop-1: {_short(before['top1_name'])} {_p(before['top1_probability'])}\n"
            f"p({target_name}) = {before['target_probability']:.3f}",
            fontsize=9,
        )
        row_axes[1].imshow(_rgb(adversarial[0]), interpolation=interp)
        row_axes[1].set_title(
            f"{label}\ntop-1: {_short(scores['top1_name'])} {_p(scores['top1_probability'])}\n"
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
    _title(fig, f"Adversarial ship → {clf.label(target)}", clf.random_weights, model_note(clf))
    return fig
