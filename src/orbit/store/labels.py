"""Label selectors pushed down to SQL.

Bodies are stored as JSON text, so a selector could only be applied after decoding every object
of a kind; with thousands of objects per namespace (a ServiceSet per cluster and owner) that
made each label-selected list cost a full decode. The requirements that SQL can check on the
JSON (``=``, ``in``, ``exists`` and their negations) narrow the rows in the database; the
selector is still applied in Python afterwards, so this is only ever a prefilter.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from orbit.api import selectors


def _label(body: sa.ColumnElement[str], key: str, *, sqlite: bool) -> sa.ColumnElement[str]:
    if sqlite:
        # Label keys may hold '.' and '/': quote the member name in the JSON path.
        return sa.func.json_extract(body, f'$.metadata.labels."{key}"')
    return sa.func.jsonb_extract_path_text(sa.cast(body, JSONB), "metadata", "labels", key)


def prefilter(
    body: sa.ColumnElement[str], selector: selectors.Selector, *, sqlite: bool
) -> list[sa.ColumnElement[bool]]:
    """SQL conditions implied by ``selector`` (rows they keep may still fail it)."""
    conditions: list[sa.ColumnElement[bool]] = []
    for req in selector.requirements:
        value = _label(body, req.key, sqlite=sqlite)
        if req.operator in ("=", "in"):
            conditions.append(value.in_(sorted(req.values)))
        elif req.operator == "exists":
            conditions.append(value.is_not(None))
        elif req.operator == "!exists":
            conditions.append(value.is_(None))
        else:  # != and notin also match objects without the label
            conditions.append(sa.or_(value.is_(None), value.not_in(sorted(req.values))))
    return conditions
