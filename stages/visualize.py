"""DVC stage `visualize@<model>`: feature visualisation four ways, from the seed's naive ascent to Lucid's ladder. Each
objective (AlexNet: the seed's conv1 centre units, a conv5 channel, class 207; a CIFAR model: two channels of its last
conv layer and class dog) is rendered by the seed's pixel ascent, then on a Fourier-space colour-decorrelated image,
then with random transforms at every step, then as a diverse batch. Each result's activation, robust activation and
high-frequency share go to ``--out``, the images to ``--figure``."""

from visionlab.core.errors import run_stage
from visionlab.core.io import save_figure
from visionlab.core.record import load_record, write_record
from visionlab.data.colour import ColourStats
from visionlab.probe.probed import probed_classifier
from visionlab.visualize.figure import visualize_figure
from visionlab.visualize.params import VisualizeParams
from visionlab.visualize.study import study, visualize_record
from visionlab.visualize.targets import colour_matrix


def main() -> None:
    outputs, inputs = ("--figure", "--out"), ("--colour-stats",)
    args, params, clf = probed_classifier(__doc__, outputs=outputs, inputs=inputs, visualize=VisualizeParams)
    settings = params.visualize
    units = settings.models.of(clf.name)
    if clf.name == "alexnet":
        covariance, colour = None, "ImageNet's colour correlation (Lucid's color_correlation_svd_sqrt)"
    else:
        stats = load_record(ColourStats, args.colour_stats) if args.colour_stats else None
        covariance = stats.covariance if stats else None
        colour = f"the colour covariance of its {stats.train_images:,} training images" if stats else ""
    result = study(clf, settings, colour_matrix(clf.name, covariance), params.seed, units)
    record = visualize_record(clf, settings, units, colour, result)
    save_figure(visualize_figure(clf, record, result.rendered), args.figure)
    write_record(args.out, record)


if __name__ == "__main__":
    run_stage(main)
