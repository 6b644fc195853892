"""Applying what a repository wants to the store, and pruning what left it.

Every write goes through admission, exactly as a write through the API would, and a
Credential's secret values through the vault (sealed, never in the body). An object is
written only when it differs from what is stored (spec, labels, annotations, secret values),
so a sync of an unchanged tree writes nothing.

All or nothing: every change is first admitted in a dry run, against the store as the changes
before it in the apply order will leave it (:class:`~orbit.gitops.plan.PlannedView`: a
cluster whose template comes in the same commit is checked against that template). If
admission refuses any object, or one belongs to another repository, nothing is written and
each refusal is a problem at its file and line. Only a store that changes between the check
and the write (another writer) can still refuse a write half-way; the next pass redoes it.

Ownership is two labels (:func:`orbit.api.v1alpha1.owner_labels`). An object that exists
without them, or owned by a GitRepository that no longer exists, is adopted; one owned by
another existing GitRepository is a problem, not a tug of war. Labels come from git (plus the
owner labels); annotations from git, keeping Orbit's own ``gitops.orbit.k8or.io/`` ones.

A new object whose current state was written back to the repository before (a status file
with its uid: a rebuilt Orbit Plane, see docs/gitops.md) is created with that uid, which is
how providers know the infrastructure they built: the cluster is adopted, not created again.

Pruning deletes owned objects that are no longer wanted, in reverse apply order (clusters
before the templates and credentials they use); a deletion admission refuses (a template
still in use) waits for a later pass.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from orbit import errors
from orbit.admission import Admission
from orbit.api import selectors, v1alpha1
from orbit.gitops.desired import APPLY_ORDER, Desired
from orbit.gitops.plan import PlannedView
from orbit.gitops.tree import Problem
from orbit.security.secrets import SecretVault, credential_secret, write_credential
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.gitops")

_OWN_ANNOTATIONS = "gitops.orbit.k8or.io/"

#: The uid a new object should get to adopt what it names, if the repository recorded one.
AdoptUid = Callable[[v1alpha1.Resource], Awaitable[str | None]]


@dataclass
class Outcome:
    """What one apply (and prune) did."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    unchanged: int = 0
    pruned: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # will be done on a later pass
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.created)} created" if self.created else "",
            f"{len(self.updated)} updated" if self.updated else "",
            f"{len(self.pruned)} pruned" if self.pruned else "",
            f"{self.unchanged} unchanged" if self.unchanged else "",
        ]
        return ", ".join(p for p in parts if p) or "nothing to apply"


def label(obj: v1alpha1.Resource) -> str:
    where = f"{obj.metadata.namespace}/" if obj.metadata.namespace else ""
    return f"{obj.KIND} {where}{obj.metadata.name}"


