"""CIFAR-10: fetching the official archive, the in-memory arrays, splits and statistics."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.data import archive, cifar, colour, params  # noqa: F401
