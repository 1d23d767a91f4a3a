"""DVC stage `filters`: AlexNet's 64 conv1 filters as an 8x8 RGB grid, and the shapes of conv1 and conv2."""

import argparse

from visionlab.core.errors import run_stage
from visionlab.core.io import save_figure, write_text
from visionlab.core.record import write_record
from visionlab.filters.figure import filters_figure
from visionlab.filters.filters import conv_shapes, filter_images
from visionlab.filters.record import ConvShape, FiltersInfo, WeightStats
from visionlab.models.alexnet import INPUT_SIZE, read_alexnet
from visionlab.models.classifier import RANDOM_WEIGHTS_NOTE
from visionlab.probe.record import ProbedModel


def summary_markdown(shapes: dict[str, ConvShape], weights: str, random_weights: bool) -> str:
    lines = ["# AlexNet conv1 and conv2", ""]
    if random_weights:
        lines += [f"**{RANDOM_WEIGHTS_NOTE}**: the filter picture shows noise, not learned features.", ""]
    lines += [
        f"Weights: `{weights}`. Output sizes are for a {INPUT_SIZE}x{INPUT_SIZE} input.",
        "",
        "| layer | in channels | out channels | kernel | stride | padding | output size |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in shapes.items():
        lines.append(
            f"| {name} | {s.in_channels} | {s.out_channels} | {s.kernel}x{s.kernel} | {s.stride} | {s.padding} "
            f"| {s.output_size}x{s.output_size} |"
        )
    lines += [
        "",
        "conv1 filters have 3 input channels, so each can be drawn as an RGB patch; conv2 filters have "
        f"{shapes['conv2'].in_channels} input channels and cannot.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkpoint", default="models/alexnet.pt", help="the alexnet stage's AlexNet")
    parser.add_argument("--figure", default="reports/figures/alexnet_conv1_filters.png")
    parser.add_argument("--markdown", default="reports/filters/summary.md")
    parser.add_argument("--info", default="reports/info/filters.json")
    args = parser.parse_args()

    alex = read_alexnet(args.checkpoint)  # CPU: one forward pass of zeros, nothing to speed up
    shapes = conv_shapes(alex.net.features, INPUT_SIZE, count=2)
    weight = alex.conv1.weight.detach()
    model = ProbedModel("alexnet", alex.random_weights, alexnet_weights=alex.weights)
    stats = WeightStats(min=float(weight.min()), max=float(weight.max()), std=float(weight.std()))
    info = FiltersInfo(model, INPUT_SIZE, shapes["conv1"], shapes["conv2"], stats)
    save_figure(filters_figure(filter_images(alex.conv1), alex.random_weights, alex.weights), args.figure)
    write_text(args.markdown, summary_markdown(shapes, alex.weights, alex.random_weights))
    write_record(args.info, info)
    for name, s in shapes.items():
        print(
            f"{name}: {s.in_channels}->{s.out_channels}, {s.kernel}x{s.kernel}/{s.stride}, "
            f"output {s.output_size}x{s.output_size}"
        )


if __name__ == "__main__":
    run_stage(main)
