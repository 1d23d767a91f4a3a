"""Training the CIFAR-10 models: batched augmentation, the loop, checkpoints and resume, data parallelism."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.training import augment, checkpoint, distributed, loop, params, record, train  # noqa: F401
