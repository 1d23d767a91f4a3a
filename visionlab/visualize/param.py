"""The image as Lucid parametrises it: a Fourier spectrum scaled by 1/f, colours decorrelated, a sigmoid to [0, 1]. Read
from Lucent's ``optvis/param/spatial.py`` and ``color.py`` and the Distill article "Feature Visualization" (Olah et al.,
2017); our own code."""

import torch

# ImageNet's colour correlation as Lucid publishes it: ``color_correlation_svd_sqrt`` in
# tensorflow/lucid, lucid/optvis/param/color.py (also greentfrapp/lucent, lucent/optvis/param/color.py).
# Rows red, green, blue; columns the principal colours (luminance first), each scaled by the square root
# of its variance, so that M @ M.T is the covariance of ImageNet's pixels.
IMAGENET_COLOUR_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))
SPECTRUM_DIVISOR = 4.0  # Lucid's "magic" 4: the spatial image starts small, the sigmoid near its middle


def colour_sqrt(covariance: torch.Tensor) -> torch.Tensor:
    """A square root M of a 3x3 colour covariance C (M @ M.T == C): eigenvectors scaled by sqrt(eigenvalues)."""
    values, vectors = torch.linalg.eigh(covariance.double())
    return (vectors * values.clamp(min=0).sqrt()).float()


def decorrelation(sqrt: torch.Tensor) -> torch.Tensor:
    """Lucid's normalisation of the square root: its largest column (the luminance) to unit length."""
    return sqrt / sqrt.norm(dim=0).max()


def decorrelate(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Mix the 3 channels of (N, 3, H, W) by ``matrix``: pixel = matrix @ pixel."""
    return torch.einsum("ij,njhw->nihw", matrix.to(image), image)


def spectrum_scale(size: int, decay_power: float) -> torch.Tensor:
    """1 / f**decay_power for the (size, size // 2 + 1) frequencies of ``torch.fft.rfft2``; f at least 1/size."""
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    return 1 / (fx**2 + fy**2).sqrt().clamp(min=1 / size) ** decay_power


class FourierImage:
    """A batch of images held as spectra: ``spectrum`` is the parameter, ``images()`` what the network sees."""

    def __init__(
        self,
        batch: int,
        size: int,
        colour: torch.Tensor,
        sd: float,
        decay_power: float,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
    ) -> None:
        self.size = size
        self.scale = spectrum_scale(size, decay_power).to(device)
        self.colour = colour.to(device)
        shape = (batch, 3, size, size // 2 + 1, 2)  # real and imaginary parts
        self.spectrum = (sd * torch.randn(shape, generator=generator)).to(device).requires_grad_(True)

    def spatial(self) -> torch.Tensor:
        """The decorrelated image before colour mixing and the sigmoid (N, 3, size, size)."""
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        return torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho") / SPECTRUM_DIVISOR

    def images(self) -> torch.Tensor:
        """(N, 3, size, size) in [0, 1]."""
        return torch.sigmoid(decorrelate(self.spatial(), self.colour))
