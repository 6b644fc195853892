"""Field ownership: ``metadata.managedFields`` and server-side apply.

A simplified model of Kubernetes' structured-merge-diff: a field is a path of map keys to a
leaf, lists are atomic (owned and replaced whole) and an empty map is a leaf. Each manager owns
a set of paths, recorded in ``managedFields`` as FieldsV1 (``{"f:spec": {"f:replicas": {}}}``).

- An update (create, PUT, patch) gives its manager the fields it changed and takes them from
  every other manager, without conflicts, as Kubernetes does.
- An apply sets the fields of its configuration, removes the fields its manager applied last
  time and no longer applies (unless someone else owns them), and conflicts when it would change
  a field another manager owns, unless forced, which takes the field over.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str, ...]

# Identity and bookkeeping: nobody owns these.
_SKIP_TOP = frozenset({"apiVersion", "kind"})
_SKIP_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str
    fields: set[Path] = field(default_factory=set)
    subresource: str = ""

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def leaves(obj: dict[str, Any], *, with_status: bool) -> dict[Path, Any]:
    """Every owned leaf path of ``obj`` with its value."""
    result: dict[Path, Any] = {}
    for key, value in obj.items():
        if key in _SKIP_TOP or (key == "status" and not with_status):
            continue
        if key == "metadata" and isinstance(value, dict):
            meta = {k: v for k, v in value.items() if k not in _SKIP_META}
            _walk(meta, ("metadata",), result)
        else:
            _walk({key: value}, (), result)
    return result


def _walk(value: dict[str, Any], prefix: Path, out: dict[Path, Any]) -> None:
    for key, item in value.items():
        path = (*prefix, key)
        if isinstance(item, dict) and item:
            _walk(item, path, out)
        elif item is not None:
            out[path] = item


def encode(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return root


def decode(fields: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(fields, dict) or not fields:
        return {prefix} if prefix else set()
    result: set[Path] = set()
    for key, child in fields.items():
        if key.startswith("f:"):
            result |= decode(child, (*prefix, key[2:]))
        elif key == "." and prefix:
            result.add(prefix)
    return result


def read_entries(obj: dict[str, Any] | None) -> list[Entry]:
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    entries = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("manager"):
            continue
        entries.append(
            Entry(
                manager=str(item["manager"]),
                operation=str(item.get("operation", "Update")),
                api_version=str(item.get("apiVersion", "")),
                time=str(item.get("time", "")),
                fields=decode(item.get("fieldsV1")),
                subresource=str(item.get("subresource", "")),
            )
        )
    return entries


def write_entries(obj: dict[str, Any], entries: list[Entry]) -> None:
    kept = [e.to_dict() for e in entries if e.fields]
    meta = obj.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)


def _entry(entries: list[Entry], manager: str, operation: str, subresource: str) -> Entry | None:
    for e in entries:
        if (e.manager, e.operation, e.subresource) == (manager, operation, subresource):
            return e
    return None


def _overlaps(path: Path, paths: set[Path]) -> bool:
    if path in paths:
        return True
    return any(path[:i] in paths for i in range(1, len(path))) or any(
        p[: len(path)] == path for p in paths if len(p) > len(path)
    )


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    api_version: str,
    now: str,
    with_status: bool,
    subresource: str = "",
) -> None:
    """Record in ``new`` that ``manager`` changed what differs from ``old`` (None: created).

    ``with_status``: the type has no status subresource, so ``status`` is an ordinary field.
    """
    entries = read_entries(old)
    status_only = subresource == "status"
    before = leaves(old or {}, with_status=with_status or status_only)
    after = leaves(new, with_status=with_status or status_only)
    if status_only:
        before = {p: v for p, v in before.items() if p[0] == "status"}
        after = {p: v for p, v in after.items() if p[0] == "status"}
    changed = {p for p, v in after.items() if p not in before or before[p] != v}
    for entry in entries:
        entry.fields = {p for p in entry.fields if not _stale(p, after, changed, status_only)}
    if changed:
        mine = _entry(entries, manager, "Update", subresource)
        if mine is None:
            mine = Entry(manager, "Update", api_version, now, subresource=subresource)
            entries.append(mine)
        mine.fields |= changed
        mine.time, mine.api_version = now, api_version
    write_entries(new, entries)


def _stale(path: Path, after: dict[Path, Any], changed: set[Path], status_only: bool) -> bool:
    if status_only and path[0] != "status":
        return False
    if path in changed:
        return True
    return path not in after and not any(p[: len(path)] == path for p in after)


@dataclass
class ApplyResult:
    obj: dict[str, Any]
    conflicts: list[tuple[str, str, str]]


def apply(
    live: dict[str, Any] | None,
    config: dict[str, Any],
    *,
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    with_status: bool,
) -> ApplyResult:
    """Server-side apply of ``config`` by ``manager`` over ``live`` (None: create)."""
    config = _drop_nulls(config)
    if not with_status:
        config.pop("status", None)
    applied = set(leaves(config, with_status=with_status))
    entries = read_entries(live)
    mine = _entry(entries, manager, "Apply", "")
    previous = mine.fields if mine is not None else set()
    others = [e for e in entries if e is not mine and not e.subresource]

    result = copy.deepcopy(live) if live is not None else {}
    owned_by_others = set().union(*(e.fields for e in others)) if others else set()
    for path in sorted(previous - applied, key=len, reverse=True):
        deeper = any(p[: len(path)] == path for p in applied if len(p) > len(path))
        if path not in owned_by_others and not deeper:
            _remove(result, path)
    _merge(result, config)

    conflicts: list[tuple[str, str, str]] = []
    for entry in others:
        for path in sorted(entry.fields):
            if not _overlaps(path, applied):
                continue
            if _value(live or {}, path) == _value(result, path):
                continue  # same value: the field becomes shared, as Kubernetes does
            if force:
                entry.fields.discard(path)
            else:
                conflicts.append(("." + ".".join(path), entry.manager, entry.api_version))
    if conflicts:
        return ApplyResult(result, conflicts)

    if mine is None:
        mine = Entry(manager, "Apply", api_version, now)
        entries.append(mine)
    mine.fields, mine.time, mine.api_version = applied, now, api_version
    write_entries(result, entries)
    return ApplyResult(result, [])


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


_MISSING = object()


def _value(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _remove(obj: dict[str, Any], path: Path) -> None:
    parents: list[tuple[dict[str, Any], str]] = []
    node: Any = obj
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        parents.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(parents):
        if parent[key] == {} and key != "metadata":
            del parent[key]
        else:
            break


def _merge(target: dict[str, Any], config: dict[str, Any]) -> None:
    for key, value in config.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
