"""DVC stage entry points, run as modules from the repo root (``python -m stages.<name>``) so that
the checkout's own ``visionlab`` comes first on ``sys.path``, whatever an editable install points at."""

import argparse

from visionlab.core.errors import stage_parser


def trained_model_parser(description: str | None) -> argparse.ArgumentParser:
    """The flags of the stages over one trained CIFAR model (evaluate, calibrate, corruption)."""
    parser = stage_parser(description, data=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--checkpoint", required=True)
    return parser
