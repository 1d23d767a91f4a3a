"""Robustness to CIFAR-10-C-style corruptions: the corruptions, the corrupted set on disk, scoring a model."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.corruption import corrupted_set, corruptions, params, record, scoring  # noqa: F401
