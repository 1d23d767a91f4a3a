"""CIFAR-10-C-style corruptions (Hendrycks & Dietterich, ICLR 2019) from numpy, torch and Pillow (docs/robustness.md).
Every constant below is the CIFAR one of their ``make_cifar_c.py`` (github.com/hendrycks/robustness,
``ImageNet-C/create_c/make_cifar_c.py``), one tuple per severity 1..5; the code, which redoes their scikit-image,
OpenCV, SciPy and ImageMagick calls, is ours. Left out: ``frost`` (it blends in six photographs that are not here) and
their four extra "validation" corruptions. Each image of a batch draws from its own generator (the same result in any
batch). Results are rounded to uint8 (ours: their ``np.uint8`` truncates, half a grey level down on average)."""

import io
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from visionlab.core.errors import PipelineError

SEVERITIES = (1, 2, 3, 4, 5)
IMSIZE = 32  # make_cifar_c.py's IMSIZE: its elastic constants are fractions of it

# --- the constants of make_cifar_c.py, per severity 1..5 -------------------------------------------
GAUSSIAN_NOISE = (0.04, 0.06, 0.08, 0.09, 0.10)  # std of the added noise, pixels in [0, 1]
SHOT_NOISE = (500, 250, 100, 75, 50)  # Poisson rate per unit intensity
IMPULSE_NOISE = (0.01, 0.02, 0.03, 0.05, 0.07)  # fraction of values set to 0 or 1 (salt and pepper)
DEFOCUS_BLUR = ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1))  # disk radius, its anti-alias sigma
GLASS_BLUR = ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2))  # sigma, max shift, passes
MOTION_BLUR = ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5))  # ImageMagick radius, sigma; angle in [-45, 45)
ZOOM_BLUR = tuple(np.arange(1, end, 0.01) for end in (1.06, 1.11, 1.16, 1.21, 1.26))  # zoom factors averaged
SNOW = (  # flake mean, std, zoom, threshold, motion radius, motion sigma, image weight
    (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
    (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
)
FOG = ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75))  # fog strength, plasma fractal decay
BRIGHTNESS = (0.05, 0.1, 0.15, 0.2, 0.3)  # added to the HSV value
CONTRAST = (0.75, 0.5, 0.4, 0.3, 0.15)  # factor on the distance from each channel's mean
ELASTIC = tuple(  # displacement scale, its smoothing sigma, affine jitter (pixels)
    (IMSIZE * a, IMSIZE * s, IMSIZE * j)
    for a, s, j in ((0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03))
)
PIXELATE = (0.95, 0.9, 0.85, 0.75, 0.65)  # box-downscale factor
JPEG = (80, 65, 58, 50, 40)  # JPEG quality

Rngs = Sequence[np.random.Generator]


def _per_image(rngs: Rngs, draw: Callable[[np.random.Generator], np.ndarray]) -> np.ndarray:
    return np.stack([draw(rng) for rng in rngs])


# --- filters (numpy / torch stand-ins for scikit-image, SciPy and OpenCV) ---------------------------


def _gaussian(x: np.ndarray, sigma: float, pad: str = "edge", truncate: float = 4.0) -> np.ndarray:
    """A Gaussian filter over the last two axes, as ``scipy.ndimage.gaussian_filter`` (radius
    ``int(truncate * sigma + 0.5)``); ``pad`` is numpy's name for its border (scipy's nearest: edge,
    reflect: symmetric). Taps and sums in scipy's order, so the result is scipy's to the last bit:
    glass blur truncates it to whole grey levels, where one ulp can cost a level."""
    r = int(truncate * sigma + 0.5)  # the radius
    if r == 0 or sigma == 0:
        return x
    taps = np.exp(-0.5 / (sigma * sigma) * np.arange(-r, r + 1) ** 2)
    taps = (taps / taps.sum())[r:]  # the centre tap, then outwards
    for axis in (-2, -1):
        widths = [(0, 0)] * x.ndim
        widths[axis] = (r, r)
        padded, n = np.moveaxis(np.pad(x, widths, mode=pad), axis, 0), x.shape[axis]  # the filtered axis first
        pairs = ((padded[r - i : r - i + n] + padded[r + i : r + i + n]) * taps[i] for i in range(r, 0, -1))
        x = np.moveaxis(sum(pairs, taps[0] * padded[r : r + n]), 0, axis)
    return x


