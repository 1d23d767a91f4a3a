"""The models: the CIFAR-10 architectures by name, AlexNet, and the classifier wrapper the analyses probe.

This face imports every module, so a stage that imports any of them runs them all: the folder is its dep.
"""

from visionlab.models import alexnet, classifier, cnn, fast, layers, normalize, params, registry, resnet, trained  # noqa: F401
