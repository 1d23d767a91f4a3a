"""Tiny archives in the official CIFAR-10 "python version" layout, for tests.

The generator lives in :mod:`tools.synthetic` (also used by the GPU check, the benchmark and
``.ci/ci_archive.py``); its names are re-exported here, so tests keep importing them from
``cifar_archive``. See that module for the layout and the learnable images.

Bad variants come from ``mutate`` (see :func:`make_cifar_archive`): delete a member, replace a
batch's ``data`` or ``labels``, or put raw ``bytes`` in a member's place (written verbatim, e.g.
:func:`malicious_pickle`). Use :func:`make_members` with the same arguments to get the exact
content that was written; :func:`expected_arrays` gives what a correct conversion holds.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np

from tools.synthetic import (
    BATCH_DIR,
    CLASS_COLOURS,
    CLASS_NAMES,
    META,
    NOISE_STD,
    TEST_BATCH,
    TRAIN_BATCHES,
    archive_bytes,
    class_images,
    make_cifar_archive,
    make_members,
    md5_file,
    write_archive,
)

__all__ = [
    "BATCH_DIR",
    "CLASS_COLOURS",
    "CLASS_NAMES",
    "META",
    "NOISE_STD",
    "TEST_BATCH",
    "TRAIN_BATCHES",
    "archive_bytes",
    "class_images",
    "expected_arrays",
    "make_cifar_archive",
    "make_members",
    "malicious_pickle",
    "md5_file",
    "write_archive",
]


def expected_arrays(members: dict[str, Any]) -> dict[str, np.ndarray]:
    """What a correct conversion of ``members`` holds: NCHW uint8 images and int64 labels."""
    train = [members[name] for name in TRAIN_BATCHES]
    return {
        "train_images": np.concatenate([b["data"] for b in train]).reshape(-1, 3, 32, 32),
        "train_labels": np.array([label for b in train for label in b["labels"]], dtype=np.int64),
        "test_images": members[TEST_BATCH]["data"].reshape(-1, 3, 32, 32),
        "test_labels": np.array(members[TEST_BATCH]["labels"], dtype=np.int64),
        "class_names": np.array(members[META]["label_names"]),
    }


class _RunsCommand:
    """Pickles as a call of ``os.system(command)``: unpickling it with plain pickle runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def malicious_pickle(command: str) -> bytes:
    """Protocol-2 pickle bytes of a batch-like dict whose ``data`` unpickles by running ``command``."""
    return pickle.dumps({"batch_label": "evil", "labels": [0], "data": _RunsCommand(command)}, protocol=2)
