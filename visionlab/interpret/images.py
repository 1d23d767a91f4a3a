"""Getting pictures into 224x224 [0, 1] tensors: photographs (files, matplotlib's sample) and CIFAR images."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from visionlab.errors import PipelineError

RESIZE = 256  # shorter side before the centre crop, as torchvision's ImageNet preprocessing
CROP = 224
SAMPLE_PHOTO = "grace_hopper.jpg"


@dataclass
class InputImage:
    name: str
    source: str  # sample | cifar | folder
    pixels: torch.Tensor  # (3, 224, 224) in [0, 1]
    note: str = ""  # e.g. the CIFAR label, shown beside the predictions


def photo_pixels(image: Image.Image, resize: int = RESIZE, crop: int = CROP) -> torch.Tensor:
    """Shorter side to ``resize`` (bilinear, antialiased by PIL), then the central ``crop`` square."""
    image = image.convert("RGB")
    width, height = image.size
    scale = resize / min(width, height)
    size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
    image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - crop) // 2, (size[1] - crop) // 2
    image = image.crop((left, top, left + crop, top + crop))
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def read_photo(path: Path) -> torch.Tensor:
    """Raises OSError / UnidentifiedImageError / ValueError if ``path`` is not a readable image."""
    with Image.open(path) as image:
        image.load()
        return photo_pixels(image)


def sample_photo() -> InputImage | None:
    """The photograph matplotlib ships as sample data (works offline); None with a warning if absent."""
    try:
        from matplotlib import cbook

        path = Path(cbook.get_sample_data(SAMPLE_PHOTO, asfileobj=False))
        return InputImage(name=SAMPLE_PHOTO, source="sample", pixels=read_photo(path))
    except (OSError, ValueError, UnidentifiedImageError) as err:
        print(f"warning: matplotlib sample photo {SAMPLE_PHOTO} unavailable ({err}); skipped", file=sys.stderr)
        return None


def folder_photos(folder: str | Path) -> list[InputImage]:
    """Every readable image in ``folder`` (sorted by name, dotfiles and subfolders ignored).

    An unreadable file is skipped with a warning naming it. If the folder holds files but none is
    readable, that is an error even when other inputs exist: the user clearly meant to add
    pictures, and predicting only the defaults would hide the mistake.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"predict.input_dir={folder}: no such folder (create it, or point it at your images)")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    photos, skipped = [], []
    for path in files:
        try:
            photos.append(InputImage(name=path.name, source="folder", pixels=read_photo(path)))
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as err:
            reason = "not a readable image" if isinstance(err, UnidentifiedImageError) else str(err)
            skipped.append((path, reason))
    if files and not photos:  # one error line instead of a warning per file
        names = ", ".join(path.name for path, _ in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        raise PipelineError(
            f"none of the {len(files)} file(s) in {folder} is a readable image ({names}): "
            "add JPEG/PNG files or remove them"
        )
    for path, reason in skipped:
        print(f"warning: skipping {path}: {reason}", file=sys.stderr)
    return photos


def upscale(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, 3, h, w) or float [0, 1] images to float (N, 3, size, size), bilinear, in [0, 1]."""
    batch = torch.as_tensor(images)
    if batch.dtype == torch.uint8:
        batch = batch.float() / 255.0
    if batch.shape[-1] == size and batch.shape[-2] == size:
        return batch.float()
    resized = F.interpolate(batch.float(), size=(size, size), mode="bilinear", align_corners=False)
    return resized.clamp_(0, 1)


def cifar_inputs(
    images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], size: int = CROP
) -> list[InputImage]:
    """CIFAR test images upscaled to ``size``, named by their index and labelled with their true class."""
    pixels = upscale(images, size)
    return [
        InputImage(name=f"cifar_test_{i}", source="cifar", pixels=pixels[i], note=class_names[int(labels[i])])
        for i in range(len(images))
    ]
