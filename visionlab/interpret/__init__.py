"""Interpretability of AlexNet (and the CIFAR models): predictions, filters, activation maximisation, attacks.

Split by concept, each module free of global state:

- ``alexnet``: torchvision AlexNet with ImageNet / local / random weights, wrapped to take [0, 1] pixels.
- ``classifiers``: one interface over AlexNet and the trained CIFAR models (``alexnet | cnn | resnet``).
- ``objectives``: what to maximise (a pre-ReLU conv1 unit, a class probability or logit).
- ``optimize``: the seeded starting image; gradient ascent with clamping, and the projected L-infinity variant.
- ``maximize``: conv1 units maximised, beside their exact maximum over [0, 1] images and receptive field.
- ``class_maximize``: a class maximised, and re-scored under small random shifts/rescales.
- ``filters``: conv1 filters as images and a summary of conv layers.
- ``images``: reading photographs and CIFAR images into 224x224 [0, 1] tensors.
- ``attack``: the adversarial ship and the bounded sweep over the test ships.
"""
