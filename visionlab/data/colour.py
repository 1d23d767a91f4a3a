"""The colour covariance of the training images, which feature visualisation decorrelates its colours with. The stats
stage writes it to ``data/colour.json`` (:class:`ColourStats`), a file apart from ``data/stats.json`` so that the train
stages, which read that one, do not rerun for it."""

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from pydantic import Field

from visionlab.core.errors import check, rule
from visionlab.core.record import Count, Info

CHUNK = 1024  # images per float64 copy: bounded memory on the full 50,000
# A covariance of values in [0, 1] is within [-1/4, 1/4] (a variance is at most 1/4): its square root stays finite.
Row = Annotated[list[Annotated[float, Field(ge=-0.25, le=0.25)]], Field(min_length=3, max_length=3)]
Matrix = rule("3 rows of 3 numbers in [-0.25, 0.25] (pixels in [0, 1])", list[Row], min_length=3, max_length=3)


def _positive_definite(rows: list[list[float]]) -> bool:
    matrix = np.array(rows)  # eigvalsh reads one triangle: symmetry is checked apart
    return np.allclose(matrix, matrix.T, rtol=1e-9, atol=1e-12) and bool(np.linalg.eigvalsh(matrix).min() > 0)


@dataclass
class ColourStats(Info):
    # red, green, blue; [0, 1] pixel units; visualize@ decorrelates with its square root
    covariance: Annotated[Matrix, check("a symmetric positive definite matrix", _positive_definite)]
    train_images: Count


def colour_covariance(images: np.ndarray) -> list[list[float]]:
    """The 3x3 covariance of the pixels' (red, green, blue) values of images (N, 3, H, W), in [0, 1] units."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 images (N, 3, H, W), got {images.dtype} {images.shape}")
    total, outer, count = np.zeros(3), np.zeros((3, 3)), 0
    for start in range(0, len(images), CHUNK):
        pixels = images[start : start + CHUNK].transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64) / 255
        total += pixels.sum(axis=1)
        outer += pixels @ pixels.T
        count += pixels.shape[1]
    mean = total / count
    return (outer / count - np.outer(mean, mean)).tolist()
