"""Why a result does not compare with the seed's: caveats by model, a table on top of the page, a warning per section.

Read from the side files, never params.yaml: the page states what the results were actually measured on.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Self

from visionlab.core.seed_report import SEED_CIFAR, SEED_DATA
from visionlab.evaluation.record import EvalInfo
from visionlab.models.params import FAST_RECIPE
from visionlab.models.registry import MODELS, PROBED
from visionlab.probe.record import ProbedModel
from visionlab.report.blocks import NOT_REPORTED, Alert, Block, Heading, Table
from visionlab.report.inputs import MODEL_TITLES

SEED_EPOCHS = int(SEED_CIFAR["resnet"]["epochs"])  # the seed's log stops at 100 (it lists 128)
SEED_RESNET_WIDTH = 64  # "channels double per layer from 64 to 512"
CAVEATS = {  # key: (label, meaning), in the table's order
    "random": (
        "Random weights",
        "not the ImageNet ones (`alexnet.weights=none`), so its predictions, filters and maximised images are "
        "meaningless",
    ),
    "sample": ("Sample data", f"trained and tested on the CIFAR-10 sample, not all {SEED_DATA['images']:,} images"),
    "training": ("Smoke training", "fewer epochs than the seed's (Fast: its recipe's), or a narrower ResNet"),
    "maximize": ("Smoke maximisation", "fewer gradient steps than the seed's"),
    "attack": ("Smoke attack", "fewer steps than the seed's, or fewer ships in the bounded sweep"),
    "visualize": ("Smoke visualisation", "fewer steps, a smaller diversity batch or fewer re-scoring transforms"),
    "corruption": ("Smoke corruption", "a smaller corrupted test set"),
}
YES = ("yes", "")  # a caveat that applies with nothing more to say


def join_and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class Provenance:
    """The caveats that apply: {caveat: {model: [(this run's setting, a full run's or "")]}}."""

    cells: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)

    def add(self, caveat: str, model: str, setting: tuple[str, str] = YES) -> None:
        entries = self.cells.setdefault(caveat, {}).setdefault(model, [])
        if setting not in entries:
            entries.append(setting)

    def short(self, caveat: str, model: str, *settings: tuple[str, int, int]) -> None:
        """Each (phrase with {}, this run's value, a full run's) whose value is below the full run's."""
        for phrase, value, full in settings:
            if value < full:
                self.add(caveat, model, (phrase.format(value), f"{full:,}"))

    def merge(self, other: Self) -> None:
        for caveat, models in other.cells.items():
            for model, entries in models.items():
                for entry in entries:
                    self.add(caveat, model, entry)

    def cell(self, caveat: str, model: str) -> str:
        """``model``'s settings under ``caveat``, a full run's in brackets; "yes" where none is named; — if none."""
        entries = self.cells.get(caveat, {}).get(model, [])
        entries = [e for e in entries if e != YES] or entries
        fulls = [full for _, full in entries if full]
        text = ", ".join(setting for setting, _ in entries) or NOT_REPORTED
        return f"{text} ({', '.join(fulls)} in a full run)" if fulls else text

    def caveats(self) -> list[tuple[str, str, str]]:
        """(key, label, meaning) of each caveat that applies, in the table's order."""
        return [(key, *CAVEATS[key]) for key in CAVEATS if key in self.cells]

    def table(self) -> Table:
        """Caveat × model, each caveat's meaning in its row's head: the page's summary."""
        rows = [
            [f"**{label}:** {meaning}", *(self.cell(key, m) for m in PROBED)] for key, label, meaning in self.caveats()
        ]
        return Table(["caveat", *(MODEL_TITLES[m] for m in PROBED)], rows)

    def alerts(self) -> list[Block]:
        """A section's warnings, one per caveat (its meaning: in the table on top): the models, those alike together."""
        out: list[Block] = []
        for key, label, _ in self.caveats():
            alike: dict[str, list[str]] = {}
            for model in (m for m in PROBED if m in self.cells[key]):
                alike.setdefault(self.cell(key, model), []).append(MODEL_TITLES[model])
            who = [join_and(titles) + ("" if cell == YES[0] else f": {cell}") for cell, titles in alike.items()]
            out.append(Alert(f"**{label}:** {'; '.join(who)}."))
        return out


def section(heading: Heading, prov: Provenance, *blocks: Block) -> tuple[list[Block], Provenance]:
    """A section's blocks, its warnings under its heading, and its caveats for the table on top."""
    return [heading, *prov.alerts(), *blocks], prov


def _epochs(model: str, epochs: int) -> tuple[str, int, int]:
    """Training shorter than fast's own recipe (fast) or the seed's (the others) is a smoke setting."""
    return ("{} epoch" + "s" * (epochs != 1), epochs, FAST_RECIPE["epochs"] if model == "fast" else SEED_EPOCHS)


def trained_provenance(models: dict[str, EvalInfo]) -> Provenance:
    """Sample and smoke training of the CIFAR models, from what evaluate measured."""
    p = Provenance()
    for name, info in models.items():
        data = info.data
        if data.subset:
            total = data.train_images + data.val_images + data.test_images
            counts = f"{data.train_images:,} training, {data.val_images:,} validation, {data.test_images:,} test"
            p.add("sample", name, (f"{total:,} images: {counts}", ""))
        width = info.config.get("width")
        narrow = [("width {}", width, SEED_RESNET_WIDTH)] if type(width) is int else []  # the ResNet's
        p.short("training", name, _epochs(name, info.epochs), *narrow)
    return p


def probed_provenance(model: ProbedModel) -> Provenance:
    """Random AlexNet weights, or what the probed CIFAR model was trained on (from its checkpoint)."""
    p, trained = Provenance(), model.trained_model
    if model.name == "alexnet" and model.random_weights:
        p.add("random", "alexnet")
    elif model.name in MODELS and trained is not None:
        if trained.subset:
            p.add("sample", model.name)
        if trained.epochs is not None:
            p.short("training", model.name, _epochs(model.name, trained.epochs))
    return p
