"""One error type for every problem a user can fix, and the entry-point wrapper that prints it."""

from __future__ import annotations

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A problem with the input (params, data, checkpoints) that the user can fix.

    Stage entry points turn it into one line on stderr and exit status 1.
    """


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` and turn a :class:`PipelineError` or an OSError into one line and exit 1."""
    try:
        main()
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    except OSError as err:  # a fault of the machine (a disk, a permission) that no code here words itself
        print(f"error: {f'{err.filename}: ' if err.filename else ''}{err.strerror or err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
