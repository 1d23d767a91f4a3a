"""What every stage uses: one-line errors, atomic writes, typed records, params loading, device, progress.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.core import device, errors, io, params, progress, record, seed_report, torchfile  # noqa: F401
