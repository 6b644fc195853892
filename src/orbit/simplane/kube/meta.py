"""Object metadata: timestamps, name rules, label and field selectors.

Label selectors reuse Orbit's parser (``orbit.api.selectors``): same syntax, same semantics.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from orbit.api import selectors
from orbit.simplane.kube import errors

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)
LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character"
)
# Kinds whose names must be DNS labels rather than subdomains, as in Kubernetes.
LABEL_NAMED = frozenset({"Namespace", "Service"})


def timestamp(epoch: float) -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes metav1.Time."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def name_problem(kind: str, name: str) -> str | None:
    """Why ``name`` is not a valid name for ``kind``; None if it is."""
    if kind in LABEL_NAMED:
        if len(name) > 63:
            return "must be no more than 63 characters"
        return None if _LABEL.match(name) else LABEL_RULE
    if len(name) > 253:
        return "must be no more than 253 characters"
    return None if _SUBDOMAIN.match(name) else SUBDOMAIN_RULE


def labels(obj: dict[str, Any]) -> dict[str, str]:
    found = (obj.get("metadata") or {}).get("labels") or {}
    return found if isinstance(found, dict) else {}


def label_selector(text: str | None) -> selectors.Selector:
    try:
        return selectors.parse(text)
    except ValueError as exc:
        raise errors.bad_request(f"unable to parse requirement: {exc}") from None


FieldTerm = tuple[str, bool, str]


def field_selector(text: str | None) -> list[FieldTerm]:
    """``metadata.name=x,metadata.namespace!=y`` as (field, equal, value) terms."""
    terms: list[FieldTerm] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = re.match(r"^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$", part)
        if match is None:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.groups()
        terms.append((field, op != "!=", value))
    return terms


def field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return "" if node is None else str(node)


def fields_match(obj: dict[str, Any], terms: list[FieldTerm]) -> bool:
    return all((field_value(obj, f) == v) == equal for f, equal, v in terms)
