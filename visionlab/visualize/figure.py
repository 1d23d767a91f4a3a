"""The feature-visualisation figure: one row per objective, one column per rung, each image's numbers under it."""

import math

import matplotlib.pyplot as plt
from torchvision.utils import make_grid

from visionlab.models.classifier import Classifier
from visionlab.probe.figure_style import model_note, rgb, title_with_banner
from visionlab.visualize.record import RUNG_TITLES, RUNGS, VisualizeInfo
from visionlab.visualize.render import Rendered


def visualize_figure(clf: Classifier, record: VisualizeInfo, rendered: list[dict[str, Rendered]]) -> plt.Figure:
    """The ladder of every objective; a batch (diversity) as a mosaic, its numbers the batch's means."""
    rows = len(record.objectives)
    size = (2.6 * len(RUNGS), 3.1 * rows + 0.8)
    fig, axes = plt.subplots(rows, len(RUNGS), figsize=size, squeeze=False, layout="constrained")
    interp = "nearest" if clf.input_size <= 64 else "antialiased"
    random_note = "\nRANDOM WEIGHTS" if clf.random_weights else ""
    for row, (scores, rungs) in enumerate(zip(record.objectives, rendered, strict=True)):
        for col, rung in enumerate(RUNGS):
            ax, images, m = axes[row, col], rungs[rung].images, scores.rungs[rung]
            mosaic = make_grid(images, nrow=math.ceil(math.sqrt(len(images))), padding=1, pad_value=1.0)
            ax.imshow(rgb(mosaic), interpolation=interp)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(
                f"act {m.activation:.3g} · robust {m.robust_activation:.3g}\nhigh freq. {100 * m.high_frequency:.0f} %"
                + random_note,
                fontsize=8,
                color="#c00000" if clf.random_weights else "black",
            )
            if row == 0:
                ax.set_title(RUNG_TITLES[rung] + (f" (batch {len(images)})" if len(images) > 1 else ""), fontsize=10)
            if col == 0:
                ax.set_ylabel(scores.title, fontsize=8)
    title = f"Feature visualisation of {clf.name}: the seed's naive ascent, then Lucid's ladder ({record.steps} steps)"
    title_with_banner(fig, title, clf.random_weights, model_note(clf))
    return fig
