"""Training the CIFAR-10 models: batched augmentation, the loop, checkpoints and resume, data parallelism.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.training import augment, checkpoint, distributed, loop, params, record, train  # noqa: F401
