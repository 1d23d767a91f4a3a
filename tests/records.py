"""Walking the metrics records' fields, for the schema tests (no stage needs it)."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Union, get_args, get_origin, get_type_hints


def leaf_fields(cls: type, prefix: str = "") -> list[tuple[str, Any, bool]]:
    """(dotted name, type, optional) of every field, through nested records (a record field comes first)."""
    found = []
    for name, hint in get_type_hints(cls).items():
        args = [a for a in get_args(hint) if a is not type(None)]
        optional = get_origin(hint) in (Union, types.UnionType) and len(args) < len(get_args(hint))
        base = args[0] if optional else hint
        found.append((f"{prefix}{name}", base, optional))
        if dataclasses.is_dataclass(base):
            found += leaf_fields(base, f"{prefix}{name}.")  # required where the record itself is present
    return found
