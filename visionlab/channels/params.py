from pydantic import Field

from visionlab.core.params import OpenFraction, Spread, Steps, StepSize, int_list, section


@section
class MaximizeChannelsParams:
    channels: int_list(None, "an integer in 0..63", ge=0, le=63) = Field(default=[0, 5, 10, 20])
    steps: Steps = 30
    step_size: StepSize = 5.0
    init_mean: OpenFraction = 0.5
    init_std: Spread = 0.01
