"""The smoke run's metrics, params and learning curves against those of a base run, in Markdown.

``dvc metrics diff`` and ``dvc params diff`` compare git revisions; CI has the base run's files in
a folder instead (restored from the cache that the base commit's CI run saved), so this compares
two folders with the same layout:

    params.yaml                                 the params the smoke run ran with
    reports/metrics/**/*.json                   the stages' metrics files
    reports/train/<model>/plots/metrics/**.tsv  DVCLive's per-epoch curves (step, value)
    reports/figures/<model>/curves.png          the evaluate stage's curve figure (kept, not compared)

    python .ci/smoke_diff.py collect DEST [--repo DIR]
        copy those files of the repo's workspace into DEST (emptied first), with DEST/COMMIT
    python .ci/smoke_diff.py diff BASE_DIR [--new DIR] [--name NAME] [--png PATH]
        print the Markdown: metrics (base, new, change), params (base, new), and the learning
        curves of both runs drawn together (base dashed, new solid), saved to PATH and embedded;
        without base files, exactly one line: "No base smoke metrics for NAME: nothing to compare."

Only changed metrics and params are listed (as DVC does), with a count of the unchanged ones;
``--all`` lists every row. Stdlib and PyYAML; matplotlib only for the curves.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PARAMS = "params.yaml"
METRICS_GLOB = "reports/metrics/**/*.json"
CURVES_GLOB = "reports/train/*/plots/metrics/**/*.tsv"
FIGURES_GLOB = "reports/figures/*/curves.png"
MISSING = "—"


# --- collect ---------------------------------------------------------------------------------------


def smoke_files(folder: Path) -> list[Path]:
    """The files of ``folder`` that make up a smoke run's record, relative to it."""
    found = [Path(PARAMS)] if (folder / PARAMS).is_file() else []
    for pattern in (METRICS_GLOB, CURVES_GLOB, FIGURES_GLOB):
        found += sorted(p.relative_to(folder) for p in folder.glob(pattern) if p.is_file())
    return found


def collect(repo: Path, dest: Path) -> list[Path]:
    files = smoke_files(repo)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in files:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, dest / name)
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode == 0:
        (dest / "COMMIT").write_text(commit.stdout.strip() + "\n")
    return files


# --- flattening and formatting ---------------------------------------------------------------------


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as ``a.b.0`` keys -> scalars (what DVC shows as ``a.b``)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt(value: Any) -> str:
    if value is MISSING:
        return MISSING
    if isinstance(value, float):
        return f"{value:.6g}"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text.replace("|", "\\|")


def change(old: Any, new: Any) -> str:
    if is_number(old) and is_number(new):
        diff = new - old
        if isinstance(diff, float) and not math.isfinite(diff):
            return MISSING
        return f"{diff:+.6g}" if isinstance(diff, float) else f"{diff:+d}"
    return MISSING


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return {"(unreadable)": f"{type(err).__name__}"}


def metrics_of(folder: Path) -> dict[tuple[str, str], Any]:
    rows: dict[tuple[str, str], Any] = {}
    for path in sorted(folder.glob(METRICS_GLOB)):
        name = path.relative_to(folder).as_posix()
        for key, value in flatten(read_json(path)).items():
            rows[(name, key)] = value
    return rows


def params_of(folder: Path) -> dict[str, Any]:
    path = folder / PARAMS
    if not path.is_file():
        return {}
    return flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def differs(old: Any, new: Any) -> bool:
    return old is MISSING or new is MISSING or old != new


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def metrics_section(base: Path, new: Path, show_all: bool) -> list[str]:
    old_rows, new_rows = metrics_of(base), metrics_of(new)
    keys = sorted(old_rows.keys() | new_rows.keys())
    rows, same = [], 0
    for key in keys:
        old, cur = old_rows.get(key, MISSING), new_rows.get(key, MISSING)
        if not show_all and not differs(old, cur):
            same += 1
            continue
        rows.append([key[0], key[1], fmt(old), fmt(cur), change(old, cur)])
    lines = ["### Metrics", ""]
    if rows:
        lines += table(["file", "metric", "base", "new", "change"], rows)
    else:
        lines.append("No metric changed." if keys else "No metrics files in either run.")
    if same:
        lines += ["", f"{same} unchanged metric{'s' if same != 1 else ''} not listed."]
    return lines


def params_section(base: Path, new: Path, show_all: bool) -> list[str]:
    old_params, new_params = params_of(base), params_of(new)
    keys = sorted(old_params.keys() | new_params.keys())
    rows, same = [], 0
    for key in keys:
        old, cur = old_params.get(key, MISSING), new_params.get(key, MISSING)
        if not show_all and not differs(old, cur):
            same += 1
            continue
        rows.append([key, fmt(old), fmt(cur), change(old, cur)])
    lines = ["### Params", ""]
    lines += table(["param", "base", "new", "change"], rows) if rows else ["No param changed."]
    if same:
        lines += ["", f"{same} unchanged param{'s' if same != 1 else ''} not listed."]
    return lines


