"""The one-page report (reports/README.md, reports/index.html) from the pipeline's outputs."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.report import blocks, build, inputs  # noqa: F401
