"""One error type for every problem a user can fix, the entry point's flags and the wrapper that prints it, and
the schema rules whose failures read as one of its lines."""

import argparse
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError


class PipelineError(Exception):
    """A problem with the input (params, data, checkpoints) that the user can fix: one line (:func:`run_stage`)."""


def stage_parser(description: str | None, data: bool = False) -> argparse.ArgumentParser:
    """A stage's command line with ``--params`` and, with ``data``, ``--data`` (the converted CIFAR-10 arrays)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--params", default="params.yaml")
    if data:
        parser.add_argument("--data", default="data/cifar10.npz")
    return parser


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` and turn any exception into one line and exit 1: a :class:`PipelineError` or an
    OSError in its own words, anything else (a library's failure, a bug) named, never as a traceback."""
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
    except Exception as err:  # MemoryError too; where it was raised, for a bug report
        where = traceback.extract_tb(err.__traceback__)[-1]
        what = ": ".join(filter(None, (type(err).__name__, " ".join(str(err).split()))))  # one line, whatever it says
        kind = "out of memory" if isinstance(err, MemoryError) else "internal"
        print(f"error: {kind}: {what} ({where.filename}:{where.lineno})", file=sys.stderr)
        sys.exit(1)


def short(text: str, width: int = 24) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis, for a message or a figure's title."""
    return text if len(text) <= width else text[: width - 1] + "…"


def rule(phrase: str, base: Any, item: str | None = None, **constraints: Any) -> Any:
    """``base`` under pydantic's strict checks (no 1 for true, no 10.0 for 10) and ``constraints``, any
    failure worded ``must be <phrase>``; for a list, ``item`` words a failure of one of its values."""

    def reword(value: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError as err:
            inside = item is not None and any(e["loc"] for e in err.errors())
            raise PydanticCustomError("rule", item if inside else phrase) from None

    return Annotated[base, Field(**{"strict": True, **constraints}), WrapValidator(reword)]


# The two rules both schemas (params, metrics records) share.
Count = rule("a non-negative integer", int, ge=0)  # images, steps, indices, paddings
NonNegative = rule("a non-negative number", float, ge=0, allow_inf_nan=False)  # losses, seconds, norms, decays


def check(phrase: str, ok: Callable[[Any], bool]) -> AfterValidator:
    """A further rule on a value already of its type, worded ``must be <phrase>``."""

    def after(value: Any) -> Any:
        if not ok(value):
            raise PydanticCustomError("rule", phrase)
        return value

    return AfterValidator(after)


UNKNOWN = ("unexpected_keyword_argument", "extra_forbidden", "invalid_key")  # the last: a key that is not text
PHRASES = {  # pydantic's own failures of a type without a rule
    "dataclass_type": "a mapping",
    "float_type": "a finite number",
    "finite_number": "a finite number",
    "int_type": "an integer",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
}


def one_line(
    err: ValidationError,
    source: str,
    show: Callable[[Any], str],
    phrases: dict[str, str] | None = None,
    known: Callable[[tuple[Any, ...]], Iterable[str]] = lambda loc: (),
    prefix: tuple[Any, ...] = (),
) -> PipelineError:
    """pydantic's first error (an unknown key before any value) as one line naming the key (dotted, with
    ``[i]`` for a list's value), the rule (``phrases`` words pydantic's own) and the value as ``show``
    writes it; ``known(loc)`` lists the keys of the mapping at ``loc``."""
    errors = err.errors()
    first = next((e for e in errors if e["type"] in UNKNOWN), errors[0])
    loc = (*prefix, *first["loc"])
    if first["type"] in UNKNOWN:
        return PipelineError(f"{source}: unknown key {'.'.join(map(str, loc))} (known: {', '.join(known(loc[:-1]))})")
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).removeprefix(".") or "top level"
    if first["type"] in ("missing", "missing_argument"):
        return PipelineError(f"{source}: missing {key}")
    phrase = {**PHRASES, **(phrases or {})}.get(first["type"], first["msg"])  # a rule's message is its phrase
    return PipelineError(f"{source}: {key} must be {phrase}, got {show(first['input'])}")
