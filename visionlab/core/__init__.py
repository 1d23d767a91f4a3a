"""What every stage uses: one-line errors, atomic writes, typed records, params loading, device, progress."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.core import device, errors, io, params, progress, record, seed_report, torchfile  # noqa: F401
