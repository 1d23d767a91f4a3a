"""AlexNet conv1 centre-unit maximisation, channels 0/5/10/20 (seed 3a-3d)."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.channels import figure, maximize, params, record  # noqa: F401
