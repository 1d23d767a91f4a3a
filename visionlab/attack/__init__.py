"""The seed's ship pushed to golden retriever (seed 5), and the bounded attack beside it."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.attack import attack, figure, params, record  # noqa: F401
