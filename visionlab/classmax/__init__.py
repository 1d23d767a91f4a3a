"""Class maximisation: golden retriever on AlexNet, dog on the CIFAR models (seed 4).

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.classmax import class_maximize, figure, params, record  # noqa: F401
