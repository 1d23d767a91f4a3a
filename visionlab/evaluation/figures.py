"""Figures of a trained CIFAR model: learning curves, confusion heatmap, misclassified images."""

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: stages run without a display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from visionlab.core.seed_report import SEED_CIFAR
from visionlab.models.params import FAST_RECIPE


def provenance_note(summary: dict[str, Any], seed_epochs: int = 100, model_name: str | None = None) -> str:
    """One line saying what this model was trained on, flagging the sample archive and short runs. A short run is one
    below the seed's epochs; for ``fast`` (its own short recipe), below its default's."""
    parts = [f"{summary['epochs']} epochs on {summary['device']}, {summary['train_images']:,} training images"]
    if summary.get("subset"):
        parts.append("SAMPLE SUBSET of CIFAR-10 (the full training set has 50,000)")
    if model_name == "fast":
        default = FAST_RECIPE["epochs"]
        if summary["epochs"] < default:
            parts.append(f"SHORT RUN: fast's default recipe trains {default} epochs")
    elif summary["epochs"] < seed_epochs:
        parts.append(f"SHORT RUN: the seed trained {seed_epochs} epochs")
    return "; ".join(parts)


def learning_curves(history: Sequence[dict[str, float]], model_name: str, note: str) -> plt.Figure:
    """Loss and accuracy per epoch, train and validation overlaid; the seed's logged points beside them."""
    epochs = [row["epoch"] for row in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    seed_log = SEED_CIFAR.get(model_name, {}).get("log", {})
    for ax, metric, seed_cols in ((axes[0], "loss", (2, 3)), (axes[1], "accuracy", (0, 1))):
        for split, colour in (("train", "tab:blue"), ("val", "tab:orange")):
            ax.plot(epochs, [row[f"{split}_{metric}"] for row in history], color=colour, label=f"{split} (this run)")
        if seed_log:
            seed_epochs = list(seed_log)
            for split, col, colour in (("train", seed_cols[0], "tab:blue"), ("val", seed_cols[1], "tab:orange")):
                values = [seed_log[e][col] for e in seed_epochs]
                ax.scatter(seed_epochs, values, color=colour, marker="x", label=f"{split} (seed report)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{model_name}: {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(note, fontsize=9)
    fig.tight_layout()
    return fig


def confusion_heatmap(confusion: np.ndarray, class_names: Sequence[str], title: str, note: str) -> plt.Figure:
    """Row-normalised confusion matrix (each row: where that true class went), with counts annotated."""
    totals = confusion.sum(axis=1, keepdims=True)
    fractions = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    import seaborn as sns  # here: it loads pandas and scipy, seconds on every stage that imports this package

    fig, ax = plt.subplots(figsize=(8, 7))
    sns.heatmap(
        fractions,
        annot=confusion,
        fmt="d",
        cmap="Blues",
        vmin=0,
        vmax=1,
        square=True,
        xticklabels=class_names,
        yticklabels=class_names,
        cbar_kws={"label": "fraction of true class"},
        ax=ax,
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title + "\n" + note.replace("; ", "\n"), fontsize=9)
    fig.tight_layout()
    return fig


def misclassified_grid(
    images: np.ndarray, actual: Sequence[str], predicted: Sequence[str], title: str, columns: int = 8
) -> plt.Figure:
    """Up to len(images) misclassified test images (uint8 NCHW), each captioned actual -> predicted."""
    count = len(images)
    rows = max(1, -(-count // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.6, rows * 1.9 + 0.6), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(images[index].transpose(1, 2, 0), interpolation="nearest")
            ax.set_title(f"{actual[index]}\n→ {predicted[index]}", fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
