"""AlexNet's 64 conv1 filters as RGB images (seed 2).

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.filters import figure, filters, record  # noqa: F401
