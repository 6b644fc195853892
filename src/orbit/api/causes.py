"""Pydantic validation errors as domain causes: the JSON field path of each (``spec.upgradeTo[1]``)
and a message a person can act on. The server turns them into 422 bodies; GitOps puts them
next to the file and line of the document that carried the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orbit import errors

# FastAPI prefixes request validation errors with where the value came from.
_SOURCES = frozenset({"query", "path", "header", "cookie", "body"})
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(loc: Sequence[int | str]) -> str:
    """``('spec', 'upgradeTo', 1)`` -> ``spec.upgradeTo[1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def parse_field_path(path: str) -> list[int | str]:
    """The inverse of :func:`field_path`: ``spec.upgradeTo[1]`` -> ``['spec', 'upgradeTo', 1]``."""
    return [int(index) if index else name for name, index in _PART.findall(path)]


def _cause(error: ErrorDetails, loc: Sequence[int | str]) -> errors.Cause:
    field = field_path(loc) or "<body>"
    match error["type"]:
        case "missing":
            return errors.Cause(field, "required value", "FieldValueRequired")
        case "extra_forbidden":
            return errors.Cause(
                field, "unknown field: check its spelling, or remove it", "FieldValueNotSupported"
            )
        case "value_error" | "assertion_error" if "error" in error.get("ctx", {}):
            return errors.Cause(field, str(error["ctx"]["error"]))
        case _:
            return errors.Cause(field, error["msg"])


def causes_from_pydantic(details: Iterable[ErrorDetails]) -> tuple[errors.Cause, ...]:
    """One cause per pydantic error, with the JSON field path (source prefixes dropped)."""
    causes = []
    for error in details:
        loc = list(error["loc"])
        if loc and loc[0] in _SOURCES:
            loc = loc[1:]
        causes.append(_cause(error, loc))
    return tuple(causes)


def invalid_from_validation(exc: ValidationError, *, kind: str, name: str | None) -> errors.Invalid:
    """The domain error for an object that pydantic rejected."""
    return errors.invalid(kind, name, *causes_from_pydantic(exc.errors()))
