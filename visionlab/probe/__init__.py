"""What the analyses share: loading a probed model, input images, objectives and gradient ascent.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.probe import figure_style, images, objectives, optimize, probed, record  # noqa: F401
