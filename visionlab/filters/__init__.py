"""AlexNet's 64 conv1 filters as RGB images (seed 2)."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.filters import figure, filters, record  # noqa: F401
