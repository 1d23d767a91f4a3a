"""AlexNet loading: random, local .pth and cached ImageNet weights, and the one-line failures."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch
from torchvision.models import AlexNet_Weights, alexnet, resnet18

from visionlab.errors import PipelineError
from visionlab.interpret import alexnet as alexnet_module
from visionlab.interpret.alexnet import (
    IMAGENET_WEIGHTS_URL,
    AlexNet,
    imagenet_class_names,
    imagenet_weights_path,
    load_alexnet,
)

WEIGHTS_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's published file name


def _offline(*_args: object, **_kwargs: object) -> None:
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def _must_not_download(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("download attempted although the file is cached")


def _one_line(err: pytest.ExceptionInfo[PipelineError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_class_names_are_imagenet_offline() -> None:
    names = imagenet_class_names()
    assert len(names) == 1000
    assert names[207] == "golden retriever"


def test_our_alexnet_is_torchvisions_module_for_module() -> None:
    torch.manual_seed(5)
    ours = AlexNet().eval()
    torch.manual_seed(5)
    theirs = alexnet().eval()
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert torch.equal(ours_state[key], value), key  # same shapes, same seeded initialisation
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=0)


def test_class_names_and_weights_url_are_torchvisions() -> None:
    assert imagenet_class_names() == tuple(AlexNet_Weights.IMAGENET1K_V1.meta["categories"])
    assert AlexNet_Weights.IMAGENET1K_V1.url == IMAGENET_WEIGHTS_URL
    assert imagenet_weights_path().name == WEIGHTS_FILE


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


def test_imagenet_weights_offline_say_where_to_put_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(alexnet_module, "download", _offline)
    with pytest.raises(PipelineError) as err:
        load_alexnet("IMAGENET1K_V1")
    message = _one_line(err)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / WEIGHTS_FILE
    assert str(expected) in message
    assert "alexnet.weights=none" in message and "alexnet.weights=path/to/alexnet.pth" in message
    assert not expected.exists()


def test_cached_imagenet_weights_are_used_without_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved_alexnet: tuple[Path, torch.Tensor]
) -> None:
    path, conv1 = saved_alexnet
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(alexnet_module, "download", _must_not_download)
    cached = tmp_path / "torch" / "hub" / "checkpoints" / WEIGHTS_FILE
    assert imagenet_weights_path() == cached
    cached.parent.mkdir(parents=True)
    cached.symlink_to(path)
    loaded = load_alexnet("IMAGENET1K_V1")
    assert not loaded.random_weights
    assert torch.equal(loaded.conv1.weight, conv1)
