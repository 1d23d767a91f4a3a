"""Running a trained CIFAR-10 model on a split: test metrics, curves, the confusion matrix.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.evaluation import evaluation, figures, inference, params, record  # noqa: F401
