"""DVC stage `report`: the one-page report (reports/README.md and reports/index.html) from metrics and figures.

Reads only the files ``dvc.yaml`` lists as this stage's deps (see visionlab.reporting.page.input_paths).
"""

import argparse
from pathlib import Path

from visionlab.errors import run_stage
from visionlab.reporting.page import ALL_MODELS, MODELS, Inputs, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", default="reports", help="folder with metrics/, figures/, predict/, filters/")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--out", default="reports/README.md", help="the markdown page")
    parser.add_argument("--html", default="reports/index.html", help="the HTML page (same folder as --out)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=ALL_MODELS,
                        help="CIFAR models to show (cnn and resnet always; add fast once train@fast runs)")
    args = parser.parse_args()

    models = tuple(m for m in ALL_MODELS if m in {*MODELS, *args.models})
    write_report(Inputs(Path(args.reports), Path(args.stats), models), Path(args.out), Path(args.html))
    print(f"wrote {args.out} and {args.html}")


if __name__ == "__main__":
    run_stage(main)
