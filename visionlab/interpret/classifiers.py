"""One interface over the networks the analyses can probe: ImageNet AlexNet or a trained CIFAR model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from visionlab.errors import PipelineError

RANDOM_WEIGHTS_NOTE = "RANDOM WEIGHTS (alexnet.weights=none) — not the pretrained network"


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
