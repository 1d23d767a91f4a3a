"""One interface over the networks the analyses can probe: ImageNet AlexNet or a trained CIFAR model."""

from __future__ import annotations

import json
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

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label(self, index: int) -> str:
        return f"{index} ({self.class_names[index]})"

    def check_class(self, index: int, key: str, hint: str = "") -> None:
        """Reject a class index this network does not have, in one line naming the param."""
        if not 0 <= index < self.num_classes:
            examples = ", ".join(f"{i}={n}" for i, n in enumerate(self.class_names[:10]))
            more = ", ..." if self.num_classes > 10 else ""
            raise PipelineError(
                f"{key}={index} is out of range for model={self.name}: classes are 0..{self.num_classes - 1} "
                f"({examples}{more}){hint}"
            )


def jsonable(value: Any) -> Any:
    """A value as plain JSON values (anything exotic becomes its string)."""
    return json.loads(json.dumps(value, default=str))
