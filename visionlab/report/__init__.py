"""The one-page report (reports/README.md, reports/index.html) from the pipeline's outputs.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.report import alexnet, analyses, beyond, blocks, build, cifar, inputs, provenance  # noqa: F401
