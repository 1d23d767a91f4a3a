"""The converted CIFAR-10 arrays: loading, the seeded train/validation split, channel statistics."""

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visionlab.core.errors import PipelineError
from visionlab.core.io import read_text

FULL_TRAIN_SIZE = 50_000  # the official training set; anything smaller is a subset
CHANNELS = ("red", "green", "blue")
# The smallest channel std the stats stage accepts, in [0, 1] units (a quarter of one grey level):
# normalising divides by it, and below it a near-constant channel becomes noise blown up to huge values.
MIN_STD = 1e-3


@dataclass(frozen=True)
class Split:
    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Cifar10:
    """All of CIFAR-10 (or a subset) in memory: uint8 images (N, 3, 32, 32) and int64 labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def is_subset(self) -> bool:
        return len(self.train_labels) < FULL_TRAIN_SIZE

    @property
    def test(self) -> Split:
        return Split(self.test_images, self.test_labels)


def load_cifar10(path: str | Path = "data/cifar10.npz") -> Cifar10:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            splits = {key: arrays[key] for key in ("train_images", "train_labels", "test_images", "test_labels")}
            data = Cifar10(**splits, class_names=tuple(str(name) for name in arrays["class_names"]))
    except FileNotFoundError:
        raise PipelineError(f"{path} not found: run the download stage first (dvc repro download)") from None
    except (KeyError, ValueError, OSError, EOFError, TypeError, zipfile.BadZipFile) as err:
        # TypeError: a plain .npy gives an array, which is no context manager; EOFError: an empty file
        raise PipelineError(f"{path} is not a converted CIFAR-10 file ({err}): rerun the download stage") from None
    for split in ("train", "test"):
        images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
        if images.dtype != np.uint8 or images.shape[1:] != (3, 32, 32) or labels.shape != images.shape[:1]:
            raise PipelineError(
                f"{path} is not a converted CIFAR-10 file ({split} images {images.dtype} {images.shape}, "
                f"labels {labels.shape}): rerun the download stage"
            )
    return data


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, sorted train and validation indices; validation gets round(n * val_fraction)."""
    n_val = int(round(n * val_fraction))
    if not 0 < n_val < n:
        raise PipelineError(f"data.val_fraction={val_fraction} leaves an empty split of {n} training images")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def train_val_split(data: Cifar10, val_fraction: float, seed: int) -> tuple[Split, Split]:
    train_idx, val_idx = split_indices(len(data.train_labels), val_fraction, seed)
    return (
        Split(data.train_images[train_idx], data.train_labels[train_idx]),
        Split(data.train_images[val_idx], data.train_labels[val_idx]),
    )


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Exact per-channel mean and std of uint8 images (N, 3, H, W), in [0, 1] pixel units. A 256-bin histogram per
    channel is exact and needs no float copy of the images."""
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"expected uint8 images (N, C, H, W), got {images.dtype} {images.shape}")
    levels = np.arange(256, dtype=np.float64) / 255.0
    means, stds = [], []
    for channel in range(images.shape[1]):
        counts = np.bincount(images[:, channel].ravel(), minlength=256).astype(np.float64)
        total = counts.sum()
        mean = float((counts * levels).sum() / total)
        var = float((counts * (levels - mean) ** 2).sum() / total)
        means.append(mean)
        stds.append(var**0.5)
    return means, stds


def check_normalisable(std: list[float], source: str | Path) -> None:
    """Refuse channel stds the models cannot divide by (constant or nearly constant images)."""
    if flat := [(name, s) for name, s in zip(CHANNELS, std, strict=True) if not s >= MIN_STD]:  # also NaN
        channels = ", ".join(f"{name} {s:.2g}" for name, s in flat)
        raise PipelineError(
            f"{source}: the training images cannot be normalised: channel std {channels} (below {MIN_STD:g}; "
            "the pixels are constant); check the archive"
        )


def load_stats(path: str | Path = "data/stats.json") -> tuple[list[float], list[float]]:
    """Read ``{"mean": [r, g, b], "std": [r, g, b]}``; one clear error if missing or malformed."""
    path = Path(path)
    try:
        stats = json.loads(read_text(path, f"{path} not found: run the stats stage first (dvc repro stats)"))
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path} is not valid JSON ({err})") from None
    try:
        mean = [float(v) for v in stats["mean"]]
        std = [float(v) for v in stats["std"]]
    except (KeyError, TypeError, ValueError):
        raise PipelineError(f'{path} must hold {{"mean": [r, g, b], "std": [r, g, b]}} numbers') from None
    if len(mean) != 3 or len(std) != 3 or not all(0 <= m <= 1 for m in mean) or not all(0 < s <= 1 for s in std):
        raise PipelineError(f"{path}: mean must be 3 values in [0, 1] and std 3 values in (0, 1], got {stats}")
    return mean, std
