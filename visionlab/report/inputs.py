"""Where the report's inputs live, and reading them: a missing or malformed input is one PipelineError line.

Only the files under :func:`dep_paths` are read: the ``report`` stage in ``dvc.yaml`` lists the same
paths as deps (the metrics, side-file and figure folders whole, every file of which the page reads or
links), so DVC reruns it exactly when one of them changes.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from visionlab.core.errors import PipelineError
from visionlab.core.io import read_text
from visionlab.core.record import load_record
from visionlab.models.registry import MODELS, PROBED
from visionlab.report.blocks import Figure

MODEL_TITLES = {"alexnet": "AlexNet", "cnn": "CNN", "resnet": "ResNet", "fast": "Fast"}
INTERPRET = ("predict", "filters", "maximize_channels")
ANALYSES = ("maximize_class", "attack")  # on AlexNet and each trained CIFAR model: <model>_<analysis>.json
ATTRIBUTION = "attribution"  # attribute@<model>: a side file <model>_attribution.json and a figure, no metrics
BEYOND = ("calibration", "corruption")  # on each trained CIFAR model: <model>_<kind>.json (metrics and info)
FIGURES = {
    **{f"{m}_{kind}": f"{m}/{kind}.png" for m in MODELS for kind in ("curves", "confusion", "misclassified")},
    **{f"{m}_{kind}": f"{m}/{kind}.png" for m in PROBED for kind in (*ANALYSES, ATTRIBUTION)},
    **{f"{m}_reliability": f"{m}/reliability.png" for m in MODELS},
    "predict": "predict.png",
    "filters": "alexnet_conv1_filters.png",
    "maximize_channels": "maximize_channels/panel.png",
    **{f"{m}_visualize": f"{m}/visualize.png" for m in PROBED},
}


@dataclass(frozen=True)
class Inputs:
    """Where the report's inputs live: ``reports`` (metrics, side files, tables, figures) and ``data/stats.json``."""

    reports: Path
    stats: Path

    @property
    def metrics_dir(self) -> Path:
        return self.reports / "metrics"

    @property
    def info_dir(self) -> Path:
        return self.reports / "info"

    @property
    def figures_dir(self) -> Path:
        return self.reports / "figures"

    def metrics(self, name: str) -> Path:
        """A stage's metrics file (``dvc.yaml``'s ``metrics:``): the numbers worth comparing."""
        return self.metrics_dir / f"{name}.json"

    def info(self, name: str) -> Path:
        """The side file beside a stage's metrics: what they were measured on, names, settings, details."""
        return self.info_dir / f"{name}.json"

    def training_metrics(self, model: str) -> Path:
        """The train stage's DVCLive summary: final epoch values and the training time."""
        return self.reports / "train" / model / "metrics.json"

    @property
    def predictions_md(self) -> Path:
        return self.reports / "predict" / "predictions.md"

    @property
    def filters_md(self) -> Path:
        return self.reports / "filters" / "summary.md"

    @property
    def visualize_dir(self) -> Path:
        return self.reports / "visualize"

    def visualize(self, model: str) -> Path:
        """visualize@<model>'s file: every objective and rung with its numbers (not metrics: too many)."""
        return self.visualize_dir / f"{model}.json"

    def figure(self, key: str) -> Path:
        return self.figures_dir / FIGURES[key]


def dep_paths(inputs: Inputs) -> list[Path]:
    """The report stage's data deps, in the order of ``dvc.yaml``: folders whose every file it reads, and files."""
    return [
        inputs.stats,
        inputs.metrics_dir,
        inputs.info_dir,
        *(inputs.training_metrics(m) for m in MODELS),
        inputs.predictions_md,
        inputs.filters_md,
        inputs.visualize_dir,
        inputs.figures_dir,
    ]


def input_files(inputs: Inputs) -> list[Path]:
    """Every file the report reads or links; each lies in (or is) one of :func:`dep_paths`."""
    analyses = [f"{m}_{kind}" for m in PROBED for kind in ANALYSES]
    beyond = [f"{m}_{kind}" for m in MODELS for kind in BEYOND]
    metrics = [*MODELS, *(n for n in INTERPRET if n != "filters"), *analyses, *beyond]  # filters measures nothing
    # every stage's side file, the train stage's as <model>_train
    info = [*MODELS, *INTERPRET, *analyses, *(f"{m}_{ATTRIBUTION}" for m in PROBED), *(f"{m}_train" for m in MODELS)]
    return [
        inputs.stats,
        *map(inputs.metrics, metrics),
        *map(inputs.info, [*info, *beyond]),
        *(inputs.training_metrics(m) for m in MODELS),
        inputs.predictions_md,
        inputs.filters_md,
        *(inputs.visualize(m) for m in PROBED),
        *(inputs.figure(key) for key in FIGURES),
    ]


M = TypeVar("M")
I = TypeVar("I")  # noqa: E741 - the info record's type


@dataclass
class Stage(Generic[M, I]):
    """One stage's metrics and side file, read and checked."""

    metrics: M
    info: I
    metrics_path: Path
    info_path: Path


def load_stage(
    inputs: Inputs, name: str, metrics_cls: type[M], info_cls: type[I], metrics: Path | None = None
) -> Stage[M, I]:
    """``reports/metrics/<name>.json`` (or ``metrics``) and ``reports/info/<name>.json`` as their records."""
    metrics, info = metrics or inputs.metrics(name), inputs.info(name)
    return Stage(load_record(metrics_cls, metrics), load_record(info_cls, info), metrics, info)


def check_model(path: Path, found: str, name: str, what: str) -> None:
    """A file named after ``name`` must hold ``name``'s ``what``."""
    if found != name:
        raise PipelineError(f"{path}: holds the {what} of {found!r}, not {name!r}")


def load_markdown(path: Path) -> str:
    return read_text(path, _missing(path))


def figure_block(inputs: Inputs, key: str, page_dir: Path, caption: str) -> Figure:
    """A figure, linked by its path relative to the page; it must exist."""
    path = inputs.figure(key)
    if not path.is_file():
        raise PipelineError(_missing(path))
    return Figure(Path(os.path.relpath(path, page_dir)).as_posix(), caption)


def _missing(path: Path) -> str:
    return f"{path}: not found (run `dvc repro` to produce it)"
