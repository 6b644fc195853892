"""The GitRepository reconciler: fetch, apply, prune, write the current state back.

A pass, level-based like every other:

1. Get the GitRepository (gone or deleting: nothing to do; what it owned stays, see
   :mod:`orbit.api.v1alpha1.gitrepository`). Suspended: say so and stop.
2. **Sync** when one is due (the interval passed, the spec changed, or the sync hook set the
   ``requested-at`` annotation): fetch the branch into the working copy
   (``<data_dir>/gitops/<uid>``), read the tree, and either report every problem with its file
   and line and change nothing (``Ready=False``, ``ParseFailed``, or ``ApplyFailed`` for what
   admission refuses in the dry run), or apply it and prune (:mod:`orbit.gitops.apply`). The
   commit applied and the inventory go into the status. A sync request (the annotation) is
   handled by the attempt it causes, whatever comes of it.
3. **Write back** the current state of what the repository owns
   (:mod:`orbit.gitops.status`) when it differs from what the branch holds, at most once every
   ``gitops.write_interval`` seconds: commit, push, and on a concurrent push redo the commit
   on top of it (:meth:`orbit.gitrepo.WorkingCopy.commit_and_push`). A file at a status path
   that Orbit did not write (its ``writtenBy`` names no GitRepository, or another that
   exists) is left as it is, and named in ``WrittenBack=False FileKept``.

Owned objects wake their repository when they change, so their new state reaches git within
seconds, not at the next interval. Git failures are conditions with git's own reason (a
host key that does not match, a refused key), retried at the interval; transient ones sooner.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from orbit import errors, gitrepo
from orbit.admission import Admission
from orbit.api import v1alpha1
from orbit.gitops import credentials, status, tree
from orbit.gitops.apply import Applier, Outcome, owned_by
from orbit.gitops.desired import APPLY_ORDER, Decrypt, desired_objects
from orbit.runtime.reconcile import Request, Result, Watch
from orbit.security.secrets import SecretVault
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.gitops")

KIND = v1alpha1.GitRepository.KIND
_MAX_LISTED = 20
_TRANSIENT_RETRY = 15.0


@dataclass
class _Memory:
    """What this process remembers of a repository between passes (never trusted for state,
    only for pacing): when it last compared the owned objects with the branch."""

    last_look: float = float("-inf")


@dataclass
class _Pass:
    repo: v1alpha1.GitRepository
    status: v1alpha1.GitRepositoryStatus
    requeue: list[float] = field(default_factory=list)


def owner_request(obj: v1alpha1.Resource) -> list[Request]:
    """The GitRepository that owns ``obj`` (by its labels), to wake on its changes."""
    labels = obj.metadata.labels
    name = labels.get(v1alpha1.LABEL_REPOSITORY)
    namespace = labels.get(v1alpha1.LABEL_REPOSITORY_NAMESPACE)
    return [Request(KIND, namespace, name)] if name and namespace is not None else []


class GitRepositoryReconciler:
    """Reconciles GitRepositories; see the module docstring."""

    def __init__(
        self,
        store: ResourceStore,
        *,
        admission: Admission,
        vault: SecretVault | None,
        decrypt: Decrypt,
        workdir: Path,
        write_interval: float = 5.0,
        git_timeout: float = 120.0,
    ) -> None:
        self._store = store
        self._applier = Applier(store, admission=admission, vault=vault)
        self._vault = vault
        self._decrypt = decrypt
        self._workdir = workdir
        self._write_interval = write_interval
        self._git_timeout = git_timeout
        self._memory: dict[tuple[str, str], _Memory] = {}

    def watches(self) -> list[Watch]:
        """Every kind a repository may own wakes it when an object it owns changes."""
        return [Watch(cls, owner_request) for cls in APPLY_ORDER if cls.HAS_STATUS]

    def _copy(self, repo: v1alpha1.GitRepository) -> gitrepo.WorkingCopy:
        return gitrepo.WorkingCopy(
            self._workdir / (repo.metadata.uid or repo.metadata.name), timeout=self._git_timeout
        )

    async def reconcile(self, request: Request) -> Result:
        try:
            repo = await self._store.get(v1alpha1.GitRepository, request.namespace, request.name)
        except errors.NotFound:
            self._memory.pop((request.namespace, request.name), None)
            return Result()
        if repo.metadata.deletion_timestamp is not None:
            return Result()
        p = _Pass(repo, (repo.status or v1alpha1.GitRepositoryStatus()).model_copy(deep=True))
        try:
            if repo.spec.suspend:
                _ready(p, "False", v1alpha1.gitrepository.REASON_SUSPENDED, "suspended")
                return Result()
            await self._run(p)
        finally:
            await self._save(p)
        return Result(requeue_after=min(p.requeue) if p.requeue else repo.spec.interval_seconds())

    async def _run(self, p: _Pass) -> None:
        repo = p.repo
        interval = repo.spec.interval_seconds()
        copy = self._copy(repo)
        auth: gitrepo.Auth | None = None
        synced = False
        due = _sync_due(repo, p.status, interval)
        if due <= 0:
            # The request is handled by this attempt, whatever comes of it (`orbit gitops sync
            # --wait` then reports a fetch or credential failure instead of waiting on).
            p.status.last_handled_request = repo.metadata.annotations.get(
                v1alpha1.ANNOTATION_REQUESTED
            )
            auth = await self._auth(p)
            if auth is None:
                p.requeue.append(interval)
                return
            try:
                await self._sync(p, copy, auth)
            except gitrepo.GitError as err:
                transient = isinstance(err, gitrepo.TransientGitError)
                _ready(p, "False", v1alpha1.gitrepository.REASON_FETCH_FAILED, err.message)
                p.requeue.append(min(interval, _TRANSIENT_RETRY) if transient else interval)
                return
            synced = True
            p.requeue.append(interval)
        else:
            p.requeue.append(due)
        if not repo.spec.write_back.enabled:
            _written(p, "False", v1alpha1.gitrepository.REASON_DISABLED, "write-back is off")
            return
        if overlap := v1alpha1.gitrepository.write_back_overlap(repo.spec):
            # Admission refuses this; a GitRepository stored before that rule gets here.
            _written(p, "False", v1alpha1.gitrepository.REASON_DISABLED, overlap)
            return
        memory = self._memory.setdefault(_key(repo), _Memory())
        # A look at every owned object costs a read each: at most one per write interval
        # (many objects changing at once wake the repository many times).
        wait = memory.last_look + self._write_interval - time.monotonic()
        if wait > 0 and not synced:
            p.requeue.append(wait)
            return
        memory.last_look = time.monotonic()
        await self._write_back(p, copy, auth)

    async def _auth(self, p: _Pass) -> gitrepo.Auth | None:
        """The repository's git auth; None (and the condition says why) when unusable."""
        try:
            return await credentials.auth_for(self._store, self._vault, p.repo)
        except credentials.CredentialProblem as err:
            _ready(p, "False", v1alpha1.gitrepository.REASON_CREDENTIAL_INVALID, str(err))
            return None

    async def _sync(self, p: _Pass, copy: gitrepo.WorkingCopy, auth: gitrepo.Auth) -> None:
        """Fetch and apply (nothing, when the tree has problems: they are the condition)."""
        repo = p.repo
        sha = await copy.sync(repo.spec.url, branch=repo.spec.branch, auth=auth)
        p.status.last_sync_time = v1alpha1.now()
        p.status.observed_generation = repo.metadata.generation
        root = copy.path
        skip = [repo.spec.write_back.path]
        files = tree.files_under(root, repo.spec.path, skip=skip)
        documents, problems = tree.read_documents(root, files)
        wanted, invalid = desired_objects(repo, documents, decrypt=self._decrypt)
        problems += invalid
        short = sha[:12]
        if problems:
            _ready(
                p,
                "False",
                v1alpha1.gitrepository.REASON_PARSE_FAILED,
                f"commit {short}: {_listed(problems)}; nothing was applied",
            )
            return

        async def adopt_uid(obj: v1alpha1.Resource) -> str | None:
            return await _recorded_uid(copy, repo, obj)

        outcome = await self._applier.apply(repo, wanted, adopt_uid=adopt_uid)
        if repo.spec.prune and not outcome.problems:
            keep = {d.key for d in wanted}
            outcome.pruned, waiting = await self._applier.prune(repo, keep)
            outcome.waiting += waiting
        p.status.last_synced_commit = sha
        p.status.inventory = [
            v1alpha1.ManagedObject(
                kind=d.obj.KIND,
                namespace=d.obj.metadata.namespace,
                name=d.obj.metadata.name,
                source=d.doc.source,
            )
            for d in wanted
        ]
        _report(p, outcome, short)

    async def _write_back(
        self, p: _Pass, copy: gitrepo.WorkingCopy, auth: gitrepo.Auth | None
    ) -> None:
        repo = p.repo
        if not copy.path.exists():
            return  # never fetched yet: the next sync clones it
        changes, kept = await self._status_changes(p, copy)
        if not changes:
            if kept:
                _kept(p, kept, "")
            elif p.status.last_written_commit is None or _condition_reason(
                p.status, v1alpha1.gitrepository.CONDITION_WRITTEN_BACK
            ) == (v1alpha1.gitrepository.REASON_FILE_KEPT):
                _written(p, "True", v1alpha1.gitrepository.REASON_PUSHED, "up to date")
            return
        auth = auth or await self._auth(p)
        if auth is None:
            return
        wb = repo.spec.write_back
        message = status.commit_message(changes, repository=_repository_key(repo))
        try:
            sha = await copy.commit_and_push(
                {c.path: c.content for c in changes},
                message=message,
                author_name=wb.author_name,
                author_email=wb.author_email,
                branch=repo.spec.branch,
                auth=auth,
            )
        except gitrepo.GitError as err:
            _written(p, "False", v1alpha1.gitrepository.REASON_PUSH_FAILED, err.message)
            p.requeue.append(_TRANSIENT_RETRY)
            return
        if sha is not None:
            log.info(
                "Pushed the current state of %d objects of GitRepository %s as %s",
                len(changes),
                _repository_key(repo),
                sha[:12],
            )
            p.status.last_written_commit = sha
            p.status.last_write_time = v1alpha1.now()
        what = changes[0].summary if len(changes) == 1 else f"{len(changes)} objects"
        if kept:
            _kept(p, kept, f"pushed {what}; ")
            return
        _written(p, "True", v1alpha1.gitrepository.REASON_PUSHED, f"pushed {what}")

    async def _status_changes(
        self, p: _Pass, copy: gitrepo.WorkingCopy
    ) -> tuple[list[status.Change], list[str]]:
        """Status files that differ from the branch: owned objects' new states, and the
        files of objects that left the inventory (and the store); and the files kept as they
        are because Orbit did not write them (one line each, naming the file)."""
        repo = p.repo
        base = repo.spec.write_back.path
        changes: list[status.Change] = []
        kept: list[str] = []
        written: set[str] = set()
        services = await self._services(repo, p.status.inventory)
        for item in p.status.inventory:
            cls = v1alpha1.kind_for(item.kind)
            try:
                obj = await self._store.get(cls, item.namespace, item.name)
            except errors.NotFound:
                continue
            if not owned_by(obj, repo):
                continue  # not applied (a refused sync) or another repository's: not ours
            path = status.status_path(base, item.kind, item.namespace, item.name)
            written.add(path)
            if (refusal := await self._not_ours(repo, copy, path)) is not None:
                log.warning("GitRepository %s: %s", _repository_key(repo), refusal)
                kept.append(refusal)
                continue
            doc = status.status_document(
                obj,
                repository=_repository_key(repo),
                source=item.source,
                services=services.get((item.namespace, item.name), []),
            )
            content = status.render(doc)
            if _on_disk(copy.path, path) != content:
                key = f"{item.namespace}/{item.name}" if item.namespace else item.name
                changes.append(
                    status.Change(path, content, status.describe(doc, kind=item.kind, key=key))
                )
        me = _repository_key(repo)
        for path in _status_files(copy.path, base):
            if path in written:
                continue
            recorded = status.read_recorded(_on_disk(copy.path, path) or b"")
            if recorded is not None and recorded.repository == me:
                changes.append(status.Change(path, None, f"{_describe_path(base, path)} is gone"))
        return changes, kept

    async def _not_ours(
        self, repo: v1alpha1.GitRepository, copy: gitrepo.WorkingCopy, path: str
    ) -> str | None:
        """Why the file at ``path`` must be left as it is, or None when Orbit may write it:
        absent, or a status file whose ``writtenBy`` names this repository or one that no
        longer exists (whose objects this one adopts, as on a rebuilt Orbit Plane)."""
        held = _on_disk(copy.path, path)
        if held is None:
            return None
        recorded = status.read_recorded(held)
        writer = recorded.repository if recorded is not None else None
        if writer is None:
            return f"{path} was not written by Orbit (it has no writtenBy): it is left as it is"
        if writer == _repository_key(repo):
            return None
        namespace, _, name = writer.partition("/")
        try:
            await self._store.get(v1alpha1.GitRepository, namespace, name)
        except errors.NotFound:
            return None
        return f"{path} is written by GitRepository {writer}: it is left as it is"

    async def _services(
        self, repo: v1alpha1.GitRepository, inventory: Iterable[v1alpha1.ManagedObject]
    ) -> dict[tuple[str | None, str], list[v1alpha1.ServiceStatus]]:
        """The services of each owned cluster, from its ServiceSets."""
        found: dict[tuple[str | None, str], list[v1alpha1.ServiceStatus]] = {}
        namespaces = {i.namespace for i in inventory if i.kind == "ClusterDeployment"}
        for namespace in sorted(n for n in namespaces if n):
            sets = await self._store.list(v1alpha1.ServiceSet, namespace)
            for s in sets.items:
                cluster = s.metadata.labels.get(v1alpha1.LABEL_CLUSTER)
                if cluster and s.status is not None:
                    found.setdefault((namespace, cluster), []).extend(s.status.services)
        return found

    async def _save(self, p: _Pass) -> None:
        if p.status == p.repo.status:
            return
        fresh = p.repo.model_copy(update={"status": p.status})
        fresh.metadata.resource_version = None
        with contextlib.suppress(errors.NotFound):
            await self._store.update_status(fresh)


