"""Feature visualisation from the seed's naive ascent to Lucid's ladder (stage visualize@<model>)."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.visualize import figure, measure, param, params, record, render, study, targets, transform  # noqa: F401
