from typing import Annotated

from pydantic import Field

from visionlab.core.errors import check
from visionlab.core.params import Batch, int_list, int_range, section


@section
class CorruptParams:
    """The CIFAR-10-C-style test set (stage corrupt), shared by every model's corruption@<model>."""

    images: int_range(1, 10_000) = 1000  # the first N test images (all if fewer; CIFAR-10's test split holds 10,000)
    batch_size: Batch = 256  # images corrupted at a time: bounds the stage's memory
    severities: Annotated[
        int_list(None, "an integer in 1..5", ge=1, le=5),
        check("a list without repeats", lambda values: len(set(values)) == len(values)),
    ] = Field(default=[1, 2, 3, 4, 5])
