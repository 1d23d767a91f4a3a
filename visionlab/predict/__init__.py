"""Top-k ImageNet predictions of AlexNet with and without its input normalisation (seed 1a/1b).

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.predict import figure, params, predict, record  # noqa: F401
