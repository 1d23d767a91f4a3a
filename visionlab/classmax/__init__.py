"""Class maximisation: golden retriever on AlexNet, dog on the CIFAR models (seed 4)."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.classmax import class_maximize, figure, params, record  # noqa: F401
