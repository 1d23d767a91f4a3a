"""The seed's 4-conv CNN: four Conv-BN-ReLU-MaxPool-Dropout blocks, then four linear layers."""

from collections.abc import Sequence

import torch
from torch import nn

from visionlab.models.layers import same_conv


class CNN(nn.Module):
    """Four conv blocks ("same" conv, kernels 7, 5, 3, 2 by default) and four fully connected layers. Each block halves
    the resolution, so a 32x32 input ends as 2x2 maps of ``channels[-1]``."""

    def __init__(
        self,
        channels: Sequence[int] = (64, 128, 256, 512),
        kernel_sizes: Sequence[int] = (7, 5, 3, 2),
        dropout: float = 0.25,
        fc_widths: Sequence[int] = (512, 256, 128),
        num_classes: int = 10,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        blocks, in_channels, size = [], 3, image_size
        for out_channels, kernel in zip(channels, kernel_sizes, strict=True):
            block = [same_conv(in_channels, out_channels, kernel), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
            blocks.append(nn.Sequential(*block, nn.MaxPool2d(2, ceil_mode=True), nn.Dropout(dropout)))
            in_channels, size = out_channels, -(-size // 2)
        self.features = nn.Sequential(*blocks)
        widths = [in_channels * size * size, *fc_widths]
        layers: list[nn.Module] = [nn.Flatten()]
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(width_in, width_out), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        layers.append(nn.Linear(widths[-1], num_classes))
        self.classifier = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
