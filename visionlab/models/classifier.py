"""One interface over the networks the analyses can probe: ImageNet AlexNet or a trained CIFAR model."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from visionlab.core.errors import PipelineError

RANDOM_WEIGHTS_NOTE = "RANDOM WEIGHTS (alexnet.weights=none) — not the pretrained network"

# Each network's last conv feature map after its activation, before any pooling: Grad-CAM's layer (the Grad-CAM
# authors' code takes relu5 on AlexNet, relu5_3 on VGG-16; pytorch-grad-cam ``layer4[-1]`` on ResNets) and
# the layer whose Gram matrices visualize's diversity rung keeps apart (Lucent's examples: InceptionV1's mixed4a,
# a concatenation of ReLU outputs).
LAST_ACTIVATION: dict[str, tuple[Callable[[Any], nn.Module], str]] = {
    "alexnet": (lambda net: net.features[11], "conv5's ReLU (relu5), before the max-pool"),
    "cnn": (lambda net: net.features[-1][2], "the last conv block's ReLU, before its max-pool"),
    "resnet": (lambda net: net.layer4[-1], "layer4's last block, after the residual sum and its ReLU"),
    "fast": (lambda net: net.layers[-1], "the last conv group, after its last GELU, before the global max-pool"),
}


def last_activation(name: str, net: nn.Module) -> nn.Module:
    """The module of :data:`LAST_ACTIVATION` in ``net`` (the network inside the ``Normalized`` wrapper)."""
    if name not in LAST_ACTIVATION:
        raise PipelineError(f"model={name}: no last conv activation known (Grad-CAM and the diversity rung read one)")
    find, what = LAST_ACTIVATION[name]
    try:
        return find(net)
    except (AttributeError, IndexError, TypeError) as err:  # not the network its name promises
        raise PipelineError(f"model={name}: the network lacks {what} (Grad-CAM and diversity read it)") from err


@dataclass
class Classifier:
    """A network that maps [0, 1] pixels of ``input_size`` squares to logits over ``class_names``."""

    name: str
    model: nn.Module
    class_names: tuple[str, ...]
    input_size: int
    random_weights: bool
    provenance: dict[str, Any]  # which weights / what it was trained on (info files, figure notes)

    def label(self, index: int) -> str:
        return f"{index} ({self.class_names[index]})"

    def check_class(self, index: int, key: str, hint: str = "") -> None:
        """Reject a class index this network does not have, in one line naming the param."""
        count = len(self.class_names)
        if not 0 <= index < count:
            examples = ", ".join(f"{i}={n}" for i, n in enumerate(self.class_names[:10]))
            more = ", ..." if count > 10 else ""
            raise PipelineError(
                f"{key}={index} is out of range for model={self.name}: classes are 0..{count - 1} "
                f"({examples}{more}){hint}"
            )
