"""Small building blocks shared by the CIFAR models."""

from torch import nn


def same_conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """A stride-1 conv whose output keeps the input size, for odd and even kernels alike. Even kernels (the seed's
    2) need asymmetric padding, which ``padding="same"`` does by copying the input on every call; ZeroPad2d does not."""
    total = kernel_size - 1
    before, after = total // 2, total - total // 2
    return nn.Sequential(
        nn.ZeroPad2d((before, after, before, after)),
        nn.Conv2d(in_channels, out_channels, kernel_size, bias=False),
    )
