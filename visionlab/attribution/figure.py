"""The figure of the attribute stages: the ship, clean and adversarial, beside its IG and Grad-CAM maps."""

import matplotlib.pyplot as plt
import torch

from visionlab.attribution.attribution import INPUTS, ShipAttribution
from visionlab.models.classifier import Classifier
from visionlab.probe.figure_style import model_note, prob_label, rgb, short, title_with_banner

IG_PERCENTILE = (
    0.99  # IG is spiky: each map is scaled by its own 99th percentile of |IG|, the few pixels above saturate
)


def _scaled(values: torch.Tensor, quantile: float) -> torch.Tensor | None:
    """An (H, W) map divided by the ``quantile`` of its absolute values, clipped to [-1, 1]; None if that is 0."""
    values = values.float().cpu()
    top = float(torch.quantile(values.abs().flatten(), quantile))
    return None if top <= 0 else (values / top).clamp(-1, 1)


def attribution_figure(clf: Classifier, result: ShipAttribution) -> plt.Figure:
    """Rows: clean, adversarial; columns: the image, IG toward ship and target, Grad-CAM toward ship and target."""
    info = result.info
    interp = "nearest" if clf.input_size <= 64 else "antialiased"
    names = (short(info.ship_name, 16), short(info.target_name, 16))
    fig, axes = plt.subplots(2, 5, figsize=(15, 6.8), layout="constrained")
    for i, (row, image) in enumerate(zip(axes, (info.clean, info.adversarial), strict=True)):
        picture = rgb(result.images[i])
        row[0].imshow(picture, interpolation=interp)
        row[0].set_title(
            f"{INPUTS[i]}\ntop-1: {short(image.predicted_name, 20)} {prob_label(image.predicted_probability)}",
            fontsize=9,
        )
        for j, scores in enumerate((image.toward_ship, image.toward_target)):
            ig_ax, cam_ax = row[1 + j], row[3 + j]
            ig = _scaled(result.ig[i, j].sum(dim=0), IG_PERCENTILE)  # signed: red for the class, blue against
            if ig is not None:
                ig_ax.imshow(ig.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation=interp)
            ig_ax.set_title(
                f"IG → {names[j]}\nΣ = {scores.ig_sum:.3g}, f(x) − f(black) = "
                f"{scores.logit - scores.baseline_logit:.3g}" + ("" if ig is not None else "\n(all zero)"),
                fontsize=9,
            )
            cam = _scaled(result.cam[i, j, 0], 1.0)
            cam_ax.imshow(picture, interpolation=interp)
            if cam is not None:
                cam_ax.imshow(cam.numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1, interpolation="bilinear")
            cam_ax.set_title(f"Grad-CAM → {names[j]}" + ("" if cam is not None else "\n(all zero)"), fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    views = ", one test-time view" if info.gradcam_single_view else ""
    title = (
        f"Where it looks: ship #{info.ship_test_index}, clean and after the attack toward "
        f"{clf.label(info.target_class)}"
        f"\nIntegrated Gradients ({info.n_steps} steps from black; red: for the class, blue: against), "
        f"Grad-CAM at {info.gradcam_layer}{views}"
    )
    title_with_banner(fig, title, clf.random_weights, model_note(clf))
    return fig
