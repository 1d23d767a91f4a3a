"""Fetch, verify and convert the official CIFAR-10 "python version" archive. The archive's batches are pickles. They are
read with :class:`SafeUnpickler`, which resolves only the few numpy globals an array needs, so a tampered archive cannot
run code."""

import codecs
import gzip
import hashlib
import http.client
import io
import pickle
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from visionlab.core.errors import PipelineError
from visionlab.core.io import atomic_path, temp_path
from visionlab.core.progress import progress_enabled

BATCH_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)

# Bounds on what the archive may claim, checked before anything is read or allocated. The official
# batches are pickles of 31,035,320 to 31,035,704 bytes (10,000 images of 3,072 bytes, labels and
# file names), batches.meta is 158 bytes, and the whole tar is about 186 MB uncompressed.
MAX_BATCH_BYTES = 40 << 20
MAX_META_BYTES = 64 << 10
MAX_TAR_BYTES = 256 << 20


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    """numpy's array constructor for pickles, refusing an array larger than a batch may be."""
    size = np.dtype(dtype).itemsize * int(np.prod(shape, dtype=np.float64))  # float: no overflow
    if size > MAX_BATCH_BYTES:
        raise pickle.UnpicklingError(f"array of {size:,.0f} bytes, more than a CIFAR-10 batch holds")
    return np._core.multiarray._reconstruct(subtype, shape, dtype)


_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # Python 2 era pickles
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes in protocol 2
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global except the numpy pieces of an array."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None


# --- fetching ----------------------------------------------------------------------------------

OFFLINE_HINT = (
    "to use a local copy, point data.url at it, e.g. "
    "dvc exp run -S data.url=/path/to/cifar-10-python.tar.gz -S data.md5=<its md5>"
)


def local_path(url: str) -> Path | None:
    """The filesystem path behind a ``file://`` URL or a plain path; None for remote URLs."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if len(parsed.scheme) <= 1:  # a plain path (or a Windows drive letter)
        return Path(url)
    return None


def download(url: str, dest: Path, chunk_size: int = 1 << 20) -> None:
    """Download ``url`` to ``dest`` with a progress bar; one clear error if it cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="download", disable=not progress_enabled()) as bar:
                while chunk := response.read(chunk_size):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise PipelineError(f"cannot download {url}: {reason}; {OFFLINE_HINT}") from None


def fetch_verified(url: str, expected_md5: str, scratch: Path) -> Path:
    """Return a local path to the archive at ``url`` whose md5 equals ``expected_md5``. A local archive is read in
    place; a remote one is downloaded to ``scratch``."""
    path = local_path(url)
    if path is None:
        path = scratch
        download(url, path)
    elif not path.is_file():
        raise PipelineError(f"archive not found: {path} (from data.url={url!r})")
    with open(path, "rb") as handle:
        actual = hashlib.file_digest(handle, "md5").hexdigest()
    if actual != expected_md5.lower():
        raise PipelineError(f"md5 mismatch for {url}: expected {expected_md5.lower()}, got {actual}")
    return path


# --- reading -----------------------------------------------------------------------------------


class _BoundedStream:
    """The decompressed archive as tarfile reads it, refusing any read or seek past ``limit`` bytes. A gzip stream may
    expand to anything, and tar headers (pax, GNU long names) may announce any size; both are stopped here before they
    are decompressed into memory."""

    def __init__(self, raw: gzip.GzipFile, limit: int, name: str) -> None:
        self._raw, self._limit, self._name = raw, limit, name

    def _refuse(self) -> PipelineError:
        return PipelineError(
            f"archive {self._name} expands to more than {self._limit:,} bytes (CIFAR-10's is about 186 MB): "
            "not the CIFAR-10 archive"
        )

    def read(self, size: int | None = -1) -> bytes:
        position = self._raw.tell()
        if size is None or size < 0:
            data = self._raw.read(self._limit - position + 1)
            if position + len(data) > self._limit:
                raise self._refuse()
            return data
        if position + size > self._limit:
            raise self._refuse()
        return self._raw.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._raw.tell() + offset if whence == io.SEEK_CUR else None
        if target is None or target > self._limit:  # SEEK_END would decompress everything
            raise self._refuse()
        return self._raw.seek(target)

    def tell(self) -> int:
        return self._raw.tell()


