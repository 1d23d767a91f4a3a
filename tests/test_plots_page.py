"""`dvc plots show` with the project's `.dvc/config` writes a page that needs no network."""

from __future__ import annotations

import re
import shutil
import subprocess
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
