"""The whole ladder on one model: every target, every rung, each result measured; its record and log lines."""

import dataclasses
from dataclasses import dataclass

import torch

from visionlab.models.classifier import Classifier
from visionlab.probe.record import probed_model
from visionlab.visualize.measure import high_frequency, robust_activation
from visionlab.visualize.param import decorrelation
from visionlab.visualize.params import VisualizedModel, VisualizeParams
from visionlab.visualize.record import ObjectiveScores, RungScores, TransformInfo, VisualizeInfo
from visionlab.visualize.render import Rendered, ladder
from visionlab.visualize.targets import LAST_CONV, targets
from visionlab.visualize.transform import draw


@dataclass
class Study:
    rendered: list[dict[str, Rendered]]  # per target, per rung; images on the CPU
    scores: list[ObjectiveScores]


def study(
    clf: Classifier, settings: VisualizeParams, colour_sqrt: torch.Tensor, seed: int, units: VisualizedModel
) -> Study:
    """Render each of the model's targets on every rung and score the results."""
    device = next(clf.model.parameters()).device
    size, transforms, colour = clf.input_size, units.transforms, decorrelation(colour_sqrt)
    # The same draws re-score every rung's result, from their own seed.
    maps = draw(settings.robust_trials, transforms, size, torch.Generator().manual_seed(seed + 1))
    found = targets(clf, units)
    if found:  # one step of every rung first, so that no rung's seconds carry the one-time set-up
        ladder(found[0], size, colour, dataclasses.replace(settings, naive_steps=1, steps=1), transforms, seed, device)
    rendered, scores = [], []
    for target in found:
        rungs = ladder(target, size, colour, settings, transforms, seed, device)
        measured = {}
        for rung, result in rungs.items():
            with torch.no_grad():
                activation = float(target.objective(result.images).mean())
            measured[rung] = RungScores(
                activation,
                float(robust_activation(target.objective, result.images, maps).mean()),
                float(high_frequency(result.images).mean()),
                result.seconds,
            )
            result.images = result.images.cpu()
        rendered.append(rungs)
        scores.append(ObjectiveScores(target.key, target.title, measured))
        print(summary_line(target.title, measured))
    return Study(rendered, scores)


def summary_line(title: str, measured: dict[str, RungScores]) -> str:
    cells = [f"{r} {m.activation:.3g}/{m.robust_activation:.3g}/{m.high_frequency:.0%}" for r, m in measured.items()]
    return f"{title}: activation/robust/high-frequency " + ", ".join(cells)


def visualize_record(
    clf: Classifier, settings: VisualizeParams, units: VisualizedModel, colour: str, result: Study
) -> VisualizeInfo:
    """``reports/visualize/<model>.json``: what was probed, how, and every rung's four numbers."""
    return VisualizeInfo(
        model=probed_model(clf.name, clf.random_weights, clf.provenance),
        input_size=clf.input_size,
        colour=colour,
        last_conv=LAST_CONV[clf.name][1],
        naive_steps=settings.naive_steps,
        naive_step_size=settings.naive_step_size,
        steps=settings.steps,
        lr=settings.lr,
        diversity_batch=settings.diversity_batch,
        diversity_weight=settings.diversity_weight,
        robust_trials=settings.robust_trials,
        transforms=TransformInfo(**dataclasses.asdict(units.transforms)),
        objectives=result.scores,
    )
