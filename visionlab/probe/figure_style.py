"""What every interpretability figure shares: image conversion, short labels, titles and the random-weights banner."""

import matplotlib

matplotlib.use("Agg")  # headless: stages run without a display
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.transforms import offset_copy

from visionlab.core.errors import short as short  # the figures import it from here
from visionlab.models.classifier import RANDOM_WEIGHTS_NOTE, Classifier

BANNER_COLOUR = "#c00000"


def rgb(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) [0, 1] tensor -> (H, W, 3) array for imshow."""
    return image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy()


def prob_label(probability: float) -> str:
    """Probabilities near 0 (random weights, 1000 classes) would all print as 0.00."""
    return f"{probability:.2f}" if probability >= 0.01 else f"{probability:.1e}"


def title_with_banner(fig: plt.Figure, title: str, random_weights: bool, note: str = "") -> None:
    """Suptitle, the provenance note, and the random-weights banner where it applies."""
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=11)
    if random_weights:
        # Just below the figure's bottom edge (savefig's tight bbox grows to include it), clear of the axes.
        below = offset_copy(fig.transFigure, fig=fig, y=-8, units="points")
        font = {"fontsize": 11, "fontweight": "bold", "color": "white"}
        box = {"facecolor": BANNER_COLOUR, "edgecolor": "none", "pad": 4}
        fig.text(0.5, 0.0, RANDOM_WEIGHTS_NOTE, ha="center", va="top", **font, bbox=box, transform=below)


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
