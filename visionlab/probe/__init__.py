"""What the analyses share: loading a probed model, input images, objectives and gradient ascent."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.probe import figure_style, images, objectives, optimize, probed, record  # noqa: F401
