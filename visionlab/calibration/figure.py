"""The reliability diagram of one model: accuracy against confidence per bin, before and after temperature scaling."""

import matplotlib

matplotlib.use("Agg")  # headless: stages run without a display
import matplotlib.pyplot as plt

from visionlab.calibration.calibration import N_BINS, Bin, Calibration


def _panel(ax: plt.Axes, bins: list[Bin], title: str) -> None:
    width = 1 / N_BINS
    shown = [b for b in bins if b.index < N_BINS]  # a confidence of exactly 1 is drawn in the last bin
    last = [b for b in bins if b.index == N_BINS]
    centres = [b.lower + width / 2 for b in shown] + [1 - width / 2] * len(last)
    every = shown + last
    ax.bar(centres, [b.accuracy for b in every], width=width, edgecolor="black", color="tab:blue", label="accuracy")
    accuracy, confidence = [b.accuracy for b in every], [b.confidence for b in every]
    ax.vlines(centres, accuracy, confidence, color="tab:red", linewidth=2.5, alpha=0.7)
    ax.scatter(centres, confidence, color="tab:red", s=14, zorder=3, label="mean confidence (line: the gap)")
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    for centre, b in zip(centres, every, strict=True):
        inside = b.accuracy > 0.08  # white on the bar, black above a bar too short to hold it
        y, colour = (0.01, "white") if inside else (b.accuracy + 0.01, "black")
        ax.text(centre, y, str(b.count), ha="center", va="bottom", fontsize=6, rotation=90, color=colour)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-1 probability)", ylabel="accuracy", title=title)
    ax.legend(loc="upper left", fontsize=7)


def reliability_figure(result: Calibration, model_name: str, test_images: int, note: str) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), sharey=True)
    _panel(axes[0], result.bins, f"before: ECE {result.ece:.3f}")
    _panel(axes[1], result.bins_temperature, f"after T = {result.temperature:.2f}: ECE {result.ece_temperature:.3f}")
    fig.suptitle(
        f"{model_name}: reliability on {test_images:,} test images ({N_BINS} bins; counts in the bars)\n{note}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
