"""The delivery engine: apply a service's manifests to a cluster, prune, watch health and drift.

Used by the ServiceSet controller only. Every object it applies carries two labels,
``orbit.k8or.io/serviceset`` and ``orbit.k8or.io/service``, and is applied server-side under
the field manager ``orbit-<serviceset name>``. Nothing without those labels (naming our set) is
ever pruned or removed: the labels are how the engine tells its own objects from a person's.

- :func:`deliver` ensures the target namespaces exist, applies every manifest (definitions and
  namespaces first), prunes what the previous inventory had and the new one lacks, and judges
  health from what the cluster answered.
- :func:`observe` re-reads the inventory's objects: their health and, given the manifests that
  were applied, their drift (deleted, or fields we set changed by hand).
- :func:`remove` deletes exactly the objects of an inventory.

A namespace the engine creates because a manifest needs it is not part of any inventory, so it
is never pruned or removed (other people's objects may live there); a ``Namespace`` manifest
of the service is, like any other object.

Errors are :class:`~orbit.delivery.kubeclient.DeliveryError`; an apply that fails part way
raises :class:`ApplyError`, which also carries the inventory of what did get applied, so a
later prune still finds it.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from orbit.api import v1alpha1
from orbit.delivery import health as health_
from orbit.delivery import inventory as inv
from orbit.delivery.kubeclient import DeliveryError, KubeClient

log = logging.getLogger("orbit.delivery")

LABEL_SERVICESET = "orbit.k8or.io/serviceset"
LABEL_SERVICE = "orbit.k8or.io/service"

_MAX_LABEL = 63
_MAX_PATHS = 3

__all__ = [
    "LABEL_SERVICE",
    "LABEL_SERVICESET",
    "ApplyError",
    "DeliveryError",
    "DeliveryResult",
    "Drift",
    "Observation",
    "deliver",
    "detect_drift",
    "differences",
    "field_manager",
    "label_value",
    "observe",
    "prepare",
    "remove",
]


@dataclass(frozen=True)
class DeliveryResult:
    """What :func:`deliver` did: the new inventory, what it applied and pruned, and health."""

    inventory: list[v1alpha1.InventoryItem]
    applied: list[v1alpha1.InventoryItem]
    pruned: list[v1alpha1.InventoryItem]
    healthy: bool
    reason: str
    message: str


@dataclass(frozen=True)
class Drift:
    """An object that no longer is what we applied: ``missing``, or ``changed`` (``detail``
    names the fields)."""

    item: v1alpha1.InventoryItem
    kind: Literal["missing", "changed"]
    detail: str = ""

    def describe(self) -> str:
        what = inv.describe(self.item)
        if self.kind == "missing":
            return f"{what} (deleted)"
        return f"{what} ({self.detail})" if self.detail else f"{what} (changed)"


@dataclass(frozen=True)
class Observation:
    """What :func:`observe` saw: the health of the inventory's objects, and any drift."""

    health: health_.Health
    drift: list[Drift] = field(default_factory=list)


class ApplyError(DeliveryError):
    """Applying one object failed; ``inventory`` is the previous inventory plus what was applied
    before the failure (keep it, so a later prune can find those objects)."""

    def __init__(self, cause: DeliveryError, *, inventory: list[v1alpha1.InventoryItem]):
        super().__init__(cause.reason, cause.message, code=cause.code, transient=cause.transient)
        self.inventory = inventory


def field_manager(set_name: str) -> str:
    return f"orbit-{set_name}"


def label_value(name: str) -> str:
    """``name`` as a label value: itself when short enough, else a prefix and a hash."""
    if len(name) <= _MAX_LABEL:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: _MAX_LABEL - 11].rstrip('-.')}-{digest}"


def _ours(obj: Mapping[str, Any] | None, *, set_name: str, service: str | None = None) -> bool:
    if obj is None:
        return False
    labels = (obj.get("metadata") or {}).get("labels") or {}
    if labels.get(LABEL_SERVICESET) != label_value(set_name):
        return False
    return service is None or labels.get(LABEL_SERVICE) == service


