"""torchvision's AlexNet with ImageNet, local or random weights, wrapped to take [0, 1] pixels. ``alexnet.weights``:
``IMAGENET1K_V1`` (torchvision's checkpoint in ``torch.hub.get_dir()/checkpoints``, which honours ``TORCH_HOME``;
downloaded and hash-checked only if missing), a path to a ``.pth`` state dict, or ``none`` (random, for tests and
offline runs; every output says so). The alexnet stage writes them to the DVC-tracked ``models/alexnet.pt``
(:func:`save_alexnet`), which every AlexNet analysis reads (:func:`read_alexnet`)."""

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models import AlexNet, AlexNet_Weights, alexnet

from visionlab.core import torchfile
from visionlab.core.errors import PipelineError
from visionlab.core.progress import progress_enabled
from visionlab.models.classifier import Classifier
from visionlab.models.normalize import Normalize, Normalized

IMAGENET = AlexNet_Weights.IMAGENET1K_V1
_PRESET = IMAGENET.transforms()  # the resize, crop and normalisation these weights were trained with
IMAGENET_MEAN, IMAGENET_STD = tuple(_PRESET.mean), tuple(_PRESET.std)
INPUT_SIZE = _PRESET.crop_size[0]
RANDOM_WEIGHTS = "none"
# Random weights come from a fixed seed, not params.seed, so that every stage (filters has no
# seed param) looks at the same random network.
RANDOM_INIT_SEED = 0
DOWNLOAD_TIMEOUT_S = 20.0  # torch.hub's urlopen has none: a silent network would hang the stage


@dataclass
class LoadedAlexNet:
    """AlexNet in eval mode: ``model`` takes [0, 1] pixels (ImageNet normalisation inside), ``net`` the raw one."""

    net: AlexNet
    model: Normalized
    weights: str
    random_weights: bool
    class_names: tuple[str, ...]

    @property
    def normalize(self) -> Normalize:
        return self.model[0]

    @property
    def conv1(self) -> nn.Conv2d:
        return self.net.features[0]


