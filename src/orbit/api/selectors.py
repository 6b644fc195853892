"""Kubernetes label selectors: parse ``a=b,c!=d,e in (x,y),f notin (z),g,!h`` and match labels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Operator = Literal["=", "!=", "in", "notin", "exists", "!exists"]

_SET = re.compile(
    r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$"
)


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        match self.operator:
            case "=" | "in":
                return value is not None and value in self.values
            case "!=" | "notin":
                return value is None or value not in self.values
            case "exists":
                return value is not None
            case "!exists":
                return value is None


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


def _split(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def parse(text: str | None) -> Selector:
    """Parse a selector; ValueError with the offending term if it does not parse."""
    if not text or not text.strip():
        return Selector()
    reqs = []
    for term in _split(text):
        match = _SET.match(term)
        if not match:
            raise ValueError(f"invalid label selector term {term!r}")
        negated, key, set_op, set_values, eq_op, eq_value = match.groups()
        if negated and (set_op or eq_op):
            raise ValueError(f"invalid label selector term {term!r}: '!' takes a key alone")
        if set_op:
            values = frozenset(v.strip() for v in set_values.split(",") if v.strip())
            reqs.append(Requirement(key, "in" if set_op == "in" else "notin", values))
        elif eq_op:
            reqs.append(Requirement(key, "!=" if eq_op == "!=" else "=", frozenset({eq_value})))
        else:
            reqs.append(Requirement(key, "!exists" if negated else "exists"))
    return Selector(tuple(reqs))
