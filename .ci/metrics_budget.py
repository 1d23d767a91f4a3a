"""Check that `dvc metrics show --json` (on stdin) is something a person can compare column by column.

Every value must be a finite number (no text, booleans, lists, nulls or NaN: those belong in the side
files), there must be some, and there may be at most LIMIT of them, so that `dvc exp show` stays
readable. A file or revision DVC could not read fails too. Prints one line either way; exits 1 when a
check fails.

    dvc metrics show --json | python .ci/metrics_budget.py [--limit 60]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from typing import Any

DEFAULT_LIMIT = 60  # the readable-experiments issue's bound for a smoke run


def leaves(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of a metrics file's JSON."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, f"{where}.{key}" if where else str(key))
    else:
        yield where, value


def metric_values(shown: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every metric value of the workspace, as ("key (file)", value); a file DVC could not read raises."""
    found = []
    for name, revision in shown.items():
        if "error" in revision:
            raise ValueError(f"dvc could not read the metrics of {name or 'the workspace'} ({revision['error']})")
        for path, entry in revision.get("data", {}).items():
            if "error" in entry:
                raise ValueError(f"{path}: dvc could not read it ({entry['error']})")
            found += [(f"{key} ({path})", value) for key, value in leaves(entry.get("data", {}), "")]
    return found


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    args = parser.parse_args()
    try:
        values = metric_values(json.load(sys.stdin))
    except (json.JSONDecodeError, AttributeError, ValueError) as err:
        print(f"error: dvc metrics show --json: {err}", file=sys.stderr)
        return 1
    if not values:
        print("error: dvc metrics show lists no metric at all", file=sys.stderr)
        return 1
    not_numbers = [name for name, value in values if not is_number(value)]
    if not_numbers:
        shown = ", ".join(not_numbers[:3]) + (f" and {len(not_numbers) - 3} more" if len(not_numbers) > 3 else "")
        print(f"error: metrics must be finite numbers, and {len(not_numbers)} are not: {shown}", file=sys.stderr)
        return 1
    if len(values) > args.limit:
        print(f"error: {len(values)} metric values, more than the {args.limit} a person can compare", file=sys.stderr)
        return 1
    print(f"{len(values)} metric values, all numbers (at most {args.limit})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
