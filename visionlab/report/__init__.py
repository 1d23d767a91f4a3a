"""The one-page report (reports/README.md, reports/index.html) from the pipeline's outputs."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.report import alexnet, analyses, beyond, blocks, build, cifar, inputs, provenance  # noqa: F401
