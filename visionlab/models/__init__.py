"""The models: the CIFAR-10 architectures by name, AlexNet, and the classifier wrapper the analyses probe."""

# The face: every module, so the folder is an exact DVC code dep.
from visionlab.models import alexnet, classifier, cnn, fast, layers, normalize, params, registry, resnet, trained  # noqa: F401
