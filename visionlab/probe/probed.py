"""What the probed analyses share: their command line, and the model ``--model`` names, AlexNet or a CIFAR model."""

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError, stage_parser
from visionlab.core.params import load_params
from visionlab.models.alexnet import alexnet_classifier
from visionlab.models.classifier import Classifier
from visionlab.models.registry import PROBED
from visionlab.models.trained import INPUT_SIZE, load_trained


def probed_classifier(
    description: str,
    data: bool = False,
    outputs: Sequence[str] = ("--figure", "--metrics", "--info"),
    inputs: Sequence[str] = (),
    **sections: type,
) -> tuple[argparse.Namespace, Any, Classifier]:
    """The stage's arguments, its params (torch seeded from them) and the model it probes, on its device;
    ``outputs``: its required output flags, ``inputs``: optional input paths, ``sections``: the params sections
    it reads besides seed and device, each with its schema."""
    parser = stage_parser(description, data)
    parser.add_argument("--model", required=True, help="alexnet, or a trained CIFAR model (cnn, resnet, fast)")
    parser.add_argument("--checkpoint", required=True, help="models/<model>.pt (alexnet's: the alexnet stage's)")
    for extra in inputs:
        parser.add_argument(extra)
    for output in outputs:
        parser.add_argument(output, required=True)
    args = parser.parse_args()

    if args.model not in PROBED:
        raise PipelineError(f"unknown model {args.model!r}; choices: {', '.join(PROBED)}")
    params = load_params(args.params, "seed", "device", **sections)
    torch.manual_seed(params.seed)
    device = resolve_device(params.device)
    if args.model == "alexnet":
        return args, params, alexnet_classifier(args.checkpoint, device)
    return args, params, trained_classifier(args.model, args.checkpoint, device)


def trained_classifier(name: str, checkpoint: str | Path, device: torch.device) -> Classifier:
    """The ``name`` model from ``checkpoint``, on ``device``; refuses a checkpoint of another model."""
    checkpoint = Path(checkpoint)
    trained = load_trained(checkpoint, map_location=device, expected=name)  # resnet.pt must hold a resnet
    trained.model.to(device).eval()
    summary = json.loads(json.dumps(trained.summary, default=str))  # plain JSON values (exotic ones as text)
    provenance = {"checkpoint": checkpoint.as_posix(), "trained_model": summary}
    return Classifier(name, trained.model, trained.class_names, INPUT_SIZE, random_weights=False, provenance=provenance)