def imagenet_weights_path() -> Path:
    """Where torchvision caches (and this module looks for) the IMAGENET1K_V1 checkpoint."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET.url.rsplit("/", 1)[-1]


def _seeded_alexnet() -> AlexNet:
    with torch.random.fork_rng(devices=[]):  # don't disturb the caller's RNG stream
        torch.manual_seed(RANDOM_INIT_SEED)
        return alexnet(weights=None)


def load_alexnet(weights: str, device: torch.device | str = "cpu") -> LoadedAlexNet:
    """Build AlexNet with the requested weights; every user-fixable problem is one PipelineError line."""
    net = _seeded_alexnet()
    kind = weights.strip()
    if kind.lower() == RANDOM_WEIGHTS:
        random_weights = True
    elif kind.upper() == IMAGENET.name:
        _load_into(net, _state_dict_from_file(_cached_imagenet_weights()), imagenet_weights_path())
        random_weights = False
    else:
        path = Path(kind).expanduser()
        if not path.is_file():
            raise PipelineError(
                f"alexnet.weights={weights!r}: no such file; use {IMAGENET.name}, "
                f"a path to an AlexNet .pth state dict, or {RANDOM_WEIGHTS}"
            )
        _load_into(net, _state_dict_from_file(path), path)
        random_weights = False
    return _loaded(net, weights, random_weights, device)


def _loaded(net: AlexNet, weights: str, random_weights: bool, device: torch.device | str) -> LoadedAlexNet:
    net.eval()
    model = Normalized(net, IMAGENET_MEAN, IMAGENET_STD).to(device).eval()
    names = tuple(IMAGENET.meta["categories"])
    return LoadedAlexNet(net=net, model=model, weights=weights, random_weights=random_weights, class_names=names)


def save_alexnet(alex: LoadedAlexNet, path: str | Path) -> None:
    """``models/alexnet.pt``: the weights as loaded, and the ``alexnet.weights`` they came from."""
    saved = {"weights": alex.weights, "random_weights": alex.random_weights, "state_dict": alex.net.state_dict()}
    torchfile.save_torch(path, saved)


def read_alexnet(path: str | Path, device: torch.device | str = "cpu") -> LoadedAlexNet:
    """AlexNet as :func:`save_alexnet` wrote it, checked as strictly as the weights it was made from."""
    path = Path(path)
    saved = torchfile.load_weights_only(path, lambda why: f"{path} is not an AlexNet file of the alexnet stage ({why})")
    if not (
        isinstance(saved, dict)
        and set(saved) == {"weights", "random_weights", "state_dict"}
        and isinstance(saved["weights"], str)
        and isinstance(saved["random_weights"], bool)
        and isinstance(saved["state_dict"], dict)
    ):
        raise PipelineError(f"{path} is not an AlexNet file of the alexnet stage (weights, random_weights, state_dict)")
    net = _seeded_alexnet()
    _load_into(net, saved["state_dict"], path)
    return _loaded(net, saved["weights"], saved["random_weights"], device)


def alexnet_classifier(path: str | Path, device: torch.device) -> Classifier:
    """:func:`read_alexnet` as the :class:`Classifier` the probed analyses take."""
    alex = read_alexnet(path, device)
    provenance = {"alexnet_weights": alex.weights}
    return Classifier("alexnet", alex.model, alex.class_names, INPUT_SIZE, alex.random_weights, provenance)


def _cached_imagenet_weights() -> Path:
    """The cached checkpoint; downloaded first only when it is missing (offline this fails at once)."""
    path = imagenet_weights_path()
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        # What load_state_dict_from_url(check_hash=True) does, minus its torch.load: the file is
        # read by _state_dict_from_file, whose refusals are one line.
        hash_prefix = torch.hub.HASH_REGEX.search(path.name)[1]
        torch.hub.download_url_to_file(IMAGENET.url, str(path), hash_prefix, progress=progress_enabled())
    except (OSError, RuntimeError) as err:  # URLError and timeouts; RuntimeError: a hash mismatch
        reason = getattr(err, "reason", None) or err
        raise PipelineError(
            f"AlexNet ImageNet weights are not cached and could not be downloaded ({reason}): "
            f"put {path.name} (from {IMAGENET.url}) at {path}, or set alexnet.weights=path/to/alexnet.pth "
            f"or alexnet.weights={RANDOM_WEIGHTS}"
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return path


def _state_dict_from_file(path: Path) -> dict[str, Any]:
    saved = torchfile.load_weights_only(path, lambda why: f"{path} is not a PyTorch state dict file ({why})")
    # Accept a bare state dict or one wrapped as {"state_dict": ...} (a common checkpoint layout).
    if isinstance(saved, dict) and isinstance(saved.get("state_dict"), dict):
        saved = saved["state_dict"]
    if not isinstance(saved, dict):
        raise PipelineError(f"{path} is not an AlexNet state dict (it holds a {type(saved).__name__})")
    return saved


def _load_into(net: AlexNet, state_dict: dict[str, Any], source: Path) -> None:
    """Strict load, with any mismatch (keys, shapes, kinds of number) or a NaN in one line, not torch's report."""
    if not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        raise PipelineError(f"{source} is not an AlexNet state dict: it holds values that are not tensors")
    if (problem := torchfile.state_dict_problem(state_dict, net.state_dict())) is not None:
        raise PipelineError(f"{source} is not an AlexNet state dict: {problem}")
    if (bad := torchfile.first_nonfinite(state_dict)) is not None:
        raise PipelineError(f"{source}: {bad} holds NaN or infinite values")
    net.load_state_dict(state_dict)
    model = Normalized(net, IMAGENET_MEAN, IMAGENET_STD).eval()
    if (problem := torchfile.overflow_problem(model, INPUT_SIZE)) is not None:
        raise PipelineError(f"{source}: {problem}")
