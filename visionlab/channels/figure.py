"""Figures of the maximize_channels stage: each maximised conv1 unit, its receptive field and analytic optimum."""

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from visionlab.channels.maximize import ChannelResult
from visionlab.probe.figure_style import rgb, title_with_banner


def _channel_row(axes: Sequence[plt.Axes], result: ChannelResult, seed_value: float | None, margin: int = 5) -> None:
    field = result.analytic.field
    image = rgb(result.image)
    full, zoom, best = axes
    full.imshow(image)
    (r0, r1), (c0, c1) = field.rows, field.cols
    seed = f" (seed report: {seed_value:g})" if seed_value is not None else ""
    full.set_title(f"channel {result.channel}: activation {result.activation:.2f}{seed}", fontsize=9)
    size = image.shape[0]
    top, bottom, left, right = max(r0 - margin, 0), min(r1 + margin, size), max(c0 - margin, 0), min(c1 + margin, size)
    extent = (left - 0.5, right - 0.5, bottom - 0.5, top - 0.5)
    zoom.imshow(image[top:bottom, left:right], interpolation="nearest", extent=extent)
    for ax in (full, zoom):
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, edgecolor="red", linewidth=1))
    zoom.set_title(f"receptive field rows {r0}–{r1 - 1}, cols {c0}–{c1 - 1}", fontsize=9)
    best.imshow(rgb(result.analytic.pattern), interpolation="nearest")
    best.set_title(f"analytic optimum {result.analytic.value:.2f}\nreached {100 * result.fraction:.2f} %", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])


def channel_figure(result: ChannelResult, seed_value: float | None, random_weights: bool, weights: str) -> plt.Figure:
    """One maximised conv1 unit: the whole image, its receptive field enlarged, and the analytic optimum."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), layout="constrained")
    _channel_row(axes, result, seed_value)
    title = f"AlexNet conv1 channel {result.channel}, unit {result.unit} before ReLU"
    title_with_banner(fig, title, random_weights, f"weights={weights}")
    return fig


def channels_panel(
    results: Sequence[ChannelResult], seeds: dict[int, float], random_weights: bool, weights: str
) -> plt.Figure:
    """All maximised channels, one row each (same columns as :func:`channel_figure`)."""
    fig, axes = plt.subplots(len(results), 3, figsize=(11, 3.8 * len(results)), squeeze=False, layout="constrained")
    for row_axes, result in zip(axes, results, strict=True):
        _channel_row(row_axes, result, seeds.get(result.channel))
    title = f"AlexNet conv1, centre unit {results[0].unit} of each channel, maximised before ReLU"
    title_with_banner(fig, title, random_weights, f"weights={weights}; red box: the unit's receptive field")
    return fig
