"""Figures, tables and the report page built from the pipeline's metrics."""

import re

_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")  # what str.splitlines splits on


def md_cell(text: str) -> str:
    """``text`` (a file name) safe in a Markdown table cell: a pipe would split the cell, a line break the row."""
    return _LINE_BREAK.sub(lambda m: repr(m[0])[1:-1], text.replace("|", "\\|"))
