"""Robustness to CIFAR-10-C-style corruptions: the corruptions, the corrupted set on disk, scoring a model.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.corruption import corrupted_set, corruptions, params, record, scoring  # noqa: F401
