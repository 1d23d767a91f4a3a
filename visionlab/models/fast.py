"""``fast``: a small CIFAR net built to reach good accuracy in little time (ideas from airbench and Page's ResNet-9;
docs/fast.md). For 32x32 inputs: a frozen 2x2 patch-whitening conv (32 -> 31), three :class:`ConvGroup`
(31 -> 15 -> 7 -> 3), a global max-pool and a linear head scaled by ``logit_scale``, which keeps early steps calm
under a high learning rate. Convs start as identity (``dirac``), so the net starts near a shallow one."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

TTA_MODES = ("none", "flip", "flip_shift")


class PatchWhitening(nn.Conv2d):
    """A 2x2 conv whose filters whiten 2x2 RGB patches: ``2 * 12`` output channels (each eigenvector and its negative).
    Its weight is frozen (``requires_grad=False``) and set by :meth:`fit` from sample images; the bias trains. Before
    :meth:`fit` the weight is zero, and the net would learn nothing."""

    PATCH = 2

    def __init__(self, in_channels: int = 3, eps: float = 5e-4) -> None:
        patch_dims = in_channels * self.PATCH**2
        super().__init__(in_channels, 2 * patch_dims, self.PATCH, bias=True)
        self.eps = eps
        self.weight.requires_grad_(False)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> None:
        """Set the filters from ``images`` (N, C, H, W), already normalised as the net will see them."""
        patches = images.float().unfold(2, self.PATCH, 1).unfold(3, self.PATCH, 1)  # N, C, H', W', p, p
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, self.weight[0].numel()).double()
        patches = patches - patches.mean(0)
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
        filters = (eigenvectors / (eigenvalues + self.eps).sqrt()).T.reshape(-1, *self.weight.shape[1:])
        self.weight.copy_(torch.cat([filters, -filters]).to(self.weight))


def batch_norm(channels: int, momentum: float = 0.4) -> nn.BatchNorm2d:
    """BatchNorm with its scale frozen at 1: only the shift trains."""
    bn = nn.BatchNorm2d(channels, momentum=momentum, eps=1e-12)
    bn.weight.requires_grad_(False)
    return bn


def dirac_conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    """A 3x3 conv ("same" padding, no bias) that starts as identity on its first ``min(in, out)`` channels."""
    conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
    with torch.no_grad():
        n = min(in_channels, out_channels)
        nn.init.dirac_(conv.weight[:n, :n])
    return conv


class ConvGroup(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            dirac_conv(in_channels, out_channels),
            nn.MaxPool2d(2),
            batch_norm(out_channels),
            nn.GELU(),
            dirac_conv(out_channels, out_channels),
            batch_norm(out_channels),
            nn.GELU(),
        )


class FastNet(nn.Module):
    """Patch whitening, three :class:`ConvGroup` of ``widths``, global max-pool and a scaled linear head. Call
    :meth:`init_from_data` with (normalised) training images before training: it sets the whitening filters. The train
    loop does so for any model that has this method."""

    def __init__(
        self,
        widths: Sequence[int] = (64, 256, 256),
        logit_scale: float = 1 / 9,
        tta: str = "flip",
        num_classes: int = 10,
    ) -> None:
        super().__init__()  # the schema (fast.model) checks every argument
        self.whiten = PatchWhitening()
        channels = [self.whiten.out_channels, *widths]
        self.layers = nn.Sequential(*(ConvGroup(a, b) for a, b in zip(channels[:-1], channels[1:], strict=True)))
        self.head = nn.Linear(widths[-1], num_classes, bias=False)
        self.logit_scale = logit_scale
        self.tta = tta

    @torch.no_grad()
    def init_from_data(self, images: torch.Tensor) -> None:
        self.whiten.fit(images)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """One view, no test-time augmentation."""
        features = F.gelu(self.whiten(x))
        features = self.layers(features)
        features = F.adaptive_max_pool2d(features, 1).flatten(1)
        return self.head(features) * self.logit_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or self.tta == "none":
            return self.logits(x)
        views = [x, x.flip(-1)]
        if self.tta == "flip_shift":
            # One pixel up-left and down-right (edge pixels repeated), of both orientations.
            padded = F.pad(torch.cat(views), (1, 1, 1, 1), mode="replicate")
            size = x.shape[-1]
            views += [padded[..., :size, :size], padded[..., 2:, 2:]]
        batch = torch.cat(views)
        return self.logits(batch).view(-1, *x.shape[:1], self.head.out_features).mean(0)