async def prepare(
    client: KubeClient,
    manifests: Iterable[Mapping[str, Any]],
    *,
    set_name: str,
    service: v1alpha1.Service,
) -> list[dict[str, Any]]:
    """The manifests as they will be applied: our labels added, ``status`` dropped, the
    service's namespace set on namespaced objects that lack one and cleared on cluster-scoped
    ones. Invalid (BadRequest) for a manifest without apiVersion, kind or name, or twice the
    same object."""
    out: list[dict[str, Any]] = []
    seen: set[inv.Identity] = set()
    for index, original in enumerate(manifests):
        manifest = copy.deepcopy(dict(original))
        manifest.pop("status", None)
        meta = manifest.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise DeliveryError("Invalid", f"manifest {index + 1} has no metadata.name")
        if not manifest.get("apiVersion") or not manifest.get("kind"):
            raise DeliveryError(
                "Invalid", f"manifest {index + 1} ({meta['name']}) lacks apiVersion or kind"
            )
        cls = await client.resource(str(manifest["apiVersion"]), str(manifest["kind"]))
        if client.is_namespaced(cls):
            meta["namespace"] = meta.get("namespace") or service.namespace
        else:
            meta.pop("namespace", None)
        labels = meta.get("labels") or {}
        meta["labels"] = {
            **labels,
            LABEL_SERVICESET: label_value(set_name),
            LABEL_SERVICE: service.name,
        }
        ident = inv.manifest_identity(manifest)
        if ident in seen:
            raise DeliveryError(
                "Invalid", f"{inv.describe(inv.item_for(manifest))} appears twice in the service"
            )
        seen.add(ident)
        out.append(manifest)
    return out


async def _ensure_namespaces(
    client: KubeClient, manifests: Sequence[Mapping[str, Any]], *, set_name: str
) -> None:
    """Create (apply) each namespace the manifests use that neither exists nor is one of them."""
    declared = {
        m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace" and m["apiVersion"]
    }
    wanted = sorted(
        {m["metadata"]["namespace"] for m in manifests if m["metadata"].get("namespace")} - declared
    )
    for name in wanted:
        if await client.get("v1", "Namespace", name) is not None:
            continue
        log.info("Creating namespace %s for set %s", name, set_name)
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        await client.apply(namespace, field_manager=field_manager(set_name))


def _merge(
    previous: Iterable[v1alpha1.InventoryItem], added: Iterable[v1alpha1.InventoryItem]
) -> list[v1alpha1.InventoryItem]:
    by_id = {inv.identity(i): i for i in previous}
    by_id.update((inv.identity(i), i) for i in added)
    return sorted(by_id.values(), key=inv.identity)


async def deliver(
    client: KubeClient,
    *,
    set_name: str,
    service: v1alpha1.Service,
    manifests: list[dict[str, Any]],
    previous: list[v1alpha1.InventoryItem],
    force: bool = False,
) -> DeliveryResult:
    """Apply ``manifests`` as ``service`` of set ``set_name``, prune what ``previous`` had and
    they lack, and judge health; see the module docstring."""
    prepared = await prepare(client, manifests, set_name=set_name, service=service)
    await _ensure_namespaces(client, prepared, set_name=set_name)
    manager = field_manager(set_name)
    applied: list[v1alpha1.InventoryItem] = []
    verdicts: list[tuple[str, health_.Health]] = []
    for manifest in inv.in_apply_order(prepared):
        item = inv.item_for(manifest)
        log.debug("Applying %s for %s/%s", inv.describe(item), set_name, service.name)
        try:
            live = await client.apply(manifest, field_manager=manager, force=force)
        except DeliveryError as err:
            failed = DeliveryError(
                err.reason,
                f"{inv.describe(item)}: {err.message}",
                code=err.code,
                transient=err.transient,
            )
            raise ApplyError(failed, inventory=_merge(previous, applied)) from err
        applied.append(item)
        verdicts.append((inv.describe(item), health_.evaluate(live)))
    new_inventory = inv.build(prepared)
    pruned = await _prune(
        client, inv.to_prune(previous, new_inventory), set_name=set_name, service=service.name
    )
    verdict = health_.summarize(verdicts)
    return DeliveryResult(
        inventory=new_inventory,
        applied=applied,
        pruned=pruned,
        healthy=verdict.healthy,
        reason=verdict.reason,
        message=verdict.message,
    )


