"""Running a trained CIFAR-10 model on a split: test metrics, curves, the confusion matrix."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.evaluation import evaluation, figures, inference, params, record  # noqa: F401
