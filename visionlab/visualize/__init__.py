"""Feature visualisation from the seed's naive ascent to Lucid's ladder (stage visualize@<model>).

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.visualize import figure, measure, param, params, record, render, study, targets, transform  # noqa: F401
