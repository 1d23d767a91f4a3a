from visionlab.core.params import Batch, int_range, section


@section
class EvaluateParams:
    batch_size: Batch = 512
    misclassified: int_range(1, 256) = 32  # a grid of 8 a row: 256 is 32 rows
