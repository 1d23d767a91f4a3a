from visionlab.core.errors import rule
from visionlab.core.params import OpenFraction, Text, section


@section
class DataParams:
    url: Text = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    md5: rule("a 32-digit hex md5", str, pattern="^[0-9a-fA-F]{32}$") = "c58f30108f718f92721af3b95e74349a"
    val_fraction: OpenFraction = 0.1