# --- learning curves -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    model: str
    split: str  # train / val
    metric: str  # loss / accuracy
    steps: list[float]
    values: list[float]


def curves_of(folder: Path) -> list[Curve]:
    """DVCLive's TSVs: reports/train/<model>/plots/metrics/<split>/<metric>.tsv, columns timestamp, step, <metric>."""
    found = []
    for path in sorted(folder.glob(CURVES_GLOB)):
        model = path.relative_to(folder).parts[2]
        inner = path.relative_to(folder / "reports/train" / model / "plots/metrics")
        split = inner.parent.as_posix() if inner.parent != Path(".") else ""
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
            value_column = path.stem if rows and path.stem in rows[0] else None
            steps = [float(row["step"]) for row in rows]
            values = [float(row[value_column]) for row in rows] if value_column else []
        except (OSError, KeyError, ValueError):
            continue
        if values:
            found.append(Curve(model, split, path.stem, steps, values))
    return found


def plot_curves(base: list[Curve], new: list[Curve], png: Path) -> bool:
    """One figure, a row per model and a column per metric; base dashed, new solid. False if nothing to draw."""
    if not base and not new:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    models = sorted({c.model for c in base + new})
    metrics = sorted({c.metric for c in base + new}, key=lambda m: (m != "loss", m))
    splits = sorted({c.split for c in base + new})
    colours = {split: f"C{i}" for i, split in enumerate(splits)}
    fig, axes = plt.subplots(
        len(models), len(metrics), figsize=(4.2 * len(metrics), 2.8 * len(models)), squeeze=False, dpi=80
    )
    for row, model in enumerate(models):
        for col, metric in enumerate(metrics):
            ax = axes[row][col]
            for run, style in ((base, "--"), (new, "-")):
                for c in run:
                    if c.model == model and c.metric == metric:
                        label = f"{c.split or metric} ({'base' if run is base else 'new'})"
                        ax.plot(c.steps, c.values, style, color=colours[c.split], marker=".", label=label)
            ax.set_title(f"{model}: {metric}", fontsize=10)
            ax.set_xlabel("epoch", fontsize=8)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)
    plt.close(fig)
    return True


def curves_section(base: Path, new: Path, png: Path | None) -> list[str]:
    lines = ["### Learning curves (base dashed, new solid)", ""]
    base_curves, new_curves = curves_of(base), curves_of(new)
    if not base_curves and not new_curves:
        return lines + ["No DVCLive curves in either run."]
    if png is None:
        return lines + [f"{len(base_curves)} base and {len(new_curves)} new curves (no --png given)."]
    try:
        plot_curves(base_curves, new_curves, png)
    except ImportError:
        return lines + ["matplotlib is not installed: no figure."]
    encoded = base64.b64encode(png.read_bytes()).decode("ascii")
    alt = "learning curves, base dashed and new solid (also the smoke-curves artifact of this run)"
    return lines + [f'<img alt="{alt}" src="data:image/png;base64,{encoded}">', "", f"Figure: `{png}`."]


# --- diff ------------------------------------------------------------------------------------------


def has_base(folder: Path) -> bool:
    return folder.is_dir() and ((folder / PARAMS).is_file() or any(folder.glob(METRICS_GLOB)))


def diff(base: Path, new: Path, name: str | None = None, png: Path | None = None, show_all: bool = False) -> str:
    if name is None:
        commit = base / "COMMIT"
        name = commit.read_text().strip() if commit.is_file() else str(base)
    if not has_base(base):
        return f"No base smoke metrics for {name}: nothing to compare.\n"
    lines = [f"## Smoke run against `{name}`", ""]
    lines += metrics_section(base, new, show_all) + [""]
    lines += params_section(base, new, show_all) + [""]
    lines += curves_section(base, new, png)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect", help="copy the workspace's smoke metrics, params and curves into DEST")
    c.add_argument("dest", type=Path)
    c.add_argument("--repo", type=Path, default=ROOT)
    d = sub.add_parser("diff", help="Markdown of the new run against BASE_DIR")
    d.add_argument("base", type=Path)
    d.add_argument("--new", type=Path, default=ROOT, help="the new run's folder (default: this repo's workspace)")
    d.add_argument("--name", help="what to call the base (default: BASE_DIR/COMMIT, else BASE_DIR)")
    d.add_argument("--png", type=Path, help="where to write the learning-curves figure")
    d.add_argument("--all", action="store_true", help="list unchanged metrics and params too")
    args = parser.parse_args(argv)
    if args.command == "collect":
        files = collect(args.repo, args.dest)
        print(f"kept {len(files)} smoke files in {args.dest}")
    else:
        sys.stdout.write(diff(args.base, args.new, args.name, args.png, args.all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
