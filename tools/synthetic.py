"""Generated archives in the official CIFAR-10 "python version" layout: for tests and for CI
machines without the real data.

``make_cifar_archive(path)`` writes a real ``.tar.gz`` holding
``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``, each a protocol-2 pickle
laid out as in the official files: a batch is a dict with ``batch_label``, ``labels`` (list of
int), ``data`` (uint8, N x 3072: 1024 red, 1024 green, then 1024 blue values, rows first) and
``filenames``; the meta dict has ``label_names``, ``num_cases_per_batch`` and ``num_vis``.
The layout is spelled out here on its own (not imported from :mod:`visionlab.data.archive`), so
tests of the reader check it against an independent writer.

The images are learnable: every pixel of an image of class ``c`` is ``CLASS_COLOURS[c]`` plus
Gaussian noise (std ``NOISE_STD``), clipped to 0..255. The colours are far apart, so even a
linear model on the mean colour separates the classes. Labels cycle through all ten classes
(shuffled by ``seed``), so every batch of ten or more images holds every class.

The archive is byte-for-byte the same for the same arguments, on every machine and at any time:
the content comes from ``seed``, the gzip header has no time and no file name, and every tar
member has a fixed mtime, owner and mode. So its md5 (the pipeline's ``data.md5``) is stable.

``mutate`` gets the dict of members (name -> object to pickle) and may change it in place:
delete a member, replace a batch's ``data`` or ``labels``, or put raw ``bytes`` in a member's
place (written verbatim). :func:`make_members` with the same arguments gives the exact content.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visionlab.core.io import atomic_path

BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CLASS_COLOURS = (
    (220, 30, 30),
    (30, 220, 30),
    (30, 30, 220),
    (220, 220, 30),
    (220, 30, 220),
    (30, 220, 220),
    (128, 128, 128),
    (240, 240, 240),
    (15, 15, 15),
    (220, 128, 30),
)
NOISE_STD = 20.0

# What every member and the gzip header carry instead of the build's time, user and umask.
MEMBER_MTIME = 0
MEMBER_MODE = 0o644
GZIP_MTIME = 0
GZIP_LEVEL = 9


def class_images(labels: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """uint8 rows (N, 3072) whose colour follows each label (``label % 10``, so any int works)."""
    labels = np.asarray(labels, dtype=np.int64)
    means = np.asarray(CLASS_COLOURS, dtype=np.float64)[labels % 10]  # (N, 3)
    pixels = means[:, :, None] + rng.normal(0.0, NOISE_STD, size=(len(labels), 3, 1024))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(len(labels), 3072)


def make_members(
    n_train_per_batch: int = 10,
    n_test: int = 10,
    seed: int = 0,
    *,
    labels: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The members of an archive: name -> dict (pickled when written) in archive order.

    ``labels``, if given, lists ``5 * n_train_per_batch + n_test`` ints: the training images in
    batch order, then the test images. The result is the same for the same arguments.
    """
    rng = np.random.default_rng(seed)
    n_train = 5 * n_train_per_batch
    if labels is None:
        labels = np.concatenate([rng.permutation(np.arange(n_train) % 10), rng.permutation(np.arange(n_test) % 10)])
    labels = [int(label) for label in labels]
    if len(labels) != n_train + n_test:
        raise ValueError(f"labels must list {n_train + n_test} values, got {len(labels)}")
    images = class_images(labels, rng)
    members: dict[str, Any] = {}
    for b, name in enumerate(TRAIN_BATCHES):
        rows = slice(b * n_train_per_batch, (b + 1) * n_train_per_batch)
        members[name] = {
            "batch_label": f"training batch {b + 1} of 5",
            "labels": labels[rows],
            "data": images[rows].copy(),
            "filenames": [f"tiny_{i:05d}.png" for i in range(rows.start, rows.stop)],
        }
    members[TEST_BATCH] = {
        "batch_label": "testing batch 1 of 1",
        "labels": labels[n_train:],
        "data": images[n_train:].copy(),
        "filenames": [f"tiny_test_{i:05d}.png" for i in range(n_test)],
    }
    members[META] = {"label_names": list(CLASS_NAMES), "num_cases_per_batch": n_train_per_batch, "num_vis": 3072}
    return members


def archive_bytes(members: dict[str, Any]) -> bytes:
    """The ``.tar.gz`` of ``members`` (objects pickled with protocol 2, bytes as they are), the same
    bytes for the same members: no time, user, group or file name in it."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, obj in members.items():
            payload = obj if isinstance(obj, bytes) else pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"{BATCH_DIR}/{name}")
            info.size = len(payload)
            info.mtime = MEMBER_MTIME
            info.mode = MEMBER_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(payload))
    gz_buffer = io.BytesIO()
    # filename="" keeps the output path out of the header; mtime is otherwise the time of the build.
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, compresslevel=GZIP_LEVEL, mtime=GZIP_MTIME) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def write_archive(path: str | Path, members: dict[str, Any]) -> str:
    """Write ``members`` as a ``.tar.gz`` under ``cifar-10-batches-py/`` (see :func:`archive_bytes`);
    return the archive's md5."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = archive_bytes(members)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return hashlib.md5(data).hexdigest()


def make_cifar_archive(
    path: str | Path,
    n_train_per_batch: int = 10,
    n_test: int = 10,
    seed: int = 0,
    *,
    labels: Sequence[int] | None = None,
    mutate: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """Write a CIFAR-10 archive to ``path`` and return its md5 (see the module docstring)."""
    members = make_members(n_train_per_batch, n_test, seed, labels=labels)
    if mutate is not None:
        mutate(members)
    return write_archive(path, members)


def md5_file(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()
