"""AlexNet loading: random, local .pth and cached ImageNet weights, and the one-line failures."""

from __future__ import annotations

import email.message
import io
import urllib.error
import urllib.request
import urllib.response
from pathlib import Path

import pytest
import torch
from torchvision.models import alexnet, resnet18

from visionlab.core.errors import PipelineError
from visionlab.models.alexnet import imagenet_weights_path, load_alexnet

WEIGHTS_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's published file name


def _offline(*_args: object, **_kwargs: object) -> None:
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def _wrong_file(request: urllib.request.Request) -> urllib.response.addinfourl:
    return urllib.response.addinfourl(io.BytesIO(b"not the weights"), email.message.Message(), request.full_url)


def _must_not_download(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("download attempted although the file is cached")


def _one_line(err: pytest.ExceptionInfo[PipelineError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_class_names_are_imagenet_offline() -> None:
    names = load_alexnet("none").class_names
    assert len(names) == 1000
    assert names[207] == "golden retriever"


def test_random_weights_are_flagged_and_reproducible() -> None:
    first, second = load_alexnet("none"), load_alexnet("none")
    assert first.random_weights
    assert torch.equal(first.conv1.weight, second.conv1.weight)
    assert not first.net.training  # dropout off: images of a batch must not interact


def test_wrapper_applies_imagenet_normalisation() -> None:
    alex = load_alexnet("none")
    x = torch.rand(1, 3, 224, 224)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(alex.model(x), alex.net((x - mean) / std))


@pytest.fixture(scope="module")
def saved_alexnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.Tensor]:
    """A seeded AlexNet state dict on disk (saved once: it is 240 MB) and its conv1 weight."""
    torch.manual_seed(123)
    source = alexnet()
    path = tmp_path_factory.mktemp("weights") / "mine.pth"
    torch.save(source.state_dict(), path)
    return path, source.features[0].weight.detach().clone()


def test_local_state_dict_is_loaded(saved_alexnet: tuple[Path, torch.Tensor]) -> None:
    path, conv1 = saved_alexnet
    loaded = load_alexnet(str(path))
    assert not loaded.random_weights
    assert torch.equal(loaded.conv1.weight, conv1)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda: resnet18().state_dict(), id="another-architecture"),
        pytest.param(lambda: {"features.0.weight": torch.zeros(2, 2)}, id="wrong-keys-and-shape"),
        pytest.param(lambda: [1, 2, 3], id="not-a-dict"),
    ],
)
def test_non_alexnet_state_dict_fails_in_one_line(tmp_path: Path, content) -> None:
    path = tmp_path / "other.pth"
    torch.save(content(), path)
    with pytest.raises(PipelineError) as err:
        load_alexnet(str(path))
    message = _one_line(err)
    assert str(path) in message and "not an AlexNet state dict" in message


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (lambda w: w.to(torch.complex64), "features.0.weight holds torch.complex64 values, not torch.float32"),
        (lambda w: w.to(torch.int8), "features.0.weight holds torch.int8 values, not torch.float32"),
        (lambda w: w.index_fill(0, torch.tensor([0]), float("nan")), "features.0.weight holds NaN or infinite values"),
    ],
    ids=["complex", "int8", "nan"],
)
def test_alexnet_weights_of_the_wrong_kind_fail_in_one_line(
    saved_alexnet: tuple[Path, torch.Tensor], tmp_path: Path, spoil, says: str
) -> None:
    state = torch.load(saved_alexnet[0], weights_only=True)
    state["features.0.weight"] = spoil(state["features.0.weight"])
    path = tmp_path / "spoilt.pth"
    torch.save(state, path)
    with pytest.raises(PipelineError) as err:
        load_alexnet(str(path))  # load_state_dict would cast these silently
    message = _one_line(err)
    assert message.startswith(str(path)) and message.endswith(says)


def test_file_that_is_not_torch_fails_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(PipelineError) as err:
        load_alexnet(str(path))
    assert "not a PyTorch state dict file" in _one_line(err)


def test_missing_weights_file_fails_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as err:
        load_alexnet(str(tmp_path / "absent.pth"))
    assert "no such file" in _one_line(err)


@pytest.mark.parametrize(("urlopen", "reason"), [(_offline, "name resolution"), (_wrong_file, "invalid hash")])
def test_imagenet_weights_not_downloaded_say_where_to_put_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, urlopen, reason: str
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "urlopen", urlopen)  # what torch.hub.download_url_to_file calls
    with pytest.raises(PipelineError) as err:
        load_alexnet("IMAGENET1K_V1")
    message = _one_line(err)
    assert "could not be downloaded" in message and reason in message
    expected = tmp_path / "torch" / "hub" / "checkpoints" / WEIGHTS_FILE
    assert str(expected) in message
    assert "alexnet.weights=none" in message and "alexnet.weights=path/to/alexnet.pth" in message
    assert not expected.exists()


def test_cached_imagenet_weights_are_used_without_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved_alexnet: tuple[Path, torch.Tensor]
) -> None:
    path, conv1 = saved_alexnet
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", _must_not_download)
    cached = tmp_path / "torch" / "hub" / "checkpoints" / WEIGHTS_FILE
    assert imagenet_weights_path() == cached
    cached.parent.mkdir(parents=True)
    cached.symlink_to(path)
    loaded = load_alexnet("IMAGENET1K_V1")
    assert not loaded.random_weights
    assert torch.equal(loaded.conv1.weight, conv1)