def _sync_due(
    repo: v1alpha1.GitRepository, s: v1alpha1.GitRepositoryStatus, interval: float
) -> float:
    """Seconds until a sync is due (0 or less: now)."""
    requested = repo.metadata.annotations.get(v1alpha1.ANNOTATION_REQUESTED)
    if (
        s.last_sync_time is None
        or s.observed_generation != repo.metadata.generation
        or (requested is not None and requested != s.last_handled_request)
        or _condition_reason(s, v1alpha1.gitrepository.CONDITION_READY)
        in (
            v1alpha1.gitrepository.REASON_FETCH_FAILED,
            v1alpha1.gitrepository.REASON_CREDENTIAL_INVALID,
        )
    ):
        return 0.0
    elapsed = (v1alpha1.now() - s.last_sync_time).total_seconds()
    return interval - elapsed


def _condition_reason(s: v1alpha1.GitRepositoryStatus, type_: str) -> str | None:
    found = v1alpha1.get_condition(s.conditions, type_)
    return found.reason if found else None


def _listed(problems: list[tree.Problem]) -> str:
    shown = "; ".join(str(x) for x in problems[:_MAX_LISTED])
    more = len(problems) - _MAX_LISTED
    return f"{shown}; and {more} more" if more > 0 else shown


def _report(p: _Pass, outcome: Outcome, short: str) -> None:
    if outcome.problems:
        # Normally nothing was written: every change is checked before any is (apply.py); only
        # a store that changed between the check and the write refuses half-way.
        written = outcome.created or outcome.updated or outcome.adopted
        after = f"applied: {outcome.summary()}" if written else "nothing was applied"
        _ready(
            p,
            "False",
            v1alpha1.gitrepository.REASON_APPLY_FAILED,
            f"commit {short}: refused: {_listed(outcome.problems)}; {after}",
        )
        return
    message = f"applied commit {short}: {outcome.summary()}"
    if outcome.adopted:
        message += f"; adopted {len(outcome.adopted)}"
    if outcome.waiting:
        message += "; waiting: " + "; ".join(outcome.waiting[:_MAX_LISTED])
    _ready(p, "True", v1alpha1.gitrepository.REASON_SYNCED, message)


