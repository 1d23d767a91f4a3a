"""The seed's ResNet: conv1, four layers of BasicBlocks (64 -> 512 channels), average pool, linear."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from visionlab.models.layers import same_conv


class PointwiseConv(nn.Conv2d):
    """A 1x1 conv with a stride, computed as the plain 1x1 conv of the subsampled input (the same numbers). PyTorch's
    CPU kernel for a strided 1x1 conv corrupts memory in its backward pass on channels_last inputs with fewer than 8
    channels (torch 2.13 on AVX2 CPUs; a narrow ``resnet.width``); the subsampled form avoids that kernel. Parameters
    and state-dict keys are those of ``nn.Conv2d``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = self.stride[0]
        return F.conv2d(x[..., ::step, ::step] if step > 1 else x, self.weight)


class BasicBlock(nn.Module):
    """Two convs with BatchNorm; the input (or its 1x1-conv projection) is added before the last ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3) -> None:
        super().__init__()
        if stride == 1:
            self.conv1: nn.Module = same_conv(in_channels, out_channels, kernel_size)
        else:
            # Padding (k - 1) // 2 gives ceil(size / stride) for odd and even kernels alike,
            # the size of the strided 1x1 shortcut.
            pad = (kernel_size - 1) // 2
            self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size, stride, pad, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = same_conv(out_channels, out_channels, kernel_size)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                PointwiseConv(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet(nn.Module):
    """conv1 (3x3) + BN + ReLU, four residual layers doubling ``width``, global average pool, linear."""

    def __init__(
        self, width: int = 64, blocks: Sequence[int] = (2, 2, 2, 2), kernel_size: int = 3, num_classes: int = 10
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, in_channels = [], width
        for index, count in enumerate(blocks):
            out_channels = width * 2**index
            stride = 1 if index == 0 else 2
            layer = [BasicBlock(in_channels, out_channels, stride, kernel_size)]
            layer += [BasicBlock(out_channels, out_channels, 1, kernel_size) for _ in range(count - 1)]
            layers.append(nn.Sequential(*layer))
            in_channels = out_channels
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)
