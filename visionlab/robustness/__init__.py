"""Beyond accuracy: calibration (ECE, temperature scaling) and robustness to CIFAR-10-C-style corruptions.

One module per concept: the corruptions, the corrupted set on disk, calibration, scoring a model on the set.
"""