def _set(p: _Pass, type_: str, state: str, reason: str, message: str) -> None:
    assert state in ("True", "False", "Unknown")
    p.status.conditions = v1alpha1.set_condition(
        p.status.conditions,
        v1alpha1.Condition(
            type=type_,
            status=state,
            reason=reason,
            message=message,
            observed_generation=p.repo.metadata.generation,
        ),
    )


def _ready(p: _Pass, state: str, reason: str, message: str) -> None:
    _set(p, v1alpha1.gitrepository.CONDITION_READY, state, reason, message)


def _written(p: _Pass, state: str, reason: str, message: str) -> None:
    _set(p, v1alpha1.gitrepository.CONDITION_WRITTEN_BACK, state, reason, message)


def _kept(p: _Pass, kept: list[str], done: str) -> None:
    """``WrittenBack=False``: files at status paths that Orbit did not write, left alone."""
    shown = "; ".join(kept[:_MAX_LISTED])
    more = f"; and {len(kept) - _MAX_LISTED} more" if len(kept) > _MAX_LISTED else ""
    then = (
        "move or remove it for Orbit to record that object's state"
        if len(kept) == 1
        else "move or remove them for Orbit to record those objects' states"
    )
    _written(p, "False", v1alpha1.gitrepository.REASON_FILE_KEPT, f"{done}{shown}{more}; {then}")


