"""Hostile inputs (issue #10): each is refused in one line, before it costs memory or time, and
leaves nothing half-written. The files are crafted here, tiny; archive cases are in test_archive.py."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from visionlab.errors import PipelineError
from visionlab.interpret import images
from visionlab.interpret.images import folder_photos, read_photo

# --- photos --------------------------------------------------------------------------------------


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` RGB pixels but holds no pixel data at all:
    decoding it fails, so a refusal that names the size came from the header alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_a_1x20000_png_is_refused_from_its_header_before_decoding(tmp_path: Path) -> None:
    tall = tmp_path / "tall.png"
    Image.new("RGB", (1, 20000), (200, 100, 50)).save(tall)
    assert tall.stat().st_size < 1000
    with pytest.raises(ValueError, match=r"^1x20000 pixels, an aspect ratio beyond 20:1 \(crop it\)$"):
        read_photo(tall)
    with pytest.raises(ValueError, match="1x20000 pixels"):
        read_photo(png_header_only(tmp_path / "empty.png", 1, 20000))


@pytest.mark.parametrize(("side", "pixels"), [(10_000, "100,000,000"), (30_000, "900,000,000")])
def test_a_photo_over_the_pixel_budget_is_refused_from_its_header(tmp_path: Path, side: int, pixels: str) -> None:
    # 100 MP: over the budget (PIL would only warn); 900 MP: over twice it (PIL's own bomb error)
    path = png_header_only(tmp_path / "big.png", side, side)
    with pytest.raises(ValueError, match=rf"^{pixels} pixels, more than the 64,000,000 a photo may have"):
        read_photo(path)


def test_photo_pixels_refuses_what_read_photo_refuses() -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        images.photo_pixels(Image.new("RGB", (1, 100)))
    assert images.photo_pixels(Image.new("RGB", (20, 400))).shape == (3, 224, 224)  # 20:1 is fine


def test_folder_skips_a_hostile_photo_with_a_warning_and_keeps_the_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.new("RGB", (1, 20000)).save(tmp_path / "tall.png")
    Image.new("RGB", (40, 30), (10, 200, 10)).save(tmp_path / "ok.png")
    assert [p.name for p in folder_photos(tmp_path)] == ["ok.png"]
    err = capsys.readouterr().err.splitlines()
    assert err == [f"warning: skipping {tmp_path / 'tall.png'}: 1x20000 pixels, an aspect ratio beyond 20:1 (crop it)"]


def test_folder_of_only_hostile_photos_is_one_error_with_the_reason(tmp_path: Path) -> None:
    Image.new("RGB", (1, 20000)).save(tmp_path / "tall.png")
    with pytest.raises(PipelineError) as info:
        folder_photos(tmp_path)
    assert str(info.value) == (
        f"none of the 1 file(s) in {tmp_path} is a readable image "
        "(tall.png: 1x20000 pixels, an aspect ratio beyond 20:1 (crop it)): add JPEG/PNG files or remove them"
    )


# --- special files in the photo folder ---------------------------------------------------------


def _symlink_to_dev_zero(folder: Path) -> str:
    (folder / "zero.png").symlink_to("/dev/zero")
    return f"{folder / 'zero.png'} is a symlink to /dev/zero, not to a regular file"


def _hidden_symlink_to_dev_zero(folder: Path) -> str:
    (folder / ".zero").symlink_to("/dev/zero")  # dotfiles are ignored by predict, not by DVC
    return f"{folder / '.zero'} is a symlink to /dev/zero, not to a regular file"


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe.jpg")
    return f"{folder / 'pipe.jpg'} is a named pipe, not a regular file"


def _fifo_in_subfolder(folder: Path) -> str:
    (folder / "sub").mkdir()
    os.mkfifo(folder / "sub" / "pipe")
    return f"{folder / 'sub' / 'pipe'} is a named pipe, not a regular file"


def _dangling_symlink(folder: Path) -> str:
    (folder / "gone.png").symlink_to(folder / "nowhere.png")
    return f"{folder / 'gone.png'} is a symlink to {folder / 'nowhere.png'}, not to a regular file"


def _symlink_to_folder(folder: Path) -> str:
    (folder / "root").symlink_to("/")
    return f"{folder / 'root'} is a symlink to /, not to a regular file"


SPECIAL = {
    "symlink to /dev/zero": _symlink_to_dev_zero,
    "hidden symlink to /dev/zero": _hidden_symlink_to_dev_zero,
    "named pipe": _fifo,
    "named pipe in a subfolder": _fifo_in_subfolder,
    "dangling symlink": _dangling_symlink,
    "symlink to a folder": _symlink_to_folder,
}


@pytest.mark.parametrize("case", list(SPECIAL))
def test_special_files_in_the_photo_folder_are_refused_without_reading_them(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (40, 30)).save(folder / "ok.png")
    described = SPECIAL[case](folder)
    with pytest.raises(PipelineError) as info:
        folder_photos(folder)  # a pipe would block this call forever if it were opened
    assert str(info.value) == f"predict.input_dir: {described}; {folder} holds regular image files only (remove it)"


def test_a_symlink_to_a_regular_photo_is_fine(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30)).save(tmp_path / "elsewhere.png")
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "linked.png").symlink_to(tmp_path / "elsewhere.png")
    assert [p.name for p in folder_photos(folder)] == ["linked.png"]
