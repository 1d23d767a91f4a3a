"""AlexNet (torchvision's layout and weights) with ImageNet, local or random weights, wrapped to take [0, 1] pixels.

The network is defined here with the very module structure and state-dict keys of torchvision's
``AlexNet``, so its published checkpoint loads as is; importing ``torchvision.models`` would load
every model definition it ships (several seconds) for this one.

``alexnet.weights`` is one of:

- ``IMAGENET1K_V1``: the torchvision checkpoint, read from ``torch.hub.get_dir()/checkpoints``
  (which honours ``TORCH_HOME``); downloaded there only if it is not already cached;
- a path to a ``.pth`` AlexNet state dict;
- ``none``: random initialisation (for tests and offline runs; every output then says so).
"""

from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from visionlab.errors import PipelineError
from visionlab.interpret.imagenet_classes import IMAGENET_CLASSES
from visionlab.io import atomic_path
from visionlab.models.normalize import Normalize, Normalized
from visionlab.progress import progress_enabled
from visionlab.torchfile import UnreadableFile, load_weights_only

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 224
IMAGENET_WEIGHTS = "IMAGENET1K_V1"
# torchvision's AlexNet_Weights.IMAGENET1K_V1; the hex in the name is the start of the file's sha256.
IMAGENET_WEIGHTS_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
RANDOM_WEIGHTS = "none"
# Random weights come from a fixed seed, not params.seed, so that every stage (filters has no
# seed param) looks at the same random network.
RANDOM_INIT_SEED = 0
DOWNLOAD_TIMEOUT_S = 20.0


class AlexNet(nn.Module):
    """Krizhevsky's one-GPU AlexNet variant as torchvision builds it: five convs, then three linear layers.

    ``features`` (indices 0, 3, 6, 8, 10 are the convs), ``avgpool`` and ``classifier`` (indices 1, 4,
    6 are the linear layers) match torchvision's module tree, so the state dicts are interchangeable.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


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


def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names (torchvision's list, kept in this package: no download)."""
    return IMAGENET_CLASSES


def imagenet_normalized(net: nn.Module) -> Normalized:
    """``net`` preceded by ImageNet mean/std normalisation, so it takes [0, 1] pixels."""
    return Normalized(net, IMAGENET_MEAN, IMAGENET_STD)


def imagenet_weights_path() -> Path:
    """Where torchvision caches (and this module looks for) the IMAGENET1K_V1 checkpoint."""
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_WEIGHTS_URL.rsplit("/", 1)[-1]


def load_alexnet(weights: str, device: torch.device | str = "cpu") -> LoadedAlexNet:
    """Build AlexNet with the requested weights; every user-fixable problem is one PipelineError line."""
    with torch.random.fork_rng(devices=[]):  # don't disturb the caller's RNG stream
        torch.manual_seed(RANDOM_INIT_SEED)
        net = AlexNet()
    kind = weights.strip()
    if kind.lower() == RANDOM_WEIGHTS:
        random_weights = True
    elif kind.upper() == IMAGENET_WEIGHTS:
        _load_into(net, _state_dict_from_file(_cached_imagenet_weights()), imagenet_weights_path())
        random_weights = False
    else:
        path = Path(kind).expanduser()
        if not path.is_file():
            raise PipelineError(
                f"alexnet.weights={weights!r}: no such file; use {IMAGENET_WEIGHTS}, "
                f"a path to an AlexNet .pth state dict, or {RANDOM_WEIGHTS}"
            )
        _load_into(net, _state_dict_from_file(path), path)
        random_weights = False
    net.eval()
    model = imagenet_normalized(net).to(device).eval()
    return LoadedAlexNet(
        net=net, model=model, weights=weights, random_weights=random_weights, class_names=imagenet_class_names()
    )


def _cached_imagenet_weights() -> Path:
    """The cached checkpoint; downloaded first only when it is missing (offline this fails at once)."""
    path = imagenet_weights_path()
    if path.is_file():
        return path
    url = IMAGENET_WEIGHTS_URL
    try:
        download(url, path)
    except (OSError, ValueError) as err:  # URLError, timeouts and hash mismatches all land here
        reason = getattr(err, "reason", None) or err
        raise PipelineError(
            f"AlexNet ImageNet weights are not cached and could not be downloaded ({reason}): "
            f"put {path.name} (from {url}) at {path}, or set alexnet.weights=path/to/alexnet.pth "
            f"or alexnet.weights={RANDOM_WEIGHTS}"
        ) from None
    return path


def download(url: str, dest: Path, timeout: float = DOWNLOAD_TIMEOUT_S) -> None:
    """Stream ``url`` to ``dest`` atomically, checking the sha256 prefix torchvision puts in the file name."""
    expected = dest.stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp, tmp.open("wb") as out:
        total = int(response.headers.get("Content-Length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress_enabled()) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        if not digest.hexdigest().startswith(expected):
            raise ValueError(f"downloaded file's sha256 does not start with {expected}")


def _state_dict_from_file(path: Path) -> dict[str, Any]:
    try:
        saved = load_weights_only(path, map_location="cpu")
    except UnreadableFile as err:  # pickle, zip and EOF errors, objects beyond tensors: anything but weights
        raise PipelineError(f"{path} is not a PyTorch state dict file ({err})") from None
    # Accept a bare state dict or one wrapped as {"state_dict": ...} (a common checkpoint layout).
    if isinstance(saved, dict) and isinstance(saved.get("state_dict"), dict):
        saved = saved["state_dict"]
    if not isinstance(saved, dict):
        raise PipelineError(f"{path} is not an AlexNet state dict (it holds a {type(saved).__name__})")
    return saved


def _load_into(net: AlexNet, state_dict: dict[str, Any], source: Path) -> None:
    """Strict load, with the mismatch summarised in one line instead of torch's multi-line report."""
    expected = net.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    wrong_shape = [
        k
        for k in expected
        if k in state_dict and (not isinstance(state_dict[k], torch.Tensor) or state_dict[k].shape != expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
            if keys:
                parts.append(f"{len(keys)} {label} key(s), e.g. {keys[0]}")
        raise PipelineError(f"{source} is not an AlexNet state dict: {'; '.join(parts)}")
    net.load_state_dict(state_dict)
