from visionlab.core.params import Text, int_range, section


@section
class PredictParams:
    input_dir: Text = "data/images"
    cifar_images: int_range(0, 10_000) = 4  # CIFAR-10's test split holds 10,000
    top_k: int_range(1, 1000) = 5
