"""Progress bars only on a terminal: in CI logs and files they are noise (one line per epoch is printed anyway)."""

import sys
from typing import TextIO


def progress_enabled(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default: the current ``sys.stderr``, where tqdm draws) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
