"""Top-k ImageNet predictions of AlexNet with and without its input normalisation (seed 1a/1b)."""

import csv
import itertools
import re
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from visionlab.core.io import write_atomic
from visionlab.models.alexnet import LoadedAlexNet
from visionlab.models.classifier import RANDOM_WEIGHTS_NOTE
from visionlab.predict.record import ImagePrediction, ModeScores, PredictInfo, PredictMetrics, Top1
from visionlab.probe.images import InputImage
from visionlab.probe.record import ProbedModel

_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")  # what str.splitlines splits on


def md_cell(text: str) -> str:
    """``text`` (a file name) safe in a Markdown table cell: a pipe would split the cell, a line break the row."""
    return _LINE_BREAK.sub(lambda m: repr(m[0])[1:-1], text.replace("|", "\\|"))


MODES = ("without_normalization", "with_normalization")  # also ImagePrediction's field names
CONFIDENT = 0.98  # the seed counts predictions above this confidence
BATCH = 16  # images decoded and predicted at once: memory stays bounded whatever the folder holds
SHOWN = 24  # images in the figure and the markdown table; the CSV has every one


@dataclass
class Prediction:
    image: InputImage
    top: dict[str, list[Top1]]  # mode -> top-k guesses, best first


def predict(alex: LoadedAlexNet, images: Iterable[InputImage], k: int) -> Iterator[Prediction]:
    """Top-k of ``alex.net`` on raw [0, 1] pixels (the seed's mistake) and of the normalised model, BATCH at a time."""
    device = next(alex.model.parameters()).device
    networks = {"without_normalization": alex.net, "with_normalization": alex.model}
    images = iter(images)
    while chunk := list(itertools.islice(images, BATCH)):
        batch = torch.stack([im.pixels for im in chunk]).to(device)
        tops: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        with torch.no_grad():
            for mode, network in networks.items():
                values, indices = F.softmax(network(batch), dim=1).topk(k, dim=1)
                tops[mode] = values.cpu(), indices.cpu()
        for row, image in enumerate(chunk):
            top = {
                mode: [
                    Top1(int(i), alex.class_names[int(i)], float(p))
                    for p, i in zip(values[row], indices[row], strict=True)
                ]
                for mode, (values, indices) in tops.items()
            }
            yield Prediction(image=image, top=top)


def write_predictions(
    predictions: Iterable[Prediction], csv_path: str | Path
) -> tuple[list[Prediction], list[ImagePrediction]]:
    """Streams every prediction's top-k rows into ``csv_path``; returns the first SHOWN and every image's top-1."""
    shown: list[Prediction] = []
    top1s: list[ImagePrediction] = []

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            header = ["image", "source", "note", "normalization", "rank", "class_index", "class_name", "probability"]
            writer.writerow(header)
            for pred in predictions:
                im = pred.image
                writer.writerows(
                    [im.name, im.source, im.note, mode, rank, g.class_index, g.class_name, f"{g.confidence:.6f}"]
                    for mode in MODES
                    for rank, g in enumerate(pred.top[mode], start=1)
                )
                top1s.append(ImagePrediction(im.name, pred.top[MODES[0]][0], pred.top[MODES[1]][0]))
                if len(shown) < SHOWN:
                    shown.append(pred)

    write_atomic(csv_path, write)
    return shown, top1s


def predictions_markdown(predictions: list[Prediction], total: int, alex: LoadedAlexNet) -> str:
    """The table of the first ``predictions`` (of ``total`` images)."""
    k = len(predictions[0].top[MODES[0]]) if predictions else 0
    lines = ["# AlexNet predictions with and without ImageNet normalisation", ""]
    if alex.random_weights:
        lines += [f"**{RANDOM_WEIGHTS_NOTE}**: these predictions are meaningless.", ""]
    else:
        lines += [f"Weights: `{alex.weights}`.", ""]
    lines += [
        "Without normalisation the raw [0, 1] pixels go straight into the network (the seed's 1a);",
        "with it they are first standardised by the ImageNet mean and std (1b).",
        "",
    ]
    if total > len(predictions):
        lines += [f"The first {len(predictions)} of the {total} images; predictions.csv has every one.", ""]
    lines += [
        "| image | input | normalisation | " + " | ".join(f"top {r}" for r in range(1, k + 1)) + " |",
        "|---|---|---|" + "---|" * k,
    ]
    for pred in predictions:
        what = pred.image.source + (f": {pred.image.note}" if pred.image.note else "")
        for mode in MODES:
            cells = [f"{g.class_name} ({g.confidence:.3f})" for g in pred.top[mode]]
            label = "ImageNet mean/std" if mode == "with_normalization" else "none"
            lines.append(f"| {md_cell(pred.image.name)} | {what} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def prediction_records(
    images: list[ImagePrediction], model: ProbedModel, device: str, top_k: int
) -> tuple[PredictMetrics, PredictInfo]:
    """The predict stage's metrics (summaries over the images) and info (each image's top-1, both ways). The seed's five
    photos are not ours: its numbers live in visionlab.core.seed_report, beside these in the report."""

    def scores(mode: str) -> ModeScores:
        confidences = [getattr(image, mode).confidence for image in images]
        return ModeScores(statistics.median(confidences), sum(c > CONFIDENT for c in confidences))

    agree = [im.without_normalization.class_index == im.with_normalization.class_index for im in images]
    metrics = PredictMetrics(scores(MODES[0]), scores(MODES[1]), sum(agree) / len(agree))
    return metrics, PredictInfo(model, device, top_k, images)
