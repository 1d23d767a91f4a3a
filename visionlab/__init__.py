"""visionlab: the library behind the DVC stages that redo the CIFAR-10 / AlexNet course report."""