def _read_members(archive: Path) -> dict[str, bytes]:
    """Read the batch files out of the tarball into memory (nothing is extracted to disk). Every size the archive
    declares is checked before it is read: no member beyond the size of an official one, no decompressed stream beyond
    :data:`MAX_TAR_BYTES`."""
    wanted = {f"{BATCH_DIR}/{name}" for name in (*TRAIN_BATCHES, TEST_BATCH, META)}
    found: dict[str, bytes] = {}
    try:
        with (
            gzip.GzipFile(archive, "rb") as raw,
            tarfile.open(fileobj=_BoundedStream(raw, MAX_TAR_BYTES, archive.name), mode="r:") as tar,
        ):
            for member in tar:
                if member.name in wanted and member.isfile():
                    name = member.name.rsplit("/", 1)[1]
                    limit = MAX_META_BYTES if name == META else MAX_BATCH_BYTES
                    if member.size > limit:
                        raise PipelineError(
                            f"archive {archive.name}: {member.name} declares {member.size:,} bytes, "
                            f"more than the {limit:,} a CIFAR-10 {'meta file' if name == META else 'batch'} may have"
                        )
                    handle = tar.extractfile(member)
                    assert handle is not None
                    found[name] = handle.read(member.size)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise PipelineError(f"corrupt or truncated archive {archive.name}: {err}") from None
    if missing := [name for name in (*TRAIN_BATCHES, TEST_BATCH, META) if name not in found]:
        raise PipelineError(f"archive {archive.name} is missing {', '.join(f'{BATCH_DIR}/{m}' for m in missing)}")
    return found


def _load(name: str, data: bytes) -> dict[str, Any]:
    try:
        obj = SafeUnpickler(io.BytesIO(data), encoding="latin1").load()  # latin1: numpy's Python 2 pickles
    except pickle.UnpicklingError as err:
        raise PipelineError(f"{BATCH_DIR}/{name}: unsafe or invalid pickle ({err})") from None
    except Exception as err:  # any other decoding failure of untrusted bytes
        raise PipelineError(f"{BATCH_DIR}/{name}: not a valid CIFAR-10 batch ({type(err).__name__}: {err})") from None
    if not isinstance(obj, dict):
        raise PipelineError(f"{BATCH_DIR}/{name}: expected a dict, got {type(obj).__name__}")
    return obj


def _batch_arrays(name: str, batch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise PipelineError(f"{BATCH_DIR}/{name}: 'data' must be a uint8 array of shape (N, 3072), got {shape}")
    try:
        labels_array = np.asarray([] if labels is None else labels)
    except (TypeError, ValueError):  # ragged or otherwise not array-like
        labels_array = None
    if labels_array is None or (labels_array.size and labels_array.dtype.kind not in "iu"):
        raise PipelineError(f"{BATCH_DIR}/{name}: 'labels' must be a list of integers")
    labels_array = labels_array.astype(np.int64)
    if labels_array.shape != (data.shape[0],):
        raise PipelineError(f"{BATCH_DIR}/{name}: {labels_array.size} labels for {data.shape[0]} images")
    bad = labels_array[(labels_array < 0) | (labels_array >= NUM_CLASSES)]
    if bad.size:
        raise PipelineError(f"{BATCH_DIR}/{name}: label {int(bad[0])} outside 0..{NUM_CLASSES - 1}")
    return data.reshape(-1, *IMAGE_SHAPE), labels_array


def read_archive(archive: Path) -> dict[str, np.ndarray]:
    """Decode the archive into arrays: uint8 images (N, 3, 32, 32), int64 labels, class names."""
    members = _read_members(archive)
    meta = _load(META, members[META])
    names = meta.get("label_names")
    if not isinstance(names, list) or len(names) != NUM_CLASSES or not all(isinstance(n, str) for n in names):
        raise PipelineError(f"{BATCH_DIR}/{META}: 'label_names' must list {NUM_CLASSES} names")
    train = [_batch_arrays(name, _load(name, members[name])) for name in TRAIN_BATCHES]
    test_images, test_labels = _batch_arrays(TEST_BATCH, _load(TEST_BATCH, members[TEST_BATCH]))
    return {
        "train_images": np.concatenate([images for images, _ in train]),
        "train_labels": np.concatenate([labels for _, labels in train]),
        "test_images": test_images,
        "test_labels": test_labels,
        "class_names": np.array(names),
    }


def prepare_cifar10(url: str, md5: str, out_path: str | Path) -> dict[str, np.ndarray]:
    """Fetch and verify the archive, decode it, and write the arrays to ``out_path`` (.npz) atomically."""
    out_path = Path(out_path)
    # A download lands in an unnamed file beside the output (visionlab.core.io), not in the system's temp
    # folder: if this run is killed, nothing is left.
    with temp_path(out_path.with_name("cifar-10-python.tar.gz")) as scratch:
        archive = fetch_verified(url, md5, scratch)
        arrays = read_archive(archive)
    with atomic_path(out_path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return arrays
