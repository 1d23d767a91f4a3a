"""Sections 1-2: the data, and the CIFAR-10 models beside the seed's numbers."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from visionlab.core.errors import PipelineError
from visionlab.core.seed_report import SEED_CIFAR, SEED_DATA
from visionlab.data.cifar import load_stats
from visionlab.evaluation.record import EvalInfo, EvalMetrics
from visionlab.models.registry import MODELS
from visionlab.report.blocks import NOT_REPORTED, Block, FigureRow, Heading, Para, Table, compact, pct, seed_table
from visionlab.report.inputs import MODEL_TITLES, Inputs, Stage, figure_block
from visionlab.report.provenance import SEED_RESNET_WIDTH, Provenance, section, trained_provenance
from visionlab.training.record import TrainingInfo, TrainingSummary

Evaluation = Stage[EvalMetrics, EvalInfo]
Training = Stage[TrainingSummary, TrainingInfo]  # the train stage's DVCLive summary (its metrics) and side file
SPLITS = {"train_images": "training", "val_images": "validation", "test_images": "test"}
SEED_ARCHITECTURE = {"cnn": "kernel_sizes 7-5-3-2", "resnet": f"width {SEED_RESNET_WIDTH}", "fast": NOT_REPORTED}


def data_section(inputs: Inputs, models: dict[str, Evaluation]) -> tuple[list[Block], Provenance]:
    mean, std = load_stats(inputs.stats)  # train's reader of it, the same checks
    cnn, split_counts = models["cnn"], lambda info: {key: getattr(info.data, key) for key in SPLITS}  # noqa: E731
    counts = split_counts(cnn.info)
    for other in models.values():  # every model must have seen the same split
        if (theirs := split_counts(other.info)) != counts:
            raise PipelineError(f"{other.info_path}: data split {theirs} differs from {cnn.info_path}'s {counts}")
    sample = trained_provenance({name: m.info for name, m in models.items()}).cells.get("sample")
    rows = [(f"{split} images", f"{counts[key]:,}", None) for key, split in SPLITS.items()]
    return section(
        Heading(2, "1. Data"),
        Provenance({"sample": sample} if sample else {}),
        seed_table([*rows, ("all images", f"{sum(counts.values()):,}", f"{SEED_DATA['images']:,}")]),
        Para(
            "Per-channel mean and standard deviation of the training split (pixels in 0..1), used to "
            "normalise every split:"
        ),
        Table(
            ["channel", "mean", "std"],
            [[c, f"{mu:.4f}", f"{sd:.4f}"] for c, mu, sd in zip(("red", "green", "blue"), mean, std, strict=True)],
        ),
    )


def _seed_cifar(model: str, key: str | None, fmt: Callable[[Any], str]) -> str:
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
    loss = lambda v: f"{v:.4f}"  # noqa: E731
    # label, value (test scores from evaluate, the last epoch's from the train stage's DVCLive summary), seed key,
    # the format of both
    spec: list[tuple[str, Callable[[str], Any], str | None, Callable[[Any], str]]] = [
        ("test accuracy", lambda n: models[n].metrics.test.accuracy, "test_accuracy", pct),
        ("test loss", lambda n: models[n].metrics.test.loss, "test_loss", loss),
        ("validation accuracy", lambda n: training[n].metrics.val.accuracy, "val_accuracy", pct),
        ("validation loss", lambda n: training[n].metrics.val.loss, "val_loss", loss),
        ("training accuracy", lambda n: training[n].metrics.train.accuracy, "train_accuracy", pct),
        ("training loss", lambda n: training[n].metrics.train.loss, "train_loss", loss),
        ("epochs", lambda n: models[n].info.epochs, "epochs", lambda v: str(int(v))),
        ("training time", lambda n: training[n].metrics.timing.train_seconds, None, lambda v: f"{v:,.0f} s"),
        ("training speed", lambda n: training[n].info.images_per_second, None, lambda v: f"{v:,.0f} images/s"),
        ("device", lambda n: models[n].info.device, None, lambda v: f"`{v}`"),
        ("precision", lambda n: training[n].info.precision, None, str),
    ]
    rows = [
        [label, *(c for n in MODELS for c in (fmt(get(n)), _seed_cifar(n, key, fmt)))] for label, get, key, fmt in spec
    ]
    architecture = {n: ", ".join(f"{k} {compact(v)}" for k, v in models[n].info.config.items()) for n in MODELS}
    rows.append(["architecture", *(c for n in MODELS for c in (architecture[n], SEED_ARCHITECTURE[n]))])
    figures: list[Block] = []
    for name in MODELS:
        title = MODEL_TITLES[name]
        seed_log = " (crosses: the seed report's log)" if SEED_CIFAR.get(name, {}).get("log") else ""
        curves = f"{title}: loss and accuracy per epoch, training and validation{seed_log}"
        confusion = figure_block(inputs, f"{name}_confusion", page_dir, f"{title}: confusion matrix on the test split")
        wrong = figure_block(inputs, f"{name}_misclassified", page_dir, f"{title}: misclassified test images")
        figures += [
            Heading(3, title),
            figure_block(inputs, f"{name}_curves", page_dir, curves),
            FigureRow([confusion, wrong]),
        ]
    return section(
        Heading(2, "2. CIFAR-10: CNN, ResNet and Fast"),
        trained_provenance({name: m.info for name, m in models.items()}),
        Para(
            "Each number of this run sits beside the seed report's (— where the seed gives none; it has no fast "
            "model, so all of Fast's seed column is —). "
            "Accuracies and losses are on the test split, the held-out validation split, and the training "
            "split as logged in the last epoch."
        ),
        Table(["", *(c for n in MODELS for c in (MODEL_TITLES[n], f"{MODEL_TITLES[n]} (seed)"))], rows),
        *figures,
    )
