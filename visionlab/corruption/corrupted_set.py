"""The corrupted test set on disk: written batch by batch into one ``.npy`` (memory bounded by a batch),
read back memory-mapped, and refused when it does not match the test split it was made from."""

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from visionlab.core.errors import PipelineError
from visionlab.core.io import atomic_path
from visionlab.corruption.corruptions import CORRUPTIONS, check_severity, corrupt, image_rngs
from visionlab.corruption.record import CorruptedSet
from visionlab.data.cifar import Split

LEFT_OUT = ["frost"]  # needs make_cifar_c.py's six frost photographs


def source_digest(split: Split) -> str:
    """sha256 of the clean images and labels a corrupted set is made from."""
    digest = hashlib.sha256(np.ascontiguousarray(split.images).tobytes())
    digest.update(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def first_images(test: Split, images: int, source: str) -> Split:
    """The first ``images`` test images (all of them if there are fewer); an empty test split is refused."""
    if len(test.labels) == 0:
        raise PipelineError(f"{source}: the test split is empty: nothing to corrupt or score")
    n = min(images, len(test.labels))
    return Split(test.images[:n], test.labels[:n])


def write_corrupted(
    path: str | Path, clean: Split, severities: Sequence[int], seed: int, batch_size: int
) -> CorruptedSet:
    """Every corruption of ``clean`` at each severity into ``path`` (uint8, corruption x severity x image x
    3 x 32 x 32), ``batch_size`` images at a time; the file appears only when complete."""
    for severity in severities:
        check_severity(severity)
    n = len(clean.labels)
    shape = (len(CORRUPTIONS), len(severities), n, *clean.images.shape[1:])
    with atomic_path(path) as tmp:
        out = open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        _reserve(tmp)
        for c, name in enumerate(CORRUPTIONS):
            for start in range(0, n, batch_size):
                images = clean.images[start : start + batch_size]
                for s, severity in enumerate(severities):
                    # a fresh generator per image and severity: the same draws at each severity
                    rngs = image_rngs(seed, name, range(start, start + len(images)))
                    out[c, s, start : start + len(images)] = corrupt(images, name, severity, rngs)
        out.flush()
        del out
        digest = file_digest(tmp)
    return CorruptedSet(n, list(CORRUPTIONS), list(severities), seed, source_digest(clean), LEFT_OUT, digest)


def _reserve(path: Path) -> None:
    """Allocate the (sparse) file's blocks before writing through its map: on a full disk a write through a
    map into a hole is SIGBUS, which kills the process; fallocate's ENOSPC is an OSError."""
    if not hasattr(os, "posix_fallocate"):  # macOS: nothing to reserve with
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def file_digest(path: str | Path) -> str:
    """sha256 of the file, read in chunks (memory bounded whatever its size)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def open_corrupted(path: str | Path, index: CorruptedSet, clean: Split) -> np.ndarray:
    """The set memory-mapped (read-only), after checking it against its index and the test images it came from."""
    path = Path(path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise PipelineError(f"{path} not found: run the corrupt stage first (dvc repro corrupt)") from None
    except (ValueError, OSError) as err:
        raise PipelineError(f"{path} is not a corrupted test set ({err}): rerun the corrupt stage") from None
    expected = (len(index.corruptions), len(index.severities), index.images, *clean.images.shape[1:])
    if array.dtype != np.uint8 or array.shape != expected:
        raise PipelineError(
            f"{path} holds {array.dtype} {array.shape}, its index says uint8 {expected}: rerun the corrupt stage"
        )
    if len(clean.labels) != index.images or source_digest(clean) != index.source_sha256:
        raise PipelineError(
            f"{path} was not made from these test images (the first {index.images} of the test split): "
            "rerun the corrupt stage"
        )
    if file_digest(path) != index.sha256:
        raise PipelineError(f"{path} is not the file its index describes (its sha256 differs): rerun the corrupt stage")
    return array
