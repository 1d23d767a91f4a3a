"""Where a classifier looks at the attack's ship, clean and adversarial: Integrated Gradients and Grad-CAM."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.attribution import attribution, figure, params, record  # noqa: F401