def _on_disk(root: Path, path: str) -> bytes | None:
    try:
        return (root / path).read_bytes()
    except OSError:
        return None


def _status_files(root: Path, base: str) -> list[str]:
    """Status files in the work tree: ``<base>/<namespace>/<kind>/<name>.yaml``."""
    top = root / base
    if not top.is_dir():
        return []
    return sorted(str(f.relative_to(root)) for f in top.glob("*/*/*.yaml") if f.is_file())


def _parse_status_path(
    base: str, path: str
) -> tuple[type[v1alpha1.Resource], str | None, str] | None:
    parts = path[len(base) + 1 :].split("/")
    if len(parts) != 3 or not parts[2].endswith(".yaml"):
        return None
    namespace, kind, name = parts[0], parts[1], parts[2][: -len(".yaml")]
    cls = v1alpha1.resolve_kind(kind)
    if cls is None:
        return None
    return cls, (None if namespace == "_cluster" else namespace), name


def _describe_path(base: str, path: str) -> str:
    parsed = _parse_status_path(base, path)
    if parsed is None:
        return path
    cls, namespace, name = parsed
    return f"{cls.KIND} {namespace}/{name}" if namespace else f"{cls.KIND} {name}"


def _key(repo: v1alpha1.GitRepository) -> tuple[str, str]:
    return (repo.metadata.namespace or "", repo.metadata.name)


def _repository_key(repo: v1alpha1.GitRepository) -> str:
    return f"{repo.metadata.namespace}/{repo.metadata.name}"


async def _recorded_uid(
    copy: gitrepo.WorkingCopy, repo: v1alpha1.GitRepository, obj: v1alpha1.Resource
) -> str | None:
    """The uid the repository's status tree recorded for ``obj``, unless it was being
    deleted (its infrastructure is going or gone: a new object starts afresh)."""
    path = status.status_path(
        repo.spec.write_back.path, obj.KIND, obj.metadata.namespace, obj.metadata.name
    )
    recorded = status.read_recorded(_on_disk(copy.path, path) or b"")
    if recorded is None or recorded.deleting or recorded.uid is None:
        return None
    return recorded.uid
