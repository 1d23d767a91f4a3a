"""Top-k ImageNet predictions of AlexNet with and without its input normalisation (seed 1a/1b)."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.predict import figure, params, predict, record  # noqa: F401
