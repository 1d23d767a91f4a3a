"""Running a trained model on a split: data as tensors on the device, bf16 where the hardware has it natively."""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from visionlab.data.cifar import Split


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [0, 1] in channels_last layout (one copy); models normalise internally
    (see models.Normalized) and are kept channels_last too, which is what fast convolutions want."""
    return images.to(dtype=torch.float32, memory_format=torch.channels_last).div_(255.0)


@dataclass
class DeviceSplit:
    """One split as a uint8 image tensor and an int64 label tensor, both on the training device."""

    images: torch.Tensor
    labels: torch.Tensor

    @classmethod
    def from_split(cls, split: Split, device: torch.device) -> Self:
        return cls(torch.from_numpy(split.images).to(device), torch.from_numpy(split.labels).to(device))

    def __len__(self) -> int:
        return len(self.labels)


def cpu_has_native_bf16() -> bool:
    """AVX-512-BF16 or AMX: without them bf16 autocast on the CPU is emulated and many times slower than fp32."""
    cpu = torch.cpu
    return bool(
        getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(cpu, "_is_amx_tile_supported", lambda: False)()
    )


def resolve_precision(requested: str, device: torch.device) -> str:
    """The precision a run uses: ``auto`` is bf16 on CUDA, fp32 elsewhere (exactly repeatable CPU runs); ``bf16``
    is honoured on CUDA and CPUs with native bf16, elsewhere fp32 (:func:`precision_note` says so)."""
    if requested == "fp32":
        return "fp32"
    if device.type == "cuda":
        return "bf16"
    if requested == "bf16" and device.type == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def precision_note(requested: str, device: torch.device) -> str | None:
    """One line when ``bf16`` was asked for but fp32 runs instead; None otherwise."""
    if requested == "bf16" and resolve_precision(requested, device) == "fp32":
        where = "this CPU has neither AVX-512-BF16 nor AMX" if device.type == "cpu" else f"not used on {device.type}"
        return f"precision bf16 requested, running fp32: {where}"
    return None


def autocast_for(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """bf16 autocast where :func:`resolve_precision` says bf16; plain float32 otherwise."""
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batch_logits(
    model: nn.Module, data: DeviceSplit, batch_size: int = 512, precision: str = "auto"
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(float32 logits, labels) of each batch of ``data`` in order, in eval mode and without gradients:
    the one way a trained model is run on a split (validation, test, corrupted test)."""
    model.eval()
    device = data.images.device
    for start in range(0, len(data), batch_size):
        images = to_float(data.images[start : start + batch_size])
        with torch.no_grad(), autocast_for(device, precision):
            logits = model(images)
        yield logits.float(), data.labels[start : start + batch_size]


def predict_logits(model: nn.Module, data: DeviceSplit, batch_size: int = 512, precision: str = "auto") -> torch.Tensor:
    """The float32 logits (N, classes) of every image of ``data``, as :func:`loss_and_predictions` computes them."""
    return torch.cat([logits for logits, _ in batch_logits(model, data, batch_size, precision)])


def loss_and_predictions(
    model: nn.Module, data: DeviceSplit, batch_size: int = 512, precision: str = "auto"
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy (no label smoothing) and the predicted class of every image, in eval mode."""
    total_loss = torch.zeros((), device=data.images.device)
    predictions = []
    for logits, labels in batch_logits(model, data, batch_size, precision):
        total_loss += F.cross_entropy(logits, labels, reduction="sum")
        predictions.append(logits.argmax(1))
    return total_loss.item() / len(data), torch.cat(predictions).cpu().numpy()


def loss_and_accuracy(
    model: nn.Module, data: DeviceSplit, batch_size: int = 512, precision: str = "auto"
) -> tuple[float, float]:
    loss, predicted = loss_and_predictions(model, data, batch_size, precision)
    return loss, float((predicted == data.labels.cpu().numpy()).mean())
