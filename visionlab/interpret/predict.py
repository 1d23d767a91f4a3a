"""Top-k ImageNet predictions of AlexNet with and without its input normalisation (seed 1a/1b)."""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from visionlab.interpret.alexnet import LoadedAlexNet
from visionlab.interpret.classifiers import RANDOM_WEIGHTS_NOTE
from visionlab.interpret.images import InputImage
from visionlab.metrics.predict import ImagePrediction, ModeScores, PredictInfo, PredictMetrics, Top1
from visionlab.metrics.probe import ProbedModel

MODES = ("without_normalization", "with_normalization")
CONFIDENT = 0.98  # the seed counts predictions above this confidence


@dataclass
class Guess:
    index: int
    name: str
    probability: float


@dataclass
class Prediction:
    image: InputImage
    top: dict[str, list[Guess]]  # mode -> top-k guesses, best first


def predict(alex: LoadedAlexNet, images: list[InputImage], k: int, batch_size: int = 16) -> list[Prediction]:
    """Top-k of ``alex.net`` on raw [0, 1] pixels (the seed's mistake) and of the normalised model."""
    device = next(alex.model.parameters()).device
    networks = {"without_normalization": alex.net, "with_normalization": alex.model}
    results: list[Prediction] = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        batch = torch.stack([im.pixels for im in chunk]).to(device)
        tops: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        with torch.no_grad():
            for mode, network in networks.items():
                probs = F.softmax(network(batch), dim=1)
                values, indices = probs.topk(k, dim=1)
                tops[mode] = values.cpu(), indices.cpu()
        for row, image in enumerate(chunk):
            top = {
                mode: [
                    Guess(int(i), alex.class_names[int(i)], float(p))
                    for p, i in zip(values[row], indices[row], strict=True)
                ]
                for mode, (values, indices) in tops.items()
            }
            results.append(Prediction(image=image, top=top))
    return results


def predictions_csv(predictions: list[Prediction]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["image", "source", "note", "normalization", "rank", "class_index", "class_name", "probability"])
    for pred in predictions:
        for mode in MODES:
            for rank, guess in enumerate(pred.top[mode], start=1):
                writer.writerow(
                    [
                        pred.image.name,
                        pred.image.source,
                        pred.image.note,
                        mode,
                        rank,
                        guess.index,
                        guess.name,
                        f"{guess.probability:.6f}",
                    ]
                )
    return out.getvalue()


def predictions_markdown(predictions: list[Prediction], alex: LoadedAlexNet) -> str:
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
        "| image | input | normalisation | " + " | ".join(f"top {r}" for r in range(1, k + 1)) + " |",
        "|---|---|---|" + "---|" * k,
    ]
    for pred in predictions:
        what = pred.image.source + (f": {pred.image.note}" if pred.image.note else "")
        for mode in MODES:
            cells = [f"{g.name} ({g.probability:.3f})" for g in pred.top[mode]]
            label = "ImageNet mean/std" if mode == "with_normalization" else "none"
            lines.append(f"| {pred.image.name} | {what} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def prediction_records(
    predictions: list[Prediction], model: ProbedModel, device: str, top_k: int
) -> tuple[PredictMetrics, PredictInfo]:
    """The predict stage's metrics (summaries over the images) and info (each image's top-1, both ways).

    The seed's five photos are not ours: its numbers live in visionlab.seed_report, beside these in the report.
    """

    def scores(mode: str) -> ModeScores:
        confidences = [pred.top[mode][0].probability for pred in predictions]
        return ModeScores(statistics.median(confidences), sum(c > CONFIDENT for c in confidences))

    agree = [pred.top[MODES[0]][0].index == pred.top[MODES[1]][0].index for pred in predictions]
    metrics = PredictMetrics(scores(MODES[0]), scores(MODES[1]), sum(agree) / len(agree))

    def top1(pred: Prediction, mode: str) -> Top1:
        best = pred.top[mode][0]
        return Top1(best.index, best.name, best.probability)

    images = [ImagePrediction(pred.image.name, top1(pred, MODES[0]), top1(pred, MODES[1])) for pred in predictions]
    return metrics, PredictInfo(model, device, top_k, images)
