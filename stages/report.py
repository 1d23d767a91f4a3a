"""DVC stage `report`: the one-page report (reports/README.md and reports/index.html) from metrics and figures."""

import argparse
from pathlib import Path

from visionlab.core.errors import run_stage
from visionlab.report.build import write_report
from visionlab.report.inputs import Inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", default="reports", help="folder with metrics/, info/, train/, figures/, ...")
    parser.add_argument("--stats", default="data/stats.json")
    parser.add_argument("--out", default="reports/README.md", help="the markdown page")
    parser.add_argument("--html", default="reports/index.html", help="the HTML page (same folder as --out)")
    args = parser.parse_args()

    write_report(Inputs(Path(args.reports), Path(args.stats)), Path(args.out), Path(args.html))
    print(f"wrote {args.out} and {args.html}")


if __name__ == "__main__":
    run_stage(main)
