"""Interpretability of AlexNet (and the CIFAR models): predictions, filters, activation maximisation, attacks.

One module per concept (each says what it holds in its docstring), none with global state.
"""
