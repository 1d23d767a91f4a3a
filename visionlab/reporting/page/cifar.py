"""Sections 1 and 2: the data, and the CIFAR-10 models beside the seed's numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visionlab.errors import PipelineError
from visionlab.metrics.evaluation import EvalInfo, EvalMetrics
from visionlab.metrics.training import TrainingInfo, TrainingSummary
from visionlab.reporting.page.blocks import NOT_REPORTED, Block, FigureRow, Heading, Para, Table, pct, seed_cell
from visionlab.reporting.page.inputs import MODEL_TITLES, MODELS, Inputs, Stage, figure_block, load_channel_stats
from visionlab.reporting.page.provenance import SEED_RESNET_WIDTH, Provenance, model_provenance
from visionlab.seed_report import SEED_CIFAR, SEED_DATA

SEED_CNN_KERNELS = [7, 5, 3, 2]

Evaluation = Stage[EvalMetrics, EvalInfo]


@dataclass
class Training:
    """The train stage's DVCLive summary (its metrics) and its side file."""

    summary: TrainingSummary
    info: TrainingInfo


def data_section(inputs: Inputs, models: dict[str, Evaluation]) -> tuple[list[Block], Provenance]:
    mean, std = load_channel_stats(inputs.stats)
    cnn = models["cnn"]
    counts = _split_counts(cnn.info)
    for other in models.values():  # every model must have seen the same split
        theirs = _split_counts(other.info)
        if theirs != counts:
            raise PipelineError(f"{other.info_path}: data split {theirs} differs from {cnn.info_path}'s {counts}")
    prov = Provenance()
    if cnn.info.data.subset:
        prov.sample.append(
            f"These are the CIFAR-10 sample's {sum(counts.values()):,} images, not the full {SEED_DATA['images']:,}."
        )
    blocks: list[Block] = [
        Heading(2, "1. Data"),
        *prov.alerts(),
        Table(
            ["", "this run", "seed report"],
            [
                ["training images", f"{counts['train']:,}", NOT_REPORTED],
                ["validation images", f"{counts['val']:,}", NOT_REPORTED],
                ["test images", f"{counts['test']:,}", NOT_REPORTED],
                ["all images", f"{sum(counts.values()):,}", seed_cell(f"{SEED_DATA['images']:,}")],
            ],
        ),
        Para(
            "Per-channel mean and standard deviation of the training split (pixels in 0..1), used to "
            "normalise every split:"
        ),
        Table(
            ["channel", "mean", "std"],
            [[c, f"{mu:.4f}", f"{sd:.4f}"] for c, mu, sd in zip(("red", "green", "blue"), mean, std, strict=True)],
        ),
    ]
    return blocks, prov


def _split_counts(info: EvalInfo) -> dict[str, int]:
    return {"train": info.data.train_images, "val": info.data.val_images, "test": info.data.test_images}


def _seed_cifar(model: str, key: str, fmt: Callable[[float], str]) -> str:
    seed = SEED_CIFAR.get(model, {})
    if key in seed:
        return fmt(seed[key])
    log = seed.get("log", {})
    columns = {"train_loss": 2, "val_loss": 3}  # the seed's final logged epoch
    if key in columns and log:
        return fmt(log[max(log)][columns[key]])
    return NOT_REPORTED


def cifar_section(
    inputs: Inputs, models: dict[str, Evaluation], training: dict[str, Training], page_dir: Path
) -> tuple[list[Block], Provenance]:
    prov = Provenance()
    prov.merge(model_provenance({name: m.info for name, m in models.items()}))
    loss = lambda v: f"{v:.4f}"  # noqa: E731
    # label, value (test scores from evaluate, the last epoch's from the train stage's DVCLive summary), seed key
    rows_spec: list[tuple[str, Callable[[str], float], str, Callable[[float], str]]] = [
        ("test accuracy", lambda n: models[n].metrics.test.accuracy, "test_accuracy", pct),
        ("test loss", lambda n: models[n].metrics.test.loss, "test_loss", loss),
        ("validation accuracy", lambda n: training[n].summary.val.accuracy, "val_accuracy", pct),
        ("validation loss", lambda n: training[n].summary.val.loss, "val_loss", loss),
        ("training accuracy", lambda n: training[n].summary.train.accuracy, "train_accuracy", pct),
        ("training loss", lambda n: training[n].summary.train.loss, "train_loss", loss),
    ]
    header = ["", *[col for n in MODELS for col in (f"{MODEL_TITLES[n]}", f"{MODEL_TITLES[n]} (seed)")]]
    rows: list[list[str]] = []
    for label, get, seed_key, fmt in rows_spec:
        rows.append([label, *[cell for name in MODELS for cell in (fmt(get(name)), _seed_cifar(name, seed_key, fmt))]])
    extra: list[tuple[str, Callable[[str], str], str | None]] = [
        ("epochs", lambda n: str(models[n].info.epochs), "epochs"),
        ("training time", lambda n: f"{training[n].summary.timing.train_seconds:,.0f} s", None),
        ("training speed", lambda n: f"{training[n].info.images_per_second:,.0f} images/s", None),
        ("device", lambda n: f"`{models[n].info.device}`", None),
        ("precision", lambda n: training[n].info.precision, None),
    ]
    for label, get, seed_key in extra:
        row = [label]
        for name in MODELS:
            seed = SEED_CIFAR.get(name, {})
            row += [get(name), str(int(seed[seed_key])) if seed_key and seed_key in seed else NOT_REPORTED]
        rows.append(row)
    seed_arch = {
        "cnn": f"kernel_sizes {_compact(SEED_CNN_KERNELS)}",
        "resnet": f"width {SEED_RESNET_WIDTH}",
        "fast": NOT_REPORTED,  # ours: the seed has no such model
    }
    row = ["architecture"]
    for name in MODELS:
        row += [", ".join(f"{k} {_compact(v)}" for k, v in models[name].info.config.items()), seed_arch[name]]
    rows.append(row)
    blocks: list[Block] = [
        Heading(2, "2. CIFAR-10: CNN, ResNet and Fast"),
        *prov.alerts(),
        Para(
            "Each number of this run sits beside the seed report's (— where the seed gives none; it has no fast "
            "model, so all of Fast's seed column is —). "
            "Accuracies and losses are on the test split, the held-out validation split, and the training "
            "split as logged in the last epoch."
        ),
        Table(header, rows),
    ]
    for name in MODELS:
        title = MODEL_TITLES[name]
        seed_log = " (crosses: the seed report's log)" if SEED_CIFAR.get(name, {}).get("log") else ""
        blocks += [
            Heading(3, title),
            figure_block(
                inputs,
                f"{name}_curves",
                page_dir,
                f"{title}: loss and accuracy per epoch, training and validation{seed_log}",
            ),
            FigureRow(
                [
                    figure_block(inputs, f"{name}_confusion", page_dir, f"{title}: confusion matrix on the test split"),
                    figure_block(inputs, f"{name}_misclassified", page_dir, f"{title}: misclassified test images"),
                ]
            ),
        ]
    return blocks, prov


def _compact(value: Any) -> str:
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)
