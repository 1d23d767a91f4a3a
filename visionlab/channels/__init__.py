"""AlexNet conv1 centre-unit maximisation, channels 0/5/10/20 (seed 3a-3d).

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.channels import figure, maximize, params, record  # noqa: F401
