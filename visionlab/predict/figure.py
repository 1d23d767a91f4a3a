"""The figure of the predict stage: each input with its top-1 class, without and with ImageNet normalisation."""

from collections.abc import Sequence

import matplotlib.pyplot as plt

from visionlab.predict.predict import Prediction
from visionlab.probe.figure_style import prob_label, rgb, short, title_with_banner


def predictions_figure(predictions: Sequence[Prediction], total: int, random_weights: bool, weights: str) -> plt.Figure:
    """The first ``predictions`` (of ``total`` images), each with its top-1 class and confidence without and with
    ImageNet normalisation."""
    cols = min(4, len(predictions))
    rows = -(-len(predictions) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.9 * rows), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, pred in zip(axes.flat, predictions, strict=False):
        ax.imshow(rgb(pred.image.pixels))
        raw, norm = pred.top["without_normalization"][0], pred.top["with_normalization"][0]
        heading = pred.image.name + (f" (true: {pred.image.note})" if pred.image.note else "")
        ax.set_title(
            f"{short(heading, 30)}\nraw: {short(raw.class_name)} {prob_label(raw.confidence)}\n"
            f"normalised: {short(norm.class_name)} {prob_label(norm.confidence)}",
            fontsize=9,
        )
    title = "AlexNet top-1 without (raw) and with ImageNet normalisation"
    title += f" (the first {len(predictions)} of {total} images)" if total > len(predictions) else ""
    title_with_banner(fig, title, random_weights, f"weights={weights}")
    return fig