class Applier:
    """Applies one repository's objects; see the module docstring."""

    def __init__(
        self, store: ResourceStore, *, admission: Admission, vault: SecretVault | None
    ) -> None:
        self._store = store
        self._admission = admission
        self._vault = vault

    async def apply(
        self, repo: v1alpha1.GitRepository, wanted: list[Desired], *, adopt_uid: AdoptUid
    ) -> Outcome:
        """Check every change first, then write them all; with a problem, write none."""
        out = Outcome()
        steps = await self._plan(repo, wanted, out)
        if out.problems:
            return out
        for step in steps:
            try:
                if step.current is None:
                    await self._create(step.item.obj, out, adopt_uid)
                else:
                    await self._update(step, out)
            except errors.Invalid as err:  # the store moved since the check: a later pass
                _refused(step.item, err, out)
            except (errors.Conflict, errors.NotFound, errors.AlreadyExists) as err:
                out.problems.append(step.item.doc.problem(err.message))
        return out

    async def _plan(
        self, repo: v1alpha1.GitRepository, wanted: list[Desired], out: Outcome
    ) -> list[_Step]:
        """The writes ``wanted`` needs, each admitted against the store as the earlier ones
        will have left it (a dry run); every refusal goes into ``out.problems``."""
        view = PlannedView(self._store)
        dry = self._admission.reading(view)
        steps: list[_Step] = []
        for item in wanted:
            try:
                step = await self._step(repo, item, out)
                if step is None:
                    continue
                await dry.admit(step.obj, step.current)
            except errors.Invalid as err:
                _refused(item, err, out)
                continue
            except (errors.Conflict, errors.NotFound, errors.AlreadyExists) as err:
                out.problems.append(item.doc.problem(err.message))
                continue
            view.plan(step.obj)
            steps.append(step)
        return steps

    async def _step(
        self, repo: v1alpha1.GitRepository, item: Desired, out: Outcome
    ) -> _Step | None:
        """What writing ``item`` takes: None when nothing (unchanged, or it must wait)."""
        obj = item.obj
        cls = type(obj)
        try:
            current = await self._store.get(cls, obj.metadata.namespace, obj.metadata.name)
        except errors.NotFound:
            return _Step(item, obj, None)
        if current.metadata.deletion_timestamp is not None:
            out.waiting.append(f"{label(obj)}: the previous object is still being deleted")
            return None
        owner = await self._other_owner(repo, current)
        if owner is not None:
            out.problems.append(
                item.doc.problem(f"{label(obj)} is managed by GitRepository {owner}")
            )
            return None
        merged = _merged(obj, current)
        if await self._same(merged, current):
            out.unchanged += 1
            return None
        return _Step(item, merged, current, adopted=not owned_by(current, repo))

    async def _update(self, step: _Step, out: Outcome) -> None:
        obj = step.item.obj
        log.info("Updating %s from git", label(obj), extra={"source": step.item.doc.source})
        await self._admission.admit(step.obj, step.current)
        await self._write(step.obj, step.current)
        (out.adopted if step.adopted else out.updated).append(label(obj))

    async def _create(self, obj: v1alpha1.Resource, out: Outcome, adopt_uid: AdoptUid) -> None:
        await self._admission.admit(obj, None)
        uid = await adopt_uid(obj)
        log.info("Creating %s from git%s", label(obj), f" (adopting uid {uid})" if uid else "")
        try:
            await self._write(obj, None, uid=uid)
        except errors.AlreadyExists:
            if uid is None:
                raise
            # The recorded uid belongs to another object here: this one is new after all.
            await self._write(obj, None)
            uid = None
        (out.adopted if uid else out.created).append(label(obj))

    async def _write(
        self, obj: v1alpha1.Resource, current: v1alpha1.Resource | None, *, uid: str | None = None
    ) -> None:
        if isinstance(obj, v1alpha1.Credential):
            assert current is None or isinstance(current, v1alpha1.Credential)
            await write_credential(self._store, self._vault, obj, old=current, uid=uid)
        elif current is None:
            await self._store.create(obj, uid=uid)
        else:
            await self._store.update(obj)

    async def _other_owner(
        self, repo: v1alpha1.GitRepository, obj: v1alpha1.Resource
    ) -> str | None:
        """``namespace/name`` of another GitRepository that owns ``obj`` and still exists."""
        labels = obj.metadata.labels
        name = labels.get(v1alpha1.LABEL_REPOSITORY)
        namespace = labels.get(v1alpha1.LABEL_REPOSITORY_NAMESPACE)
        if name is None or namespace is None or owned_by(obj, repo):
            return None
        try:
            await self._store.get(v1alpha1.GitRepository, namespace, name)
        except errors.NotFound:
            return None
        return f"{namespace}/{name}"

    async def _same(self, merged: v1alpha1.Resource, current: v1alpha1.Resource) -> bool:
        if (
            merged.metadata.labels != current.metadata.labels
            or merged.metadata.annotations != current.metadata.annotations
        ):
            return False
        if not isinstance(merged, v1alpha1.Credential):
            return _spec(merged) == _spec(current)
        assert isinstance(current, v1alpha1.Credential)
        ignore = {"secret_data", "secret_keys"}
        if merged.spec.model_dump(exclude=ignore) != current.spec.model_dump(exclude=ignore):
            return False
        held = await credential_secret(self._store, self._vault, current)
        return held == {k: v for k, v in (merged.spec.secret_data or {}).items() if v is not None}

    async def prune(
        self, repo: v1alpha1.GitRepository, keep: set[tuple[str, str, str]]
    ) -> tuple[list[str], list[str]]:
        """Delete owned objects not in ``keep``: (pruned, waiting)."""
        pruned: list[str] = []
        waiting: list[str] = []
        selector = selectors.parse(
            f"{v1alpha1.LABEL_REPOSITORY}={repo.metadata.name},"
            f"{v1alpha1.LABEL_REPOSITORY_NAMESPACE}={repo.metadata.namespace}"
        )
        scope = None if repo.manages_everywhere() else repo.metadata.namespace
        for cls in reversed(APPLY_ORDER):
            if not cls.NAMESPACED and scope is not None:
                continue
            found = await self._store.list(
                cls, scope if cls.NAMESPACED else None, selector=selector
            )
            for obj in found.items:
                if obj.key in keep or obj.metadata.deletion_timestamp is not None:
                    continue
                try:
                    await self._admission.admit_delete(obj)
                    log.info("Pruning %s: it left the repository", label(obj))
                    await self._store.delete(cls, obj.metadata.namespace, obj.metadata.name)
                    pruned.append(label(obj))
                except (errors.Conflict, errors.Invalid) as err:
                    waiting.append(f"{label(obj)}: {err.message}")
                except errors.NotFound:
                    continue
        return pruned, waiting


