"""The seed's ship pushed to golden retriever (seed 5), and the bounded attack beside it.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.attack import attack, figure, params, record  # noqa: F401
