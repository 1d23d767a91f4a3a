"""conv1 filters as RGB images, and the shapes of AlexNet's conv layers."""

import torch
from torch import nn

from visionlab.filters.record import ConvShape


def filter_images(conv: nn.Conv2d) -> torch.Tensor:
    """Each filter (out, 3, k, k) min-max scaled to [0, 1] on its own, so it can be shown as RGB."""
    weight = conv.weight.detach().float().cpu()
    flat = weight.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1, 1)
    return (weight - low) / (high - low).clamp(min=1e-12)


def conv_shapes(features: nn.Sequential, input_size: int, count: int | None = None) -> dict[str, ConvShape]:
    """The first ``count`` conv layers of ``features`` by name (conv1, ...), with output sizes measured by a
    forward pass (so pooling between them is accounted for without re-deriving its arithmetic)."""
    convs = [m for m in features if isinstance(m, nn.Conv2d)][:count]
    sizes: dict[nn.Module, int] = {}
    with torch.no_grad():
        x = torch.zeros((1, convs[0].in_channels, input_size, input_size), device=next(features.parameters()).device)
        for module in features:
            x = module(x)
            if module in convs:
                sizes[module] = x.shape[-1]
            if len(sizes) == len(convs):
                break
    return {
        f"conv{i + 1}": ConvShape(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0], sizes[c])
        for i, c in enumerate(convs)
    }
