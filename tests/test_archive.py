"""The download and stats stages, mostly through their CLIs, on generated and real archives.

Every failure must exit 1 with exactly one line on stderr naming the problem, and leave no file
behind: nothing in the output directory, nothing in TMPDIR.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import math
import os
import pickle
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cifar_archive import (
    BATCH_DIR,
    CLASS_NAMES,
    META,
    TEST_BATCH,
    TRAIN_BATCHES,
    expected_arrays,
    make_cifar_archive,
    make_members,
    malicious_pickle,
    md5_file,
    write_archive,
)
from conftest import REPO_ROOT

from visionlab.core.errors import PipelineError
from visionlab.core.io import write_atomic, write_text

SAMPLE_MD5 = "76684cd32ac2a0f71e51af6727b0c6ad"
NPZ_KEYS = {"train_images", "train_labels", "test_images", "test_labels", "class_names"}


# --- helpers -----------------------------------------------------------------------------------


def write_params(directory: Path, url: str, md5: str) -> Path:
    path = directory / "params.yaml"
    path.write_text(json.dumps({"data": {"url": url, "md5": md5}}), encoding="utf-8")  # JSON is YAML
    return path


def url_for(path: Path, style: str) -> str:
    return path.as_uri() if style == "file" else str(path)


class Run:
    """One run of the download stage in a fresh output directory and a fresh TMPDIR."""

    def __init__(self, tmp_path: Path, run_stage: Callable[..., Any], url: str, md5: str) -> None:
        self.out_dir = tmp_path / "out"
        self.tmpdir = tmp_path / "tmp"
        self.out_dir.mkdir()
        self.tmpdir.mkdir()
        self.out = self.out_dir / "cifar10.npz"
        params_dir = tmp_path / "params"
        params_dir.mkdir()
        params = write_params(params_dir, url, md5)
        self.result = run_stage("download.py", "--params", params, "--out", self.out, tmpdir=self.tmpdir)

    def assert_failed(self, *words: str) -> str:
        result = self.result
        assert result.returncode == 1, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        line = lines[0]
        assert line.startswith("error: ") and len(line) > len("error: ")
        for word in words:
            assert word in line
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
        self.assert_nothing_left()
        return line

    def assert_nothing_left(self) -> None:
        assert list(self.out_dir.iterdir()) == []
        assert list(self.tmpdir.iterdir()) == []


def load_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def assert_converted(npz: dict[str, np.ndarray], members: dict[str, Any]) -> None:
    expected = expected_arrays(members)
    assert set(npz) == NPZ_KEYS
    for key in ("train_images", "test_images"):
        assert npz[key].dtype == np.uint8
    for key in ("train_labels", "test_labels"):
        assert npz[key].dtype == np.int64
    assert npz["class_names"].dtype.kind == "U"
    for key, value in expected.items():
        assert npz[key].shape == value.shape, key
        np.testing.assert_array_equal(npz[key], value, err_msg=key)
    # NCHW: row i of the official data is 1024 red, 1024 green, 1024 blue values, each row-major
    rows = members[TRAIN_BATCHES[1]]["data"]
    n = len(members[TRAIN_BATCHES[0]]["labels"])
    image = npz["train_images"][n + 3]  # 4th image of data_batch_2
    assert image[0, 0, 0] == rows[3, 0] and image[0, 0, 1] == rows[3, 1] and image[0, 1, 0] == rows[3, 32]
    assert image[1, 0, 0] == rows[3, 1024] and image[2, 31, 31] == rows[3, 3071]
    assert tuple(npz["class_names"]) == CLASS_NAMES


@contextlib.contextmanager
def serve(directory: Path, handler: type[http.server.BaseHTTPRequestHandler] | None = None) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 (a free port) serving ``directory``; yields its base URL."""
    handler_class = functools.partial(handler or QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class HalfBodyHandler(QuietHandler):
    """Announces the whole file but sends half of it, then closes the connection."""

    def do_GET(self) -> None:
        body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True


# --- success -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["file", "path"])
def test_download_converts_a_tiny_archive(tmp_path: Path, run_stage: Any, tiny_archive: Any, style: str) -> None:
    run = Run(tmp_path, run_stage, url_for(tiny_archive.path, style), tiny_archive.md5)
    assert run.result.returncode == 0, run.result.stderr
    assert run.result.stdout.strip() == f"wrote {run.out}: 50 train, 10 test images"
    assert_converted(load_npz(run.out), tiny_archive.members)
    assert [p.name for p in run.out_dir.iterdir()] == ["cifar10.npz"]  # no temp file left beside it
    assert list(run.tmpdir.iterdir()) == []
    assert md5_file(tiny_archive.path) == tiny_archive.md5  # read in place, untouched


def test_download_accepts_uppercase_md5_and_relative_path(tmp_path: Path, run_stage: Any, tiny_archive: Any) -> None:
    relative = os.path.relpath(tiny_archive.path, REPO_ROOT)  # the stage runs from the repo root
    run = Run(tmp_path, run_stage, relative, tiny_archive.md5.upper())
    assert run.result.returncode == 0, run.result.stderr
    assert_converted(load_npz(run.out), tiny_archive.members)


def test_download_keeps_labels_in_batch_order(tmp_path: Path, run_stage: Any) -> None:
    labels = [9] * 30 + [4] * 5
    md5 = make_cifar_archive(tmp_path / "a.tar.gz", n_train_per_batch=6, n_test=5, seed=3, labels=labels)
    run = Run(tmp_path, run_stage, str(tmp_path / "a.tar.gz"), md5)
    assert run.result.returncode == 0, run.result.stderr
    npz = load_npz(run.out)
    assert npz["train_labels"].tolist() == [9] * 30 and npz["test_labels"].tolist() == [4] * 5
    assert_converted(npz, make_members(6, 5, 3, labels=labels))


def test_tiny_images_are_learnable_by_colour() -> None:
    """The generator's promise: the nearest class colour recovers every label."""
    members = make_members(20, 20, seed=5)
    arrays = expected_arrays(members)
    colours = np.array(
        [
            [220, 30, 30],
            [30, 220, 30],
            [30, 30, 220],
            [220, 220, 30],
            [220, 30, 220],
            [30, 220, 220],
            [128, 128, 128],
            [240, 240, 240],
            [15, 15, 15],
            [220, 128, 30],
        ]
    )
    for split in ("train", "test"):
        means = arrays[f"{split}_images"].reshape(-1, 3, 1024).mean(axis=2)
        nearest = np.argmin(((means[:, None, :] - colours[None]) ** 2).sum(axis=2), axis=1)
        np.testing.assert_array_equal(nearest, arrays[f"{split}_labels"])
        assert set(arrays[f"{split}_labels"].tolist()) == set(range(10))


# --- failures ----------------------------------------------------------------------------------


def corrupt_members(mutate: Callable[[dict[str, Any]], None]) -> Callable[[Path], tuple[Path, str]]:
    def build(directory: Path) -> tuple[Path, str]:
        path = directory / "cifar-10-python.tar.gz"
        return path, make_cifar_archive(path, n_train_per_batch=10, n_test=10, mutate=mutate)

    return build


def truncated(directory: Path) -> tuple[Path, str]:
    path = directory / "cifar-10-python.tar.gz"
    make_cifar_archive(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path, hashlib.md5(data[: len(data) // 2]).hexdigest()  # right md5: the reading must catch it


def not_gzip(directory: Path) -> tuple[Path, str]:
    path = directory / "cifar-10-python.tar.gz"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def plain_tar(directory: Path) -> tuple[Path, str]:
    """A valid tar, but not gzip-compressed."""
    path = directory / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w") as tar:
        tar.add(__file__, arcname=f"{BATCH_DIR}/data_batch_1")
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def declared(
    name: str, size: int, content: bytes = b"", gnu_type: bytes | None = None
) -> Callable[[Path], tuple[Path, str]]:
    """A gzip'd tar whose first header announces ``size`` bytes for ``name`` but holds only ``content``:
    a header's claim must be checked before anything is read or allocated."""

    def build(directory: Path) -> tuple[Path, str]:
        info = tarfile.TarInfo(f"{BATCH_DIR}/{name}")
        info.size = size
        if gnu_type is not None:
            info.type = gnu_type
        path = directory / "cifar-10-python.tar.gz"
        with gzip.open(path, "wb", compresslevel=1) as out:
            out.write(info.tobuf(format=tarfile.GNU_FORMAT) + content + bytes(1024))
        return path, hashlib.md5(path.read_bytes()).hexdigest()

    return build


class _HugeArray:
    """Pickles as numpy's array constructor asked for a 1 TB array (a few bytes of pickle)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (np._core.multiarray._reconstruct, (np.ndarray, (1 << 40,), b"b"))


def set_label(batch: str, index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(members: dict[str, Any]) -> None:
        members[batch]["labels"][index] = value

    return mutate


def update(member: str, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda members: members[member].update(values)


def replace(member: str, obj: Any) -> Callable[[dict[str, Any]], None]:
    return lambda members: members.__setitem__(member, obj)


BAD_ARCHIVES: dict[str, tuple[Callable[[Path], tuple[Path, str]], tuple[str, ...]]] = {
    "truncated gzip": (truncated, ("corrupt or truncated archive", "cifar-10-python.tar.gz")),
    "not gzip": (not_gzip, ("corrupt or truncated archive",)),
    "plain tar": (plain_tar, ("corrupt or truncated archive",)),
    "missing batch": (
        corrupt_members(lambda m: m.pop("data_batch_3")),
        ("is missing cifar-10-batches-py/data_batch_3",),
    ),
    "missing meta and test": (
        corrupt_members(lambda m: (m.pop(META), m.pop(TEST_BATCH))),
        ("is missing cifar-10-batches-py/test_batch, cifar-10-batches-py/batches.meta",),
    ),
    "wrong data shape": (
        corrupt_members(update("data_batch_2", data=np.zeros((10, 3000), np.uint8))),
        ("cifar-10-batches-py/data_batch_2", "(N, 3072)", "(10, 3000)"),
    ),
    "images as 4-d array": (
        corrupt_members(update("test_batch", data=np.zeros((10, 3, 32, 32), np.uint8))),
        ("cifar-10-batches-py/test_batch", "(N, 3072)", "(10, 3, 32, 32)"),
    ),
    "float data": (
        corrupt_members(update("data_batch_1", data=np.zeros((10, 3072), np.float32))),
        ("cifar-10-batches-py/data_batch_1", "uint8"),
    ),
    "data missing": (
        corrupt_members(lambda m: m["data_batch_5"].pop("data")),
        ("cifar-10-batches-py/data_batch_5", "'data' must be"),
    ),
    "label 10": (corrupt_members(set_label("data_batch_4", 3, 10)), ("data_batch_4", "label 10 outside 0..9")),
    "label -1": (corrupt_members(set_label("test_batch", 0, -1)), ("test_batch", "label -1 outside 0..9")),
    "label text": (corrupt_members(set_label("data_batch_1", 2, "cat")), ("data_batch_1", "'labels' must be")),
    "label float": (corrupt_members(set_label("data_batch_1", 2, 1.5)), ("data_batch_1", "'labels' must be")),
    "too few labels": (
        corrupt_members(update("data_batch_3", labels=[0] * 9)),
        ("data_batch_3", "9 labels for 10 images"),
    ),
    "batch not a dict": (corrupt_members(replace("data_batch_1", [1, 2, 3])), ("data_batch_1", "expected a dict")),
    "not a pickle": (corrupt_members(replace("test_batch", b"not a pickle at all")), ("test_batch", "pickle")),
    # hostile claims (issue #10): refused from the header, before memory is allocated for them
    "member declares 1 TB": (
        declared("data_batch_1", 1 << 40),
        ("data_batch_1 declares 1,099,511,627,776 bytes", "a CIFAR-10 batch may have"),
    ),
    "gzip bomb": (  # 48 MiB of zeros in 49 KB: a real payload, larger than any batch
        declared("data_batch_2", 48 << 20, bytes(48 << 20)),
        ("data_batch_2 declares 50,331,648 bytes", "a CIFAR-10 batch may have"),
    ),
    "meta declares 1 MB": (declared(META, 1 << 20, bytes(1 << 20)), ("batches.meta declares", "meta file")),
    "junk member beyond the archive bound": (
        declared("readme.html", 1 << 40),
        ("expands to more than 268,435,456 bytes", "not the CIFAR-10 archive"),
    ),
    "pax header declares 1 TB": (
        declared("././@PaxHeader", 1 << 40, gnu_type=tarfile.XHDTYPE),
        ("expands to more than 268,435,456 bytes",),
    ),
    "pickle asks for a 1 TB array": (
        corrupt_members(update("data_batch_1", data=_HugeArray())),
        ("data_batch_1", "array of 1,099,511,627,776 bytes"),
    ),
    "nine class names": (
        corrupt_members(update(META, label_names=list(CLASS_NAMES[:9]))),
        ("batches.meta", "'label_names' must list 10 names"),
    ),
}


@pytest.mark.parametrize(
    ("case", "style"), [(case, ("file", "path")[i % 2]) for i, case in enumerate(BAD_ARCHIVES)]
)  # both URL styles are covered; each case runs once to keep the suite fast
def test_bad_archive_fails_in_one_line_and_leaves_nothing(
    tmp_path: Path, run_stage: Any, case: str, style: str
) -> None:
    build, words = BAD_ARCHIVES[case]
    source = tmp_path / "src"
    source.mkdir()
    path, md5 = build(source)
    run = Run(tmp_path, run_stage, url_for(path, style), md5)
    run.assert_failed(*words)


@pytest.mark.parametrize("style", ["file", "path"])
def test_md5_mismatch_names_both_digests(tmp_path: Path, run_stage: Any, tiny_archive: Any, style: str) -> None:
    wrong = "0123456789abcdef0123456789ABCDEF"
    run = Run(tmp_path, run_stage, url_for(tiny_archive.path, style), wrong)
    line = run.assert_failed("md5 mismatch", wrong.lower(), hashlib.md5(tiny_archive.path.read_bytes()).hexdigest())
    assert line.index(wrong.lower()) < line.index(tiny_archive.md5)  # expected first, then actual


@pytest.mark.parametrize("member", [META, TEST_BATCH])
def test_pickle_with_foreign_global_is_refused_not_run(tmp_path: Path, run_stage: Any, member: str) -> None:
    marker = tmp_path / "MARKER"
    payload = malicious_pickle(f"touch {marker}")
    # the payload is real: plain pickle runs it
    control = tmp_path / "CONTROL"
    pickle.loads(malicious_pickle(f"touch {control}"))
    assert control.exists()

    source = tmp_path / "src"
    md5 = make_cifar_archive(source / "evil.tar.gz", mutate=replace(member, payload))
    run = Run(tmp_path, run_stage, (source / "evil.tar.gz").as_uri(), md5)
    run.assert_failed(f"cifar-10-batches-py/{member}", "refused global", "system")
    assert not marker.exists()


@pytest.mark.parametrize("style", ["file", "path"])
def test_missing_local_archive(tmp_path: Path, run_stage: Any, style: str) -> None:
    missing = tmp_path / "nowhere" / "cifar-10-python.tar.gz"
    run = Run(tmp_path, run_stage, url_for(missing, style), "0" * 32)
    run.assert_failed("archive not found", str(missing), "data.url")


def test_directory_as_archive(tmp_path: Path, run_stage: Any) -> None:
    run = Run(tmp_path, run_stage, str(tmp_path), "0" * 32)
    run.assert_failed("archive not found", str(tmp_path))


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:9/cifar.tar.gz", ("cannot download http://127.0.0.1:9/cifar.tar.gz", "refused")),
        ("http://127.0.0.1:abc/cifar.tar.gz", ("cannot download", "port")),
        ("gopher://example.invalid/cifar.tar.gz", ("cannot download", "unknown url type")),
    ],
)
def test_unreachable_url_suggests_a_local_archive(
    tmp_path: Path, run_stage: Any, url: str, words: tuple[str, ...]
) -> None:
    run = Run(tmp_path, run_stage, url, "0" * 32)
    run.assert_failed(*words, "local copy", "data.url=")


# --- http --------------------------------------------------------------------------------------


def test_http_download_logs_no_progress_bar_off_a_terminal(tmp_path: Path, run_stage: Any, tiny_archive: Any) -> None:
    with serve(tiny_archive.path.parent) as base:
        run = Run(tmp_path, run_stage, f"{base}/{tiny_archive.path.name}", tiny_archive.md5)
    assert run.result.returncode == 0, run.result.stderr
    # stderr is a pipe here, as in CI: no bar redrawn line by line into the log
    assert "Traceback" not in run.result.stderr and "\r" not in run.result.stderr and "%|" not in run.result.stderr
    assert_converted(load_npz(run.out), tiny_archive.members)
    assert [p.name for p in run.out_dir.iterdir()] == ["cifar10.npz"]
    assert list(run.tmpdir.iterdir()) == []  # the downloaded archive is gone


def test_http_not_found(tmp_path: Path, run_stage: Any, tiny_archive: Any) -> None:
    with serve(tiny_archive.path.parent) as base:
        run = Run(tmp_path, run_stage, f"{base}/missing.tar.gz", tiny_archive.md5)
    run.assert_failed(f"cannot download {base}/missing.tar.gz", "not found", "data.url")


def test_http_short_body_is_an_md5_mismatch(tmp_path: Path, run_stage: Any, tiny_archive: Any) -> None:
    with serve(tiny_archive.path.parent, HalfBodyHandler) as base:
        run = Run(tmp_path, run_stage, f"{base}/{tiny_archive.path.name}", tiny_archive.md5)
    assert run.result.returncode == 1
    errors = [line for line in run.result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in run.result.stderr
    # Python's http.client ends a short non-chunked body quietly, so the md5 check catches it; a
    # version that raises IncompleteRead instead must still give the one "cannot download" line
    assert errors[0].startswith((f"error: md5 mismatch for {base}/", f"error: cannot download {base}/"))
    assert errors[0] == run.result.stderr.strip().splitlines()[-1]
    run.assert_nothing_left()


# --- the real sample ---------------------------------------------------------------------------


@functools.cache
def decode_independently(archive: Path) -> dict[str, np.ndarray]:
    """The sample, decoded with plain pickle (it is trusted) and reshaped by hand."""
    batches = {}
    with tarfile.open(archive, "r:gz") as tar:
        for name in (*TRAIN_BATCHES, TEST_BATCH, META):
            handle = tar.extractfile(f"{BATCH_DIR}/{name}")
            assert handle is not None
            batches[name] = pickle.load(handle, encoding="latin1")
    train = [batches[name] for name in TRAIN_BATCHES]
    return {
        "train_images": np.concatenate([b["data"] for b in train]).reshape(-1, 3, 32, 32),
        "train_labels": np.array([label for b in train for label in b["labels"]]),
        "test_images": batches[TEST_BATCH]["data"].reshape(-1, 3, 32, 32),
        "test_labels": np.array(batches[TEST_BATCH]["labels"]),
        "class_names": np.array(batches[META]["label_names"]),
    }


@pytest.fixture(scope="module")
def sample_npz(sample_archive: Path, tmp_path_factory: pytest.TempPathFactory, run_stage: Any) -> Path:
    tmp = tmp_path_factory.mktemp("sample")
    params = write_params(tmp, sample_archive.as_uri(), SAMPLE_MD5)
    out = tmp / "cifar10.npz"
    result = run_stage("download.py", "--params", params, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {out}: 4577 train, 1017 test images"
    return out


def test_sample_converts_exactly(sample_archive: Path, sample_npz: Path) -> None:
    assert md5_file(sample_archive) == SAMPLE_MD5
    npz = load_npz(sample_npz)
    assert set(npz) == NPZ_KEYS
    assert npz["train_images"].shape == (4577, 3, 32, 32) and npz["train_images"].dtype == np.uint8
    assert npz["test_images"].shape == (1017, 3, 32, 32) and npz["test_images"].dtype == np.uint8
    assert npz["train_labels"].shape == (4577,) and npz["train_labels"].dtype == np.int64
    assert npz["test_labels"].shape == (1017,) and npz["test_labels"].dtype == np.int64
    assert tuple(npz["class_names"]) == CLASS_NAMES
    for split in ("train", "test"):
        counts = np.bincount(npz[f"{split}_labels"], minlength=10)
        assert len(counts) == 10 and counts.min() > 0.05 * counts.sum()  # all ten classes, roughly balanced
    expected = decode_independently(sample_archive)
    for key, value in expected.items():
        np.testing.assert_array_equal(npz[key], value, err_msg=key)


def test_sample_by_relative_plain_path(sample_archive: Path, tmp_path: Path, run_stage: Any) -> None:
    # how a user points data.url at the shared copy from the project root
    run = Run(tmp_path, run_stage, os.path.relpath(sample_archive, REPO_ROOT), SAMPLE_MD5)
    assert run.result.returncode == 0, run.result.stderr
    assert run.result.stdout.strip().endswith("4577 train, 1017 test images")


def test_stats_on_the_sample_match_an_independent_computation(
    sample_archive: Path, sample_npz: Path, tmp_path: Path, run_stage: Any
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("seed: 0\ndata:\n  val_fraction: 0.1\n", encoding="utf-8")
    out = tmp_path / "stats.json"
    result = run_stage("stats.py", "--params", params, "--data", sample_npz, "--out", out)
    assert result.returncode == 0, result.stderr
    stats = json.loads(out.read_text(encoding="utf-8"))

    images = decode_independently(sample_archive)["train_images"]
    n_val = round(4577 * 0.1)  # 458, as documented in split_indices
    train_idx = np.random.default_rng(0).permutation(4577)[n_val:]
    pixels = images[train_idx].astype(np.float64) / 255.0
    mean = pixels.mean(axis=(0, 2, 3))
    std = pixels.std(axis=(0, 2, 3))
    np.testing.assert_allclose(stats["mean"], mean, rtol=1e-9)
    np.testing.assert_allclose(stats["std"], std, rtol=1e-9)
    # the well-known CIFAR-10 values, roughly: mean ~ (0.49, 0.48, 0.45), std ~ (0.25, 0.24, 0.26)
    assert all(0.40 < m < 0.55 for m in stats["mean"]) and stats["mean"][2] < stats["mean"][0]
    assert all(0.20 < s < 0.30 for s in stats["std"])
    assert result.stdout.startswith(f"{4577 - n_val} training images: mean ")


# --- stats on images with a known answer -------------------------------------------------------


def save_npz(path: Path, train_images: np.ndarray, test_images: np.ndarray | None = None) -> Path:
    test_images = train_images[:2] if test_images is None else test_images
    np.savez(
        path,
        train_images=train_images,
        train_labels=np.arange(len(train_images)) % 10,
        test_images=test_images,
        test_labels=np.arange(len(test_images)) % 10,
        class_names=np.array(CLASS_NAMES),
    )
    return path


def run_stats(tmp_path: Path, run_stage: Any, npz: Path, params_text: str = "") -> tuple[Any, Path]:
    params = tmp_path / "params.yaml"
    params.write_text(params_text or "seed: 0\ndata:\n  val_fraction: 0.1\n", encoding="utf-8")
    out_dir = tmp_path / "stats-out"
    out_dir.mkdir()
    return run_stage("stats.py", "--params", params, "--data", npz, "--out", out_dir / "stats.json"), out_dir


def test_stats_exact_by_construction(tmp_path: Path, run_stage: Any) -> None:
    """Every image holds the same per-channel histogram, so any split gives the same exact answer."""
    images = np.zeros((40, 3, 32, 32), np.uint8)
    images[:, 0, :16] = 255  # red: half 0, half 255 -> mean 1/2, std 1/2
    images[:, 1, :8] = 255  # green: a quarter 255 -> mean 1/4, std sqrt(3)/4
    images[:, 2, :16] = 51  # blue: half 0.2, half 0.6 -> mean 0.4, std 0.2
    images[:, 2, 16:] = 153
    result, out_dir = run_stats(tmp_path, run_stage, save_npz(tmp_path / "c.npz", images))
    assert result.returncode == 0, result.stderr
    stats = json.loads((out_dir / "stats.json").read_text(encoding="utf-8"))
    assert stats["mean"] == pytest.approx([0.5, 0.25, 0.4], abs=1e-12)
    assert stats["std"] == pytest.approx([0.5, math.sqrt(3) / 4, 0.2], abs=1e-12)
    assert [p.name for p in out_dir.iterdir()] == ["stats.json"]


def test_stats_use_only_the_seeded_training_split(tmp_path: Path, run_stage: Any) -> None:
    values = np.arange(50, dtype=np.uint8) * 5  # image i is the constant 5 * i
    images = np.broadcast_to(values[:, None, None, None], (50, 3, 32, 32)).copy()
    images[:, 1] //= 2  # green differs from red and blue
    result, out_dir = run_stats(
        tmp_path, run_stage, save_npz(tmp_path / "c.npz", images), "seed: 7\ndata:\n  val_fraction: 0.2\n"
    )
    assert result.returncode == 0, result.stderr
    stats = json.loads((out_dir / "stats.json").read_text(encoding="utf-8"))
    train_idx = np.random.default_rng(7).permutation(50)[10:]
    red = values[train_idx] / 255.0
    green = (values[train_idx] // 2) / 255.0
    assert stats["mean"] == pytest.approx([red.mean(), green.mean(), red.mean()], abs=1e-12)
    assert stats["std"] == pytest.approx([red.std(), green.std(), red.std()], abs=1e-12)
    assert stats["mean"] != pytest.approx([values.mean() / 255.0] * 3, abs=1e-6)  # validation was held out
    assert result.stdout.startswith("40 training images: ")


BAD_NPZ = {
    "missing": ("not found: run the download stage first",),
    "empty file": ("is not a converted CIFAR-10 file",),
    "text file": ("is not a converted CIFAR-10 file",),
    "npy": ("is not a converted CIFAR-10 file",),
    "missing key": ("is not a converted CIFAR-10 file", "test_labels"),
    "float images": ("is not a converted CIFAR-10 file", "float32"),
    "NHWC images": ("is not a converted CIFAR-10 file", "(30, 32, 32, 3)"),
    "label count": ("is not a converted CIFAR-10 file", "(29,)"),
}


def write_bad_npz(path: Path, case: str) -> None:
    good = np.zeros((30, 3, 32, 32), np.uint8)
    if case == "empty file":
        path.write_bytes(b"")
    elif case == "text file":
        path.write_text("just text\n", encoding="utf-8")
    elif case == "npy":
        with open(path, "wb") as handle:
            np.save(handle, good)
    elif case == "missing key":
        np.savez(path, train_images=good, train_labels=np.zeros(30, np.int64), test_images=good)
    elif case == "float images":
        save_npz(path, good.astype(np.float32))
    elif case == "NHWC images":
        save_npz(path, good.transpose(0, 2, 3, 1).copy())
    elif case == "label count":
        np.savez(
            path,
            train_images=good,
            train_labels=np.zeros(29, np.int64),
            test_images=good,
            test_labels=np.zeros(30, np.int64),
            class_names=np.array(CLASS_NAMES),
        )


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_load_cifar10_on_missing_or_malformed_file(tmp_path: Path, case: str) -> None:
    from visionlab.data.cifar import load_cifar10

    path = tmp_path / "cifar10.npz"
    write_bad_npz(path, case)
    with pytest.raises(PipelineError) as info:
        load_cifar10(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for word in BAD_NPZ[case]:
        assert word in message


@pytest.mark.parametrize("grey", [0, 128])
def test_stats_refuses_constant_images_it_cannot_normalise(tmp_path: Path, run_stage: Any, grey: int) -> None:
    """All-constant images give std 0 (or rounding noise near it): refused by stats, not a stage later."""
    images = np.full((20, 3, 32, 32), grey, np.uint8)
    images[:, 1] = np.arange(32, dtype=np.uint8)  # green varies: only red and blue are named
    path = save_npz(tmp_path / "constant.npz", images)
    result, out_dir = run_stats(tmp_path, run_stage, path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: the training images cannot be normalised: channel std red 0, blue 0 (below 0.001; "
        "the pixels are constant); check the archive"
    ]
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("case", ["missing", "float images", "too few images"])
def test_stats_stage_on_bad_data_fails_in_one_line(tmp_path: Path, run_stage: Any, case: str) -> None:
    path = tmp_path / "cifar10.npz"
    if case == "too few images":
        save_npz(path, np.zeros((4, 3, 32, 32), np.uint8))
        expected = "error: data.val_fraction=0.1 leaves an empty split of 4 training images"
    else:
        write_bad_npz(path, case)
        expected = f"error: {path} "
    result, out_dir = run_stats(tmp_path, run_stage, path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected)
    for word in BAD_NPZ.get(case, ()):
        assert word in lines[0]
    assert list(out_dir.iterdir()) == []


# --- load_stats --------------------------------------------------------------------------------


def test_load_stats_reads_what_the_stage_wrote(tmp_path: Path) -> None:
    from visionlab.data.cifar import load_stats

    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"mean": [0.1, 0.2, 0.3], "std": [0.4, 0.5, 1]}), encoding="utf-8")
    assert load_stats(path) == ([0.1, 0.2, 0.3], [0.4, 0.5, 1.0])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (None, "not found: run the stats stage first"),
        ("{", "is not valid JSON"),
        (b"\xff\xfe", "not UTF-8 text"),
        ("[0.5, 0.5]", 'must hold {"mean": [r, g, b], "std": [r, g, b]} numbers'),
        ('{"mean": [0.5, 0.5, 0.5]}', 'must hold {"mean": [r, g, b], "std": [r, g, b]} numbers'),
        ('{"mean": 0.5, "std": 0.2}', 'must hold {"mean": [r, g, b], "std": [r, g, b]} numbers'),
        (
            '{"mean": ["a", 0.5, 0.5], "std": [0.2, 0.2, 0.2]}',
            'must hold {"mean": [r, g, b], "std": [r, g, b]} numbers',
        ),
        ('{"mean": [0.5, 0.5], "std": [0.2, 0.2, 0.2]}', "mean must be 3 values in [0, 1]"),
        ('{"mean": [0.5, 1.5, 0.5], "std": [0.2, 0.2, 0.2]}', "mean must be 3 values in [0, 1]"),
        ('{"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.0, 0.2]}', "std 3 values in (0, 1]"),
        ('{"mean": [NaN, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}', "mean must be 3 values in [0, 1]"),
        ("dir", "cannot read"),
    ],
)
def test_load_stats_on_missing_or_malformed_file(tmp_path: Path, text: Any, words: str) -> None:
    from visionlab.data.cifar import load_stats

    path = tmp_path / "stats.json"
    if text == "dir":
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(PipelineError) as info:
        load_stats(path)
    message = str(info.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


# --- atomic writes -----------------------------------------------------------------------------


def test_atomic_write_leaves_nothing_on_failure_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "result.json"
    write_text(target, "old\n")

    def failing(tmp: Path) -> None:
        tmp.write_text("partial", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, failing)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
    write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's 0600


def test_write_archive_helper_round_trips(tmp_path: Path) -> None:
    """The generator itself: members come back out of the tar exactly."""
    members = make_members(3, 4, seed=2)
    md5 = write_archive(tmp_path / "a.tar.gz", members)
    assert md5 == hashlib.md5((tmp_path / "a.tar.gz").read_bytes()).hexdigest()
    with tarfile.open(tmp_path / "a.tar.gz", "r:gz") as tar:
        names = tar.getnames()
        batch = pickle.load(tar.extractfile(f"{BATCH_DIR}/data_batch_2"))  # type: ignore[arg-type]
    assert names == [f"{BATCH_DIR}/{n}" for n in (*TRAIN_BATCHES, TEST_BATCH, META)]
    np.testing.assert_array_equal(batch["data"], members["data_batch_2"]["data"])
    assert batch["data"].shape == (3, 3072) and batch["data"].dtype == np.uint8
    assert batch["labels"] == members["data_batch_2"]["labels"]
