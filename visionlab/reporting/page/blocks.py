"""The page as a list of blocks (rendered twice: Markdown and HTML), and the formatting of their cells."""

from __future__ import annotations

from dataclasses import dataclass

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
    """A warning box: results that do not compare with the seed's, and why."""

    text: str


@dataclass
class Bullets:
    items: list[str]


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


Block = Heading | Para | Alert | Bullets | Table | Figure | FigureRow


def pct(value: float, decimals: int = 1) -> str:
    return f"{100 * value:.{decimals}f} %"


def prob(value: float) -> str:
    """Probabilities: three decimals, or scientific where three decimals would print 0.000."""
    return f"{value:.3f}" if value >= 0.001 or value == 0 else f"{value:.1e}"


def seed_value(value: float | int) -> str:
    """A seed number as the seed report writes it (shortest form: 104, 62.038, 1.0)."""
    return str(value)


def seed_cell(text: str) -> str:
    return f"{text} (seed)" if text != NOT_REPORTED else text
