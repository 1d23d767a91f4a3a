"""The figure of the filters stage: AlexNet's conv1 filters as an RGB grid."""

import matplotlib.pyplot as plt
import torch

from visionlab.probe.figure_style import rgb, title_with_banner


def filters_figure(filters: torch.Tensor, random_weights: bool, weights: str) -> plt.Figure:
    """The conv1 filters (N, 3, k, k), already scaled to [0, 1], as an 8-wide grid of RGB patches."""
    count = filters.shape[0]
    cols = 8
    rows = -(-count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.1 + 0.6), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for index, (ax, patch) in enumerate(zip(axes.flat, filters, strict=False)):
        ax.imshow(rgb(patch), interpolation="nearest")
        ax.set_title(str(index), fontsize=7, pad=2)
    kernel = filters.shape[-1]
    title = f"AlexNet conv1: {count} filters, 3×{kernel}×{kernel}, each min–max scaled to [0, 1]"
    title_with_banner(fig, title, random_weights, f"weights={weights}")
    return fig