def _correlate(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Each channel correlated with one 2-D kernel (OpenCV's filter2D; its default border is torch's reflect)."""
    r = kernel.shape[0] // 2
    t = torch.from_numpy(x.reshape(-1, 1, *x.shape[-2:]))
    t = F.pad(t, (r, r, r, r), mode="reflect")
    out = F.conv2d(t, torch.from_numpy(kernel)[None, None].to(t.dtype))
    return out.reshape(x.shape).numpy()


def _resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (B, C, H, W), corners on corners (SciPy's order-1 ``zoom``)."""
    return F.interpolate(torch.from_numpy(x), size=(size, size), mode="bilinear", align_corners=True).numpy()


def _clipped_zoom(x: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the centre by ``factor``, keeping the image size."""
    h = x.shape[-1]
    crop = int(np.ceil(h / factor))
    top = (h - crop) // 2
    zoomed = _resize(np.ascontiguousarray(x[..., top : top + crop, top : top + crop]), round(crop * factor))
    trim = (zoomed.shape[-1] - h) // 2
    return zoomed[..., trim : trim + h, trim : trim + h]


def _motion_blur(x: np.ndarray, radius: float, sigma: float, angles: np.ndarray) -> np.ndarray:
    """ImageMagick's motion blur, which make_cifar_c.py calls through Wand: a one-sided line of
    ``2 * ceil(radius) + 1`` taps weighted ``exp(-i² / 2σ²)`` along the angle, rounded to whole pixels,
    edge pixels repeated beyond the border."""
    width = int(2 * np.ceil(radius) + 1)
    weights = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2))
    weights /= weights.sum()
    h, w = x.shape[-2:]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(width, width), (width, width)], mode="edge")
    out = np.zeros_like(x)
    for b, angle in enumerate(np.deg2rad(angles)):
        for i, weight in enumerate(weights):
            dx, dy = int(np.ceil(i * np.cos(angle) - 0.5)), int(np.ceil(i * np.sin(angle) - 0.5))
            out[b] += weight * padded[b, ..., width + dy : width + dy + h, width + dx : width + dx + w]
    return out


def _plasma(rngs: Rngs, decay: float, size: int = 32) -> np.ndarray:
    """Diamond-square fractal noise (the heightmap make_cifar_c.py's fog adds), one map per image in
    [0, 1]; the map wraps around, and each new point is its neighbours' mean plus noise of ±wibble²."""
    heights = np.zeros((len(rngs), size, size))
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2

        def noise(shape: tuple[int, ...], wibble: float = wibble) -> np.ndarray:
            return wibble * _per_image(rngs, lambda r: r.uniform(-wibble, wibble, shape))

        corners = heights[:, ::step, ::step]
        around = corners + np.roll(corners, -1, axis=1)
        around = around + np.roll(around, -1, axis=2)  # the 4 corners of each square
        heights[:, half::step, half::step] = around / 4 + noise(around.shape[1:])
        centres = heights[:, half::step, half::step]
        # each edge midpoint: the two corners on its edge and the two square centres beside it
        rows = corners + np.roll(corners, -1, axis=2) + centres + np.roll(centres, 1, axis=1)
        heights[:, ::step, half::step] = rows / 4 + noise(rows.shape[1:])
        cols = corners + np.roll(corners, -1, axis=1) + centres + np.roll(centres, 1, axis=2)
        heights[:, half::step, ::step] = cols / 4 + noise(cols.shape[1:])
        step, wibble = half, wibble / decay
    heights -= heights.min(axis=(1, 2), keepdims=True)
    return heights / heights.max(axis=(1, 2), keepdims=True)


def _warp(x: np.ndarray, grid: np.ndarray, align_corners: bool) -> np.ndarray:
    """Bilinear sampling of (B, C, H, W) at ``grid`` (B, H, W, 2: column, row in pixels), mirrored at the border."""
    h, w = x.shape[-2:]
    scale = np.array([w, h], dtype=np.float64)
    norm = 2 * grid / (scale - 1) - 1 if align_corners else (2 * grid + 1) / scale - 1
    sampled = F.grid_sample(
        torch.from_numpy(x),
        torch.from_numpy(norm),
        mode="bilinear",
        padding_mode="reflection",
        align_corners=align_corners,
    )
    return sampled.numpy()


# --- the corruptions: float images in [0, 1] (B, 3, H, W), a severity's constants, a generator per image ---


def gaussian_noise(x: np.ndarray, c: float, rngs: Rngs) -> np.ndarray:
    return x + _per_image(rngs, lambda r: r.normal(scale=c, size=x.shape[1:]))


def shot_noise(x: np.ndarray, c: float, rngs: Rngs) -> np.ndarray:
    return np.stack([r.poisson(image * c) / c for r, image in zip(rngs, x, strict=True)])


def impulse_noise(x: np.ndarray, c: float, rngs: Rngs) -> np.ndarray:
    # scikit-image's random_noise(mode="s&p"): each value with probability c set to 0 or 1, evenly
    draws = _per_image(rngs, lambda r: r.random((2, *x.shape[1:])))
    return np.where(draws[:, 0] < c, (draws[:, 1] < 0.5).astype(x.dtype), x)


def defocus_blur(x: np.ndarray, c: tuple[float, float], rngs: Rngs) -> np.ndarray:
    radius, alias_sigma = c
    span = np.arange(-8, 9) if radius <= 8 else np.arange(-np.ceil(radius), np.ceil(radius) + 1)
    disk = (span[:, None] ** 2 + span[None, :] ** 2 <= radius**2).astype(np.float64)
    disk /= disk.sum()
    # anti-aliased with OpenCV's 3x3 Gaussian of that sigma (5x5 for radii over 8)
    half = 1 if radius <= 8 else 2
    taps = np.exp(-0.5 * (np.arange(-half, half + 1) / alias_sigma) ** 2)
    taps /= taps.sum()
    kernel = _correlate(disk[None], np.outer(taps, taps))[0]
    r = int(np.abs(np.nonzero(kernel)[0] - kernel.shape[0] // 2).max())  # zero taps cut: the same result
    return _correlate(x, np.ascontiguousarray(kernel[8 - r : 9 + r, 8 - r : 9 + r]) if radius <= 8 else kernel)


def glass_blur(x: np.ndarray, c: tuple[float, int, int], rngs: Rngs) -> np.ndarray:
    sigma, shift, passes = c
    x = np.floor(_gaussian(x, sigma) * 255) / 255  # make_cifar_c's np.uint8 after the first blur truncates
    h, w = x.shape[-2:]
    rows, cols = range(h - shift, shift, -1), range(w - shift, shift, -1)
    # make_cifar_c draws randint(-shift, shift): an exclusive upper end, so for shift 1 only -1 or 0
    moves = _per_image(rngs, lambda r: r.integers(-shift, shift, (passes, len(rows), len(cols), 2)))
    batch = np.arange(len(x))
    for p in range(passes):
        for i, row in enumerate(rows):
            for j, col in enumerate(cols):
                dx, dy = moves[:, p, i, j, 0], moves[:, p, i, j, 1]
                # their "swap" on numpy views writes x[h', w'] back onto itself: a copy (numpy issue 14428)
                x[batch, :, row, col] = x[batch, :, row + dy, col + dx]
    return _gaussian(x, sigma)


def motion_blur(x: np.ndarray, c: tuple[float, float], rngs: Rngs) -> np.ndarray:
    return _motion_blur(x, *c, np.array([r.uniform(-45, 45) for r in rngs]))


def zoom_blur(x: np.ndarray, c: np.ndarray, rngs: Rngs) -> np.ndarray:
    return (x + sum(_clipped_zoom(x, factor) for factor in c)) / (len(c) + 1)


def snow(x: np.ndarray, c: tuple[float, ...], rngs: Rngs) -> np.ndarray:
    mean, std, zoom, threshold, radius, sigma, keep = c
    h, w = x.shape[-2:]
    flakes = _clipped_zoom(_per_image(rngs, lambda r: r.normal(mean, std, (1, h, w))), zoom)
    flakes = np.where(flakes < threshold, 0, flakes)
    flakes = np.floor(np.clip(flakes, 0, 1) * 255) / 255  # make_cifar_c passes the layer through an 8-bit PNG
    flakes = _motion_blur(flakes, radius, sigma, np.array([r.uniform(-135, -45) for r in rngs]))
    grey = np.tensordot((0.299, 0.587, 0.114), x, axes=(0, 1))[:, None]  # OpenCV's RGB2GRAY
    x = keep * x + (1 - keep) * np.maximum(x, grey * 1.5 + 0.5)
    return x + flakes + np.rot90(flakes, k=2, axes=(-2, -1))


def fog(x: np.ndarray, c: tuple[float, float], rngs: Rngs) -> np.ndarray:
    strength, decay = c
    peak = x.max(axis=(1, 2, 3), keepdims=True)
    fogged = x + strength * _plasma(rngs, decay, size=32)[:, None, : x.shape[-2], : x.shape[-1]]
    return fogged * peak / (peak + strength)


def brightness(x: np.ndarray, c: float, rngs: Rngs) -> np.ndarray:
    # HSV value + c with hue and saturation kept: every channel scales by value'/value (grey where value is 0)
    value = x.max(axis=1, keepdims=True)
    brighter = np.minimum(value + c, 1)
    return np.where(value > 0, x * brighter / np.where(value > 0, value, 1), brighter)


def contrast(x: np.ndarray, c: float, rngs: Rngs) -> np.ndarray:
    means = x.mean(axis=(2, 3), keepdims=True)
    return (x - means) * c + means


def elastic_transform(x: np.ndarray, c: tuple[float, float, float], rngs: Rngs) -> np.ndarray:
    alpha, sigma, jitter = c
    b, _, h, w = x.shape
    # a random affine map: three points around the centre, each moved by up to ±jitter (OpenCV's warpAffine)
    centre, side = np.array([w // 2, h // 2], dtype=np.float64), min(h, w) // 3
    src = np.stack([centre + side, centre + (side, -side), centre - side])
    dst = src + _per_image(rngs, lambda r: r.uniform(-jitter, jitter, src.shape))
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    pixels = np.stack([cols, rows, np.ones_like(rows)], axis=-1)  # (H, W, 3): x, y, 1
    grids = []
    for d in dst:  # output pixel p samples the input at the inverse map of p
        forward = np.linalg.solve(np.c_[src, np.ones(3)], d)  # (3, 2): [x y 1] @ forward = x', y'
        inverse = np.linalg.inv(np.r_[forward.T, [[0, 0, 1]]])
        grids.append(pixels @ inverse[:2].T)
    x = _warp(x, np.stack(grids), align_corners=True)
    # then every pixel displaced by smoothed uniform noise (SciPy's map_coordinates, order 1)
    shifts = _per_image(rngs, lambda r: r.uniform(-1, 1, (2, h, w)))
    shifts = _gaussian(shifts, sigma, pad="symmetric", truncate=3) * alpha
    grid = np.stack([cols + shifts[:, 0], rows + shifts[:, 1]], axis=-1)
    return _warp(x, grid, align_corners=False)


def _pil(x: np.ndarray, change: Callable[[Image.Image], Image.Image]) -> np.ndarray:
    """Each image through Pillow, as uint8 RGB."""
    images = np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.stack([np.asarray(change(Image.fromarray(im))) for im in images]).transpose(0, 3, 1, 2) / 255


def pixelate(x: np.ndarray, c: float, rngs: Rngs) -> np.ndarray:
    size = x.shape[-1]
    small = int(size * c)
    return _pil(x, lambda im: im.resize((small, small), Image.BOX).resize((size, size), Image.BOX))


def jpeg_compression(x: np.ndarray, c: int, rngs: Rngs) -> np.ndarray:
    def compress(im: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", quality=c)
        return Image.open(buffer).convert("RGB")

    return _pil(x, compress)


# name -> (function, its constants per severity), in make_cifar_c.py's order
CORRUPTIONS: dict[str, tuple[Callable[..., np.ndarray], Sequence[object]]] = {
    "gaussian_noise": (gaussian_noise, GAUSSIAN_NOISE),
    "shot_noise": (shot_noise, SHOT_NOISE),
    "impulse_noise": (impulse_noise, IMPULSE_NOISE),
    "defocus_blur": (defocus_blur, DEFOCUS_BLUR),
    "glass_blur": (glass_blur, GLASS_BLUR),
    "motion_blur": (motion_blur, MOTION_BLUR),
    "zoom_blur": (zoom_blur, ZOOM_BLUR),
    "snow": (snow, SNOW),
    "fog": (fog, FOG),
    "brightness": (brightness, BRIGHTNESS),
    "contrast": (contrast, CONTRAST),
    "elastic_transform": (elastic_transform, ELASTIC),
    "pixelate": (pixelate, PIXELATE),
    "jpeg_compression": (jpeg_compression, JPEG),
}


def check_severity(severity: int) -> None:
    if isinstance(severity, bool) or not isinstance(severity, int | np.integer) or severity not in SEVERITIES:
        raise PipelineError(f"corruption severity must be an integer in 1..5, got {severity!r}")


def image_rngs(seed: int, corruption: str, indices: Sequence[int]) -> list[np.random.Generator]:
    """One generator per image, from the seed, the corruption and the image's test index. Not from the
    severity: an image gets the same draws (noise, angle, fog) at every severity, only stronger."""
    key = list(CORRUPTIONS).index(corruption)
    return [np.random.default_rng([seed, key, int(i)]) for i in indices]


def corrupt(images: np.ndarray, corruption: str, severity: int, rngs: Rngs) -> np.ndarray:
    """``images`` (uint8, B x 3 x H x W) under ``corruption`` at ``severity`` (1..5), uint8, the same shape."""
    if corruption not in CORRUPTIONS:
        raise PipelineError(f"unknown corruption {corruption!r}; choices: {', '.join(CORRUPTIONS)}")
    check_severity(severity)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3 or len(rngs) != len(images):
        raise PipelineError(f"corrupt: expected uint8 images (B, 3, H, W) and one generator each, got {images.shape}")
    function, constants = CORRUPTIONS[corruption]
    out = function(images.astype(np.float64) / 255, constants[severity - 1], rngs)
    return np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)
