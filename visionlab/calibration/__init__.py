"""Confidence calibration: expected calibration error and temperature scaling."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.calibration import calibration, figure, record  # noqa: F401
