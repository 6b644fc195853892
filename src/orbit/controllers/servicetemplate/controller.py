"""The ServiceTemplate reconcile body: render with the defaults on a sample cluster, report.

Level-based: every pass renders the template again (a git branch moves, helm may have been
installed since) and writes ``status.valid``, the ``Valid`` condition and
``observedGeneration`` when they changed. Templates whose required parameters have no default
cannot be rendered without a service's values: their source is still checked (fetched, or
the helm binary looked for) and ``Valid`` is Unknown with reason ``ValuesRequired``.

Git and helm templates are looked at again every ``recheck`` seconds; a source that cannot be
reached is retried sooner, with a delay that doubles up to ``retry_max``.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from orbit import templating
from orbit.api import v1alpha1
from orbit.delivery import render, sources
from orbit.errors import NotFound
from orbit.runtime.events import EventRecorder
from orbit.runtime.reconcile import Request, Result, log_fields
from orbit.store.base import ResourceStore

log = logging.getLogger("orbit.controllers.servicetemplate")

CONDITION_VALID = "Valid"
RENDERED = "Rendered"
RENDER_FAILED = "RenderFailed"
SOURCE_UNAVAILABLE = "SourceUnavailable"
VALUES_REQUIRED = "ValuesRequired"

_SHOWN_OBJECTS = 5


@dataclass(frozen=True)
class Verdict:
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str


class ServiceTemplateReconciler:
    """Reconciles ServiceTemplates. ``cache_dir`` holds git checkouts (shared with the delivery
    engine is fine); ``recheck`` is the period of git/helm re-checks; ``retry_base`` and
    ``retry_max`` bound the delay after an unreachable source; ``git_max_age`` is how old a
    cached checkout may be before a pass fetches the ref again."""

    def __init__(
        self,
        store: ResourceStore,
        *,
        cache_dir: Path,
        recorder: EventRecorder,
        recheck: float = 300.0,
        retry_base: float = 10.0,
        retry_max: float = 300.0,
        git_max_age: float = render.GIT_MAX_AGE,
    ) -> None:
        self._store = store
        self._cache_dir = cache_dir
        self._recorder = recorder
        self._recheck = recheck
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._git_max_age = git_max_age
        self._failures: dict[tuple[str, str], int] = {}

    async def reconcile(self, request: Request) -> Result:
        key = (request.namespace, request.name)
        try:
            template = await self._store.get(
                v1alpha1.ServiceTemplate, request.namespace, request.name
            )
        except NotFound:
            self._failures.pop(key, None)
            return Result()
        if template.metadata.deletion_timestamp is not None:
            return Result()
        log.info("Rendering ServiceTemplate", extra=log_fields("servicetemplate", request))
        verdict = await self._verdict(template)
        await self._write(template, verdict)

        if verdict.reason == SOURCE_UNAVAILABLE:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            return Result(
                requeue_after=min(self._retry_base * 2 ** (failures - 1), self._retry_max)
            )
        self._failures.pop(key, None)
        if template.spec.resources is None:
            return Result(requeue_after=self._recheck)
        return Result()

    async def _verdict(self, template: v1alpha1.ServiceTemplate) -> Verdict:
        spec = template.spec
        problems = templating.validate_config(spec.parameters, {}, field="values")
        missing = [c for c in problems if c.message.endswith("is a required property")]
        if len(missing) != len(problems):
            details = "; ".join(f"{c.field}: {c.message}" for c in problems if c not in missing)
            return Verdict("False", RENDER_FAILED, f"the defaults break the schema: {details}")
        try:
            if missing:
                await self._check_source(spec)
                return Verdict(
                    "Unknown",
                    VALUES_REQUIRED,
                    "not rendered: required parameters without a default "
                    f"({'; '.join(c.message for c in missing)}); "
                    "each service is rendered with its own values",
                )
            manifests = await render.render_service(
                template,
                values={},
                cluster=render.sample_cluster(template.metadata.namespace or "default"),
                namespace="default",
                cache_dir=self._cache_dir,
                git_max_age=self._git_max_age,
            )
        except render.RenderError as err:
            return Verdict("False", RENDER_FAILED, str(err))
        except render.SourceUnavailable as err:
            return Verdict("False", SOURCE_UNAVAILABLE, str(err))
        return Verdict("True", RENDERED, _summary(manifests))

    async def _check_source(self, spec: v1alpha1.ServiceTemplateSpec) -> None:
        if spec.git is not None:
            await sources.fetch_git(
                spec.git.url, spec.git.ref, cache_dir=self._cache_dir, max_age=self._git_max_age
            )
        elif spec.helm is not None:
            sources.helm_binary(spec.helm)

    async def _write(self, template: v1alpha1.ServiceTemplate, verdict: Verdict) -> None:
        generation = template.metadata.generation
        before = v1alpha1.get_condition(template.status.conditions, CONDITION_VALID)
        condition = v1alpha1.Condition(
            type=CONDITION_VALID,
            status=verdict.status,
            reason=verdict.reason,
            message=verdict.message,
            observed_generation=generation,
        )
        status = template.status.model_copy(
            update={
                "valid": {"True": True, "False": False}.get(verdict.status),
                "conditions": v1alpha1.set_condition(template.status.conditions, condition),
                "message": verdict.message,
                "observed_generation": generation,
            }
        )
        if before is None or (before.reason, before.message) != (verdict.reason, verdict.message):
            await self._recorder.record(
                template,
                type="Normal" if verdict.status != "False" else "Warning",
                reason=verdict.reason,
                message=verdict.message,
            )
        if status != template.status:
            updated = template.model_copy(update={"status": status}, deep=True)
            updated.metadata.resource_version = None  # the controller owns status
            with contextlib.suppress(NotFound):
                await self._store.update_status(updated)


def _summary(manifests: list[dict[str, Any]]) -> str:
    names = [f"{m['kind']}/{m['metadata']['name']}" for m in manifests]
    shown = ", ".join(names[:_SHOWN_OBJECTS])
    more = f" and {len(names) - _SHOWN_OBJECTS} more" if len(names) > _SHOWN_OBJECTS else ""
    return f"renders {len(names)} object(s) with the defaults: {shown}{more}".rstrip(": ")