@dataclass
class _Step:
    """One write a sync makes: ``obj`` (the wanted object, or ``current`` with the wanted
    spec, labels and annotations) over ``current`` (None: a create)."""

    item: Desired
    obj: v1alpha1.Resource
    current: v1alpha1.Resource | None
    adopted: bool = False


def _refused(item: Desired, err: errors.Invalid, out: Outcome) -> None:
    """Each cause of an admission refusal, at the line of its field."""
    causes = err.causes or (errors.Cause("", err.message),)
    for cause in causes:
        text = f"{cause.field}: {cause.message}" if cause.field else cause.message
        out.problems.append(item.doc.problem(text, cause.field))


def owned_by(obj: v1alpha1.Resource, repo: v1alpha1.GitRepository) -> bool:
    """Whether ``obj`` carries ``repo``'s owner labels."""
    labels = obj.metadata.labels
    return labels.get(v1alpha1.LABEL_REPOSITORY) == repo.metadata.name and labels.get(
        v1alpha1.LABEL_REPOSITORY_NAMESPACE
    ) == (repo.metadata.namespace or "")


def _spec(obj: v1alpha1.Resource) -> object:
    spec = getattr(obj, "spec", None)
    return spec.model_dump() if spec is not None else None


def _merged(wanted: v1alpha1.Resource, current: v1alpha1.Resource) -> v1alpha1.Resource:
    """``current`` with the wanted spec, labels and annotations (see the module docstring)."""
    merged = wanted.model_copy(deep=True)
    kept = {
        k: v
        for k, v in current.metadata.annotations.items()
        if k.startswith(_OWN_ANNOTATIONS) and k not in wanted.metadata.annotations
    }
    merged.metadata = current.metadata.model_copy(
        update={
            "labels": dict(wanted.metadata.labels),
            "annotations": {**wanted.metadata.annotations, **kept},
        },
        deep=True,
    )
    if isinstance(merged, v1alpha1.Credential) and isinstance(current, v1alpha1.Credential):
        # The repository holds every value: one it no longer has is removed.
        data: dict[str, str | None] = dict(merged.spec.secret_data or {})
        for name in current.spec.secret_keys:
            data.setdefault(name, None)
        merged.spec.secret_data = data
    return merged
