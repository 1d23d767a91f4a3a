"""Training and evaluating the CIFAR-10 models: device choice, batched augmentation, the loop."""
