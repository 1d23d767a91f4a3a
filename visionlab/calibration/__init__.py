"""Confidence calibration: expected calibration error and temperature scaling.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.calibration import calibration, figure, record  # noqa: F401
