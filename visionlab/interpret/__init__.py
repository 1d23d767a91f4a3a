"""Interpretability of AlexNet (and the CIFAR models): predictions, filters, activation maximisation, attacks.

Split by concept, each module free of global state:

- ``alexnet``: torchvision AlexNet with ImageNet / local / random weights, wrapped to take [0, 1] pixels.
- ``classifiers``: one interface over AlexNet and the trained CIFAR models (``alexnet | cnn | resnet``).
- ``objectives``: what to maximise (a pre-ReLU conv1 unit, a class probability or logit).
- ``parametrization``: the seeded starting image.
- ``transforms``: small random shifts/rescales for robustness checks.
- ``optimize``: gradient ascent with clamping, and the projected signed-gradient L-infinity variant.
- ``analytic``: the exact maximum of a conv unit over [0, 1] images, and its receptive field.
- ``filters``: conv1 filters as images and a summary of conv layers.
- ``images``: reading photographs and CIFAR images into 224x224 [0, 1] tensors.
- ``attack``: the adversarial ship and the bounded sweep over the test ships.
"""
