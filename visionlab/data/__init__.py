"""CIFAR-10: fetching the official archive, the in-memory arrays, splits and statistics.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.data import archive, cifar, colour, params  # noqa: F401
