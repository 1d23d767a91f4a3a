"""Where a classifier looks at the attack's ship, clean and adversarial: Integrated Gradients and Grad-CAM.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.attribution import attribution, figure, params, record  # noqa: F401
