"""DVC stage `maximize_channels`: gradient ascent on the centre unit of conv1 channels (seed 3a-3d). Each unit is
maximised before its ReLU and compared with its analytic maximum over [0, 1] images."""

from pathlib import Path

import torch

from visionlab.channels.figure import channel_figure, channels_panel
from visionlab.channels.maximize import maximize_conv1_channels
from visionlab.channels.params import MaximizeChannelsParams
from visionlab.channels.record import ChannelDetail, ChannelScores, ChannelsInfo, ChannelsMetrics, ReceptiveField, Unit
from visionlab.core.device import resolve_device
from visionlab.core.errors import run_stage, stage_parser
from visionlab.core.io import save_figure
from visionlab.core.params import load_params
from visionlab.core.record import write_record
from visionlab.core.seed_report import SEED_ALEXNET
from visionlab.models.alexnet import read_alexnet
from visionlab.probe.record import ProbedModel

SEED_ACTIVATIONS = SEED_ALEXNET["maximize_channels"]["activations"]  # 30 steps of 5.0 from the same noise


def main() -> None:
    parser = stage_parser(__doc__)
    parser.add_argument("--checkpoint", default="models/alexnet.pt", help="the alexnet stage's AlexNet")
    parser.add_argument("--figures", default="reports/figures/maximize_channels")
    parser.add_argument("--metrics", default="reports/metrics/maximize_channels.json")
    parser.add_argument("--info", default="reports/info/maximize_channels.json")
    args = parser.parse_args()

    params = load_params(args.params, "seed", "device", maximize_channels=MaximizeChannelsParams)
    settings = params.maximize_channels
    torch.manual_seed(params.seed)
    alex = read_alexnet(args.checkpoint, resolve_device(params.device))
    results = maximize_conv1_channels(
        alex, settings.channels, settings.steps, settings.step_size, settings.init_mean, settings.init_std, params.seed
    )

    metrics = ChannelsMetrics({str(r.channel): ChannelScores(r.activation) for r in results})
    (r0, r1), (c0, c1) = results[0].analytic.field.rows, results[0].analytic.field.cols
    info = ChannelsInfo(
        model=ProbedModel("alexnet", alex.random_weights, alexnet_weights=alex.weights),
        unit=Unit(*results[0].unit),
        receptive_field=ReceptiveField(row_first=r0, row_last=r1 - 1, col_first=c0, col_last=c1 - 1),
        steps=settings.steps,
        step_size=settings.step_size,
        channels={str(r.channel): ChannelDetail(r.initial_activation, r.analytic.value) for r in results},
    )
    figures = Path(args.figures)
    for r in results:
        fig = channel_figure(r, SEED_ACTIVATIONS.get(r.channel), alex.random_weights, alex.weights)
        save_figure(fig, figures / f"channel_{r.channel:02d}.png")
    save_figure(channels_panel(results, SEED_ACTIVATIONS, alex.random_weights, alex.weights), figures / "panel.png")
    write_record(args.info, info)
    write_record(args.metrics, metrics)
    for r in results:
        print(
            f"channel {r.channel}: activation {r.activation:.3f} of analytic {r.analytic.value:.3f} "
            f"({100 * r.fraction:.2f} %)"
        )


if __name__ == "__main__":
    run_stage(main)
