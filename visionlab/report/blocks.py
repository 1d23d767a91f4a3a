"""The page as a list of blocks, the formatting of their cells, and the blocks rendered: Markdown, and a
standalone HTML page with its CSS (no templating engine)."""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from visionlab.predict.predict import md_cell

NOT_REPORTED = "—"


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str  # inline markdown: **bold**, `code`


@dataclass
class Alert:
    text: str  # a warning box: results that do not compare with the seed's, and why


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Figure:
    path: str  # relative to the page
    caption: str


@dataclass
class FigureRow:
    figures: list[Figure]  # side by side in HTML, one after another in markdown


Block = Heading | Para | Alert | Table | Figure | FigureRow


def pct(value: float, decimals: int = 1) -> str:
    return f"{100 * value:.{decimals}f} %"


def prob(value: float) -> str:
    """Probabilities: three decimals, or scientific where three decimals would print 0.000."""
    return f"{value:.3f}" if value >= 0.001 or value == 0 else f"{value:.1e}"


def seed_cell(value: object) -> str:
    return NOT_REPORTED if value is None else f"{value} (seed)"


def seed_table(rows: list[tuple[str, object, object]]) -> Table:
    """Rows of (label, ours, the seed's or None where the seed gives none)."""
    return Table(["", "this run", "seed report"], [[label, str(ours), seed_cell(seed)] for label, ours, seed in rows])


def compact(value: object) -> str:
    """A list as 1-2-3, anything else as itself."""
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


def _md_alt(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")  # brackets would end the image's alt text


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Para):
            out.append(block.text)
        elif isinstance(block, Alert):
            out.append(f"> ⚠️ {block.text}")
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(map(md_cell, block.header)) + " |", "|" + "---|" * len(block.header)]
            lines += ["| " + " | ".join(map(md_cell, row)) + " |" for row in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Figure | FigureRow):
            figures = block.figures if isinstance(block, FigureRow) else [block]
            out.append("\n\n".join(f"![{_md_alt(f.caption)}]({f.path})\n\n*{f.caption}*" for f in figures))
    return "\n\n".join(out) + "\n"


def _inline(text: str) -> str:
    """Escape, then the two inline markups the page uses: **bold** and `code`."""
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.warning { background: #fdecea; border-left: 6px solid #c00000; padding: 0.6em 1em; margin: 1em 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; max-height: 640px; border: 1px solid #ddd; }
.row { display: flex; gap: 1em; align-items: flex-start; } .row figure { flex: 1; min-width: 0; }
figcaption { font-size: 0.9em; color: #555; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _html_figure(figure: Figure) -> str:
    src = html.escape(figure.path, quote=True)
    return (
        f'<figure><a href="{src}"><img src="{src}" alt="{html.escape(figure.caption, quote=True)}"></a>'
        f"<figcaption>{_inline(figure.caption)}</figcaption></figure>"
    )


def to_html(blocks: Sequence[Block], title: str) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">']
    out += [f"<title>{html.escape(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>"]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Alert):
            out.append(f'<div class="warning">⚠️ {_inline(block.text)}</div>')
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline(c)}</th>" for c in block.header)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Figure):
            out.append(_html_figure(block))
        elif isinstance(block, FigureRow):
            out.append('<div class="row">' + "".join(map(_html_figure, block.figures)) + "</div>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
