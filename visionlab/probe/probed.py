"""What the maximize_class, attack and visualize stages share: their command line, and the model ``--model`` names."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import torch

from visionlab.core.device import resolve_device
from visionlab.core.errors import PipelineError
from visionlab.core.params import load_params
from visionlab.models.classifier import Classifier
from visionlab.models.params import AlexNetParams
from visionlab.models.registry import PROBED


def probed_classifier(
    description: str,
    data: bool = False,
    outputs: Sequence[str] = ("--figure", "--metrics", "--info"),
    inputs: Sequence[str] = (),
    **sections: type,
) -> tuple[argparse.Namespace, Any, Classifier]:
    """The stage's arguments, its params (torch seeded from them) and the model it probes, on its device.

    ``outputs`` are the stage's (required) output flags; ``inputs`` further optional input paths; ``sections``
    the params sections it reads (besides seed, device, and alexnet for AlexNet), each with its schema.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", required=True, help=f"one of {', '.join(PROBED)}")
    parser.add_argument("--params", default="params.yaml")
    if data:
        parser.add_argument("--data", default="data/cifar10.npz")
    parser.add_argument("--checkpoint", help="a CIFAR model's models/<model>.pt from the train stage")
    parser.add_argument("--stats", help="only to warn if it changed since training")
    for extra in inputs:
        parser.add_argument(extra)
    for output in outputs:
        parser.add_argument(output, required=True)
    args = parser.parse_args()

    alexnet = args.model == "alexnet"
    if args.model not in PROBED:
        raise PipelineError(f"unknown model {args.model!r}; choices: {', '.join(PROBED)}")
    if not alexnet and args.checkpoint is None:
        raise PipelineError(f"--model {args.model} needs --checkpoint (models/{args.model}.pt)")
    params = load_params(args.params, "seed", "device", **({"alexnet": AlexNetParams} if alexnet else {}), **sections)
    torch.manual_seed(params.seed)
    device = resolve_device(params.device)
    if alexnet:  # each model imports only its own loader: the stage's DVC deps differ per model
        from visionlab.models.alexnet import alexnet_classifier

        return args, params, alexnet_classifier(params.alexnet.weights, device)
    from visionlab.probe.cifar_classifier import trained_classifier

    return args, params, trained_classifier(args.model, args.checkpoint, device, args.stats)
