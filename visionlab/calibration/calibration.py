"""Confidence calibration: expected calibration error, the reliability table, temperature scaling (Guo et al. 2017). The
ECE is torchmetrics' ``MulticlassCalibrationError(num_classes=10, n_bins=15, norm="l1")``; the reliability table bins
the top-1 confidences the same way (``torch.bucketize`` on 15 equal bins, right edges closed to the next bin, so a
confidence of exactly 1 has a bin of its own), and its bins give that ECE back (the tests check both)."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassCalibrationError

from visionlab.core.errors import PipelineError

N_BINS = 15
# The temperature is searched as log T within these bounds (T from 0.01 to 100): NLL is unimodal in
# log T, so stopping at a bound still never raises it above T = 1.
LOG_T_BOUNDS = (-4.6, 4.6)


@dataclass(frozen=True)
class Bin:
    index: int  # 0..15 (15: confidence exactly 1)
    lower: float
    upper: float
    count: int
    confidence: float  # mean top-1 confidence of the bin
    accuracy: float  # fraction of the bin's top-1 predictions that are right


def _check(logits: torch.Tensor, labels: torch.Tensor) -> None:
    if logits.ndim != 2 or len(logits) == 0 or labels.shape != logits.shape[:1]:
        raise PipelineError(f"calibration needs logits (N >= 1, classes) and N labels, got {tuple(logits.shape)}")


def ece(probabilities: torch.Tensor, labels: torch.Tensor, num_classes: int = 10) -> float:
    """Expected calibration error (15 bins, L1), torchmetrics' definition."""
    metric = MulticlassCalibrationError(num_classes=num_classes, n_bins=N_BINS, norm="l1")
    return float(metric(probabilities.double(), labels))


def reliability_bins(probabilities: torch.Tensor, labels: torch.Tensor) -> list[Bin]:
    """The non-empty bins of the top-1 confidences: count, mean confidence, accuracy."""
    confidence, predicted = probabilities.double().max(dim=1)
    edges = torch.linspace(0, 1, N_BINS + 1, dtype=torch.float64)
    index = torch.bucketize(confidence, edges, right=True) - 1
    correct = (predicted == labels).double()
    bins = []
    for i in index.unique().tolist():
        inside = index == i
        upper = float(edges[i + 1]) if i < N_BINS else 1.0
        mean_confidence, accuracy = float(confidence[inside].mean()), float(correct[inside].mean())
        bins.append(Bin(i, float(edges[i]), upper, int(inside.sum()), mean_confidence, accuracy))
    return bins


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    return float(F.cross_entropy(logits.double() / temperature, labels))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature T minimising the NLL of ``softmax(logits / T)``, by LBFGS on log T from T = 1; never worse
    than T = 1 on these logits: if the search ends higher (or not finite), T = 1 is returned."""
    _check(logits, labels)
    logits = logits.detach().double()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.clamp(*LOG_T_BOUNDS).exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = float(log_t.detach().clamp(*LOG_T_BOUNDS).exp())
    if not torch.isfinite(torch.tensor(temperature)) or nll(logits, labels, temperature) > nll(logits, labels):
        return 1.0
    return temperature


@dataclass(frozen=True)
class Calibration:
    """One model's calibration: the fitted temperature, ECE and reliability bins on the test split, NLLs."""

    temperature: float
    ece: float
    ece_temperature: float
    bins: list[Bin]
    bins_temperature: list[Bin]
    test_accuracy: float
    nll: dict[str, tuple[float, float]]  # split -> (before, after)


def calibrate(
    val_logits: torch.Tensor, val_labels: torch.Tensor, test_logits: torch.Tensor, test_labels: torch.Tensor
) -> Calibration:
    """Fit the temperature on the validation logits; measure ECE before and after on the test logits."""
    _check(val_logits, val_labels)
    _check(test_logits, test_labels)
    t = fit_temperature(val_logits, val_labels)
    before, after = test_logits.double().softmax(1), (test_logits.double() / t).softmax(1)
    classes = test_logits.shape[1]
    return Calibration(
        temperature=t,
        ece=ece(before, test_labels, classes),
        ece_temperature=ece(after, test_labels, classes),
        bins=reliability_bins(before, test_labels),
        bins_temperature=reliability_bins(after, test_labels),
        test_accuracy=float((test_logits.argmax(1) == test_labels).double().mean()),
        nll={
            "validation": (nll(val_logits, val_labels), nll(val_logits, val_labels, t)),
            "test": (nll(test_logits, test_labels), nll(test_logits, test_labels, t)),
        },
    )


def bins_csv(bins: list[Bin]) -> str:
    """The reliability table as CSV for DVC's plot (x: confidence, y: accuracy)."""
    rows = ["bin,lower,upper,confidence,accuracy,count"]
    rows += [f"{b.index},{b.lower!r},{b.upper!r},{b.confidence!r},{b.accuracy!r},{b.count}" for b in bins]
    return "\n".join(rows) + "\n"
