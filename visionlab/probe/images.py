"""Getting pictures into 224x224 [0, 1] tensors: photographs (files, matplotlib's sample) and CIFAR images."""

import contextlib
import os
import re
import stat
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from visionlab.core.errors import PipelineError

RESIZE = 256  # shorter side before the centre crop, as torchvision's ImageNet preprocessing
CROP = 224
SAMPLE_PHOTO = "grace_hopper.jpg"
# Bounds checked on an image's header, before it is decoded: decoding takes 3-4 bytes per pixel,
# and scaling the shorter side to RESIZE multiplies the longer side by RESIZE / shorter side.
MAX_PIXELS = 64_000_000  # a 64-megapixel photo decodes to under 256 MB
MAX_ASPECT = 20  # beyond 20:1 the centre crop keeps under 5 % of the picture
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # PIL's own bomb check, for any other image this process opens
SPECIAL_KINDS = (
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
)  # fmt: skip


@dataclass
class InputImage:
    name: str
    source: str  # sample | cifar | folder
    pixels: torch.Tensor  # (3, 224, 224) in [0, 1]
    note: str = ""  # e.g. the CIFAR label, shown beside the predictions


def size_problem(width: int, height: int) -> str | None:
    """Why a photo of ``width`` x ``height`` pixels is refused before decoding, or None."""
    if width * height > MAX_PIXELS:
        return f"{width}x{height} pixels, more than the {MAX_PIXELS:,} a photo may have (downscale it)"
    if max(width, height) > MAX_ASPECT * min(width, height):
        return f"{width}x{height} pixels, an aspect ratio beyond {MAX_ASPECT}:1 (crop it)"
    return None


def photo_pixels(image: Image.Image, resize: int = RESIZE, crop: int = CROP) -> torch.Tensor:
    """Upright by its EXIF orientation (a phone photo's), shorter side to ``resize`` (bilinear, antialiased
    by PIL), then the central ``crop`` square."""
    if problem := size_problem(*image.size):
        raise ValueError(problem)
    with contextlib.suppress(SyntaxError):  # EXIF that is not TIFF inside: nothing to turn it by
        image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I"):  # 16-bit greyscale: convert("RGB") would clip every value above 255 to white
        image = Image.fromarray((np.asarray(image).clip(0, 65535) / 257).round().astype(np.uint8))
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
    """Raises OSError / UnidentifiedImageError / ValueError if ``path`` is not a readable image; the size is
    checked on the header (``Image.open`` decodes nothing), before ``load``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        count = re.search(r"\((\d+) pixels\)", str(err))
        pixels = f"{int(count[1]):,} pixels" if count else "too many pixels"
        raise ValueError(f"{pixels}, more than the {MAX_PIXELS:,} a photo may have (downscale it)") from None
    with image:
        if problem := size_problem(*image.size):
            raise ValueError(problem)
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


def special_entry(folder: Path) -> str | None:
    """The first entry under ``folder`` that is neither a regular file nor a folder, described; or None
    (DVC, which hashes the folder as predict's dependency, would block reading a device or pipe)."""
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = Path(root, name)
            if path.is_symlink():
                if not path.is_file():  # a dangling link, a loop, a link to a device, pipe or folder
                    target = os.readlink(path)
                    return f"{path} is a symlink to {target}, not to a regular file"
            elif not (path.is_file() or path.is_dir()):
                mode = path.lstat().st_mode
                kind = next((kind for test, kind in SPECIAL_KINDS if test(mode)), "a special file")
                return f"{path} is {kind}, not a regular file"
    return None


def folder_photos(folder: str | Path) -> Iterator[InputImage]:
    """Every readable image in ``folder`` (sorted by name, dotfiles and subfolders ignored), each read only when
    iterated to (memory does not grow with the folder); the folder is checked at once. An unreadable file is
    skipped with a warning; none readable is an error (the user meant to add pictures), as is anything but
    regular files and folders."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError(f"predict.input_dir={folder}: no such folder (create it, or point it at your images)")
    if special := special_entry(folder):
        raise PipelineError(f"predict.input_dir: {special}; {folder} holds regular image files only (remove it)")
    return _read_photos(folder, sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")))


def _read_photos(folder: Path, files: list[Path]) -> Iterator[InputImage]:
    skipped = []
    for path in files:
        try:
            pixels = read_photo(path)
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as err:
            reason = "not a readable image" if isinstance(err, UnidentifiedImageError) else " ".join(str(err).split())
            skipped.append((path, reason))
            continue
        yield InputImage(name=path.name, source="folder", pixels=pixels)
    if files and len(skipped) == len(files):  # one error line instead of a warning per file
        names = "; ".join(f"{path.name}: {reason}" for path, reason in skipped[:3])
        names += "; ..." if len(skipped) > 3 else ""
        raise PipelineError(
            f"none of the {len(files)} file(s) in {folder} is a readable image ({names}): "
            "add JPEG/PNG files or remove them"
        )
    for path, reason in skipped:
        print(f"warning: skipping {path}: {reason}", file=sys.stderr)


def upscale(images: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, 3, h, w) or float [0, 1] images to float (N, 3, size, size), bilinear, in [0, 1]."""
    batch = torch.as_tensor(images)
    if batch.dtype == torch.uint8:
        batch = batch.float() / 255.0
    if batch.shape[-1] == size and batch.shape[-2] == size:
        return batch.float()
    resized = F.interpolate(batch.float(), size=(size, size), mode="bilinear", align_corners=False)
    return resized.clamp_(0, 1)


def cifar_inputs(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...]) -> Iterator[InputImage]:
    """CIFAR test images upscaled to CROP one at a time, named by their index, labelled with their true class."""
    for i in range(len(images)):
        pixels = upscale(images[i : i + 1], CROP)[0]
        yield InputImage(name=f"cifar_test_{i}", source="cifar", pixels=pixels, note=class_names[int(labels[i])])
