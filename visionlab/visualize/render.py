"""The ladder: each objective rendered four ways, every rung from the same seed: ``naive`` (the seed's pixel-space
ascent, unchanged), ``fft`` (Adam on a Fourier-space, colour-decorrelated :class:`FourierImage`), ``fft_transforms``
(the same through a fresh random transform at every step) and ``diversity`` (the third rung for a batch: its
objective's batch mean minus ``diversity_weight`` times the similarity of the batch's Gram matrices at a layer, as
Lucent's ``objective - 1e2 * diversity(layer)``, whose objectives are batch means too)."""

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from visionlab.probe.objectives import Objective, capture
from visionlab.probe.optimize import gradient_ascent, noise_image
from visionlab.visualize.param import FourierImage
from visionlab.visualize.params import TransformParams, VisualizeParams
from visionlab.visualize.record import RUNGS
from visionlab.visualize.transform import random_transform

NOISE_MEAN, NOISE_STD = 0.5, 0.01  # the seed's starting noise (maximize_channels, maximize_class)


@dataclass(frozen=True)
class Target:
    """One objective to render, and the layer whose Gram matrices the diversity rung keeps apart."""

    key: str  # conv1_0, conv5_3, class_logit, ...
    title: str
    objective: Objective
    gram_layer: nn.Module


@dataclass
class Rendered:
    images: torch.Tensor  # (N, 3, S, S) in [0, 1], on the device
    seconds: float


def gram_similarity(features: torch.Tensor) -> torch.Tensor:
    """Lucent's diversity term: the Gram matrices (N, C, C) of (N, C, H, W), each of unit norm, and the sum
    over ordered pairs i != j of their inner products, divided by N."""
    flat = features.flatten(2)
    grams = F.normalize((flat @ flat.transpose(1, 2)).flatten(1), dim=1)
    similarity = grams @ grams.T
    return (similarity.sum() - similarity.diagonal().sum()) / features.shape[0]


def naive(target: Target, size: int, settings: VisualizeParams, seed: int, device: torch.device) -> Rendered:
    start = time.perf_counter()
    init = noise_image(size, NOISE_MEAN, NOISE_STD, seed, device)
    images = gradient_ascent(target.objective, init, settings.naive_steps, settings.naive_step_size).images
    return Rendered(images.detach(), time.perf_counter() - start)


def fourier(
    target: Target,
    size: int,
    colour: torch.Tensor,
    settings: VisualizeParams,
    seed: int,
    device: torch.device,
    transforms: TransformParams | None = None,
    batch: int = 1,
    diversity_weight: float = 0.0,
) -> Rendered:
    """Rungs 2-4: ``transforms`` None for rung 2; ``batch`` and ``diversity_weight`` for rung 4."""
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)  # the spectrum first, then the transforms' draws
    image = FourierImage(batch, size, colour, settings.sd, settings.decay_power, generator, device)
    optimizer = torch.optim.Adam([image.spectrum], lr=settings.lr)
    for _ in range(settings.steps):
        seen = image.images()
        if transforms is not None:
            seen = random_transform(seen, transforms, generator)
        with capture(target.gram_layer) as layer:
            score = target.objective(seen).mean()
        if diversity_weight:
            score = score - diversity_weight * gram_similarity(layer.output[: seen.shape[0]])  # fast adds views
        optimizer.zero_grad(set_to_none=True)
        (-score).backward()
        optimizer.step()
    with torch.no_grad():
        images = image.images()
    return Rendered(images, time.perf_counter() - start)


def ladder(
    target: Target,
    size: int,
    colour: torch.Tensor,
    settings: VisualizeParams,
    transforms: TransformParams,
    seed: int,
    device: torch.device,
) -> dict[str, Rendered]:
    """The four rungs of ``target``, in :data:`RUNGS` order."""
    batch, weight = settings.diversity_batch, settings.diversity_weight
    rungs = {
        "naive": naive(target, size, settings, seed, device),
        "fft": fourier(target, size, colour, settings, seed, device),
        "fft_transforms": fourier(target, size, colour, settings, seed, device, transforms),
        "diversity": fourier(target, size, colour, settings, seed, device, transforms, batch, weight),
    }
    assert tuple(rungs) == RUNGS
    return rungs