async def _prune(
    client: KubeClient,
    items: Iterable[v1alpha1.InventoryItem],
    *,
    set_name: str,
    service: str,
) -> list[v1alpha1.InventoryItem]:
    pruned = []
    for item in items:
        live = await client.get(item.api_version, item.kind, item.name, item.namespace)
        if not _ours(live, set_name=set_name, service=service):
            log.info("Not pruning %s: it is gone or not ours any more", inv.describe(item))
            continue
        log.info("Pruning %s of %s/%s", inv.describe(item), set_name, service)
        if await client.delete(item.api_version, item.kind, item.name, item.namespace):
            pruned.append(item)
    return pruned


async def observe(
    client: KubeClient,
    inventory: Sequence[v1alpha1.InventoryItem],
    *,
    applied: Sequence[Mapping[str, Any]] | None = None,
) -> Observation:
    """Re-read every object of ``inventory``: health always; drift too when ``applied`` (the
    manifests as :func:`prepare` made them for that inventory) is given. A missing object is
    unhealthy (reason ``ObjectsMissing``) and, with ``applied``, drift."""
    by_id = {inv.manifest_identity(m): m for m in applied or ()}
    verdicts: list[tuple[str, health_.Health]] = []
    drift: list[Drift] = []
    for item in inventory:
        live = await client.get(item.api_version, item.kind, item.name, item.namespace)
        what = inv.describe(item)
        if live is None:
            verdicts.append((what, health_.Health(False, "ObjectsMissing", "deleted")))
            if applied is not None:
                drift.append(Drift(item, "missing"))
            continue
        verdicts.append((what, health_.evaluate(live)))
        manifest = by_id.get(inv.identity(item))
        if manifest is None:
            continue
        paths = differences(inv.hashable(manifest), live)
        if paths:
            shown = ", ".join(paths[:_MAX_PATHS]) + (", ..." if len(paths) > _MAX_PATHS else "")
            drift.append(Drift(item, "changed", shown))
    return Observation(health=health_.summarize(verdicts), drift=drift)


async def detect_drift(
    client: KubeClient,
    inventory: Sequence[v1alpha1.InventoryItem],
    *,
    applied: Sequence[Mapping[str, Any]],
) -> list[Drift]:
    """The objects of ``inventory`` that were deleted, or whose fields we set differ from
    ``applied`` (the prepared manifests of that inventory)."""
    return (await observe(client, inventory, applied=applied)).drift


def differences(want: Any, have: Any, path: str = "") -> list[str]:
    """The paths where ``have`` (a live object) lacks or contradicts ``want`` (what we applied).
    Fields the server or others added are not differences; list elements are matched in
    order when the lengths agree, else each wanted element must match some live one (lists
    merged by key keep the elements of other managers)."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return [path or "."]
        out: list[str] = []
        for key, value in want.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in have:
                if value not in (None, {}, [], ""):
                    out.append(sub)
                continue
            out.extend(differences(value, have[key], sub))
        return out
    if isinstance(want, list):
        if not isinstance(have, list):
            return [path]
        if len(want) == len(have):
            return [
                p
                for i, (w, h) in enumerate(zip(want, have, strict=True))
                for p in differences(w, h, f"{path}[{i}]")
            ]
        missing = [w for w in want if not any(not differences(w, h) for h in have)]
        return [path] if missing else []
    if want is None or want == have:
        return []
    # The API server normalises some scalars ("1" for 1); the same text is the same value.
    if not isinstance(want, bool) and not isinstance(have, bool) and str(want) == str(have):
        return []
    return [path]


async def remove(
    client: KubeClient,
    *,
    set_name: str,
    inventory: Sequence[v1alpha1.InventoryItem],
) -> list[v1alpha1.InventoryItem]:
    """Delete exactly the objects of ``inventory`` that still carry our set's label (404 is
    fine); returns those still present (being deleted, e.g. held by finalizers)."""
    remaining = []
    for item in sorted(inventory, key=lambda i: (-inv.apply_rank(i.kind), inv.identity(i))):
        live = await client.get(item.api_version, item.kind, item.name, item.namespace)
        if not _ours(live, set_name=set_name):
            continue
        log.info("Removing %s of set %s", inv.describe(item), set_name)
        await client.delete(item.api_version, item.kind, item.name, item.namespace)
        after = await client.get(item.api_version, item.kind, item.name, item.namespace)
        if _ours(after, set_name=set_name):
            remaining.append(item)
    return remaining
