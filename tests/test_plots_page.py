"""`dvc plots show` with the project's `.dvc/config` writes a page that needs no network."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from itertools import product
from pathlib import Path

from tools import plots_template

ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_template_is_the_pinned_vl_convert_bundle() -> None:
    # After a vl-convert-python upgrade, `python tools/plots_template.py` rewrites it.
    assert plots_template.TEMPLATE.read_text(encoding="utf-8") == plots_template.page()


def test_dvc_plots_show_writes_a_page_that_loads_no_script_over_the_network(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=tmp_path, check=True)
    for name in (".dvc/config", ".dvc/plots.html"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "loss.tsv").write_text("step\tloss\n0\t2.3\n1\t1.7\n")
    (tmp_path / "dvc.yaml").write_text("plots:\n  - loss.tsv:\n      x: step\n      y: loss\n")
    shown = subprocess.run(["dvc", "plots", "show", "-o", "out"], cwd=tmp_path, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    page = (tmp_path / "out/index.html").read_text(encoding="utf-8")
    assert "vegaEmbed('#" in page and "window.vegaEmbed=" in page  # the plot, and the library it calls
    assert not re.search(r"<script[^>]*\bsrc=", page)  # DVC's CDN tags (its {scripts}) are left out
    assert not re.search(r"""\bimport\s*\(?\s*["']https?:""", page)


def test_dvc_plots_show_draws_each_of_the_pipelines_plot_files_in_one_chart(tmp_path: Path) -> None:
    # The project's dvc.yaml over tiny stand-ins of the files its stages write for charts, each holding a
    # value of its own: a file that a stage's `plots:` and the top-level `plots:` both name is drawn twice.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".dvc").mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    files = {}
    for model in ("cnn", "resnet", "fast"):
        for split, metric in product(("train", "val"), ("loss", "accuracy")):  # DVCLive's, as train writes them
            files[f"reports/train/{model}/plots/metrics/{split}/{metric}.tsv"] = (
                f"timestamp\tstep\t{metric}\n1\t0\t{{}}\n"
            )
        files[f"reports/eval/{model}/predictions.csv"] = "actual,predicted\n{0},{0}\n"
        files[f"reports/eval/{model}/per_class.csv"] = "class,accuracy\n{},0.5\n"
        for table in ("before", "after"):
            files[f"reports/calibration/{model}/{table}.csv"] = (
                "bin,lower,upper,confidence,accuracy,count\n0,0,1,0.5,{},1\n"
            )
    marks = {}
    for mark, (path, text) in enumerate(files.items(), start=1000):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text.format(mark))
        marks[str(mark)] = path
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    charts = [
        e["content"] for entries in json.loads(shown.stdout)["data"].values() for e in entries if e["type"] == "vega"
    ]
    drawn = {path: 0 for path in files}
    for chart in charts:
        for mark in {value for row in chart["data"]["values"] for value in row.values()} & marks.keys():
            drawn[marks[mark]] += 1
    assert drawn == dict.fromkeys(files, 1)
    assert len(charts) == 15  # per model: loss, accuracy, confusion, reliability (top-level), per-class accuracy
