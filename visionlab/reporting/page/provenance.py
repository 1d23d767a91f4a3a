"""Why results are not comparable with the seed report's: random AlexNet weights, the sample, smoke settings.

Read from the side files (``reports/info/``), never from params.yaml: the page states what the
results were actually measured on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from visionlab.metrics.evaluation import EvalInfo
from visionlab.metrics.probe import ProbedModel
from visionlab.params import FAST_RECIPE
from visionlab.reporting.page.blocks import Alert, Block
from visionlab.reporting.page.inputs import MODEL_TITLES, MODELS
from visionlab.seed_report import SEED_CIFAR

SEED_EPOCHS = int(SEED_CIFAR["resnet"]["epochs"])  # the seed's log stops at 100 (it lists 128)
# The fast model has its own short recipe: it is held to that recipe's default length, not the seed's.
FAST_EPOCHS = FAST_RECIPE["epochs"]
SEED_RESNET_WIDTH = 64  # "channels double per layer from 64 to 512"
RANDOM_ALEXNET = (
    "AlexNet has random weights (`alexnet.weights=none`), not the ImageNet ones: "
    "its predictions, filters and maximised images are meaningless."
)


@dataclass
class Provenance:
    """Why results are not comparable with the seed's, by kind; each entry is one plain sentence."""

    random_weights: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    smoke: list[str] = field(default_factory=list)

    def merge(self, other: Provenance) -> None:
        for mine, theirs in (
            (self.random_weights, other.random_weights),
            (self.sample, other.sample),
            (self.smoke, other.smoke),
        ):
            mine.extend(item for item in theirs if item not in mine)

    def alerts(self) -> list[Block]:
        """The per-section warnings, one block per kind."""
        blocks: list[Block] = []
        if self.random_weights:
            blocks.append(Alert("**Random weights:** " + " ".join(self.random_weights)))
        if self.sample:
            blocks.append(Alert("**Sample data:** " + " ".join(self.sample)))
        if self.smoke:
            blocks.append(Alert("**Smoke settings:** " + " ".join(self.smoke)))
        return blocks


def full_epochs(model: str) -> tuple[int, str]:
    """The training length below which ``model``'s run is a smoke setting, and whose length that is."""
    if model == "fast":
        return FAST_EPOCHS, "fast's default"
    return SEED_EPOCHS, "the seed"


def join_and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence_list(items: Sequence[str]) -> str:
    return "; ".join(items) + "."


def model_provenance(models: dict[str, EvalInfo]) -> Provenance:
    """Sample and smoke statements for the CIFAR models; models in the same situation share one sentence."""
    sample: dict[str, list[str]] = {}
    smoke: dict[str, list[str]] = {}
    for name, info in models.items():
        title = MODEL_TITLES[name]
        if info.data.subset:
            what = (
                f"trained on the CIFAR-10 sample ({info.data.train_images:,} training and "
                f"{info.data.test_images:,} test images), not the full data set."
            )
            sample.setdefault(what, []).append(title)
        problems = []
        full, whose = full_epochs(name)
        if info.epochs < full:
            problems.append(f"{info.epochs} epoch{'s' if info.epochs != 1 else ''} ({whose}: {full})")
        width = info.config.get("width")
        if isinstance(width, int) and not isinstance(width, bool) and width < SEED_RESNET_WIDTH:
            problems.append(f"width {width} (the seed: {SEED_RESNET_WIDTH})")
        if problems:
            smoke.setdefault(f"trained with {_sentence_list(problems)}", []).append(title)
    p = Provenance()
    for statements, out in ((sample, p.sample), (smoke, p.smoke)):
        for what, titles in statements.items():
            out.append(f"{' and '.join(titles)} {'were' if len(titles) > 1 else 'was'} {what}")
    return p


def trained_provenance(model: ProbedModel, title: str) -> Provenance:
    """For maximize_class/attack on a CIFAR model: what that model was trained on, from its checkpoint."""
    p = Provenance()
    trained = model.trained_model
    if trained is None:
        return p
    if trained.subset:
        p.sample.append(f"The probed {title} was trained on the CIFAR-10 sample.")
    full, whose = full_epochs(model.name)
    if trained.epochs is not None and trained.epochs < full:
        p.smoke.append(f"The probed {title} trained {trained.epochs} epochs ({whose}: {full}).")
    return p


def probed_provenance(model: ProbedModel) -> Provenance:
    """Random AlexNet weights, or what the probed CIFAR model was trained on."""
    p = Provenance()
    if model.name == "alexnet" and model.random_weights:
        p.random_weights.append(RANDOM_ALEXNET)
    elif model.name in MODELS:
        p.merge(trained_provenance(model, MODEL_TITLES[model.name]))
    return p
