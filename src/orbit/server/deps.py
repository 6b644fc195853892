"""What route handlers depend on, as ``Annotated`` aliases (``StoreDep``, ``AdmissionDep``).

The collaborators live on ``app.state`` (``store``, ``admission``, ``readiness``,
``bookmark_seconds``): ``create_app`` sets them, and the composition root may set or replace
them in its lifespan. Handlers receive them through these dependencies, so tests and the
composition root choose the store and admission without touching the routes.

``Admission`` is the contract of ``orbit.admission``: the server calls it before every create,
replace and patch of an object (not on status writes). An admission that also has
``admit_delete`` (``DeleteAdmission``) is asked before a delete starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol, runtime_checkable

from fastapi import Depends, Request

from orbit import errors
from orbit.api import v1alpha1
from orbit.store.base import ResourceStore


class Admission(Protocol):
    async def admit(
        self, new: v1alpha1.Resource, old: v1alpha1.Resource | None
    ) -> v1alpha1.Resource:
        """Check (and possibly default) ``new`` before it is written. ``old`` is None on create,
        else the stored object. Raises orbit.errors.Invalid, Conflict or NotFound to refuse."""
        ...


@runtime_checkable
class DeleteAdmission(Protocol):
    async def admit_delete(self, obj: v1alpha1.Resource) -> None:
        """Refuse (Conflict, Invalid) the deletion of the stored ``obj``, e.g. while in use."""
        ...


class NoAdmission:
    """Admits everything unchanged: the default when no admission is configured."""

    async def admit(
        self, new: v1alpha1.Resource, old: v1alpha1.Resource | None
    ) -> v1alpha1.Resource:
        return new


Readiness = Callable[[], Awaitable[bool]]


def get_store(request: Request) -> ResourceStore:
    """``app.state.store``; the composition root may set it in its lifespan (Unavailable until)."""
    store: ResourceStore | None = getattr(request.app.state, "store", None)
    if store is None:
        raise errors.Unavailable("the server is starting: the store is not open yet")
    return store


def get_admission(request: Request) -> Admission:
    admission: Admission | None = getattr(request.app.state, "admission", None)
    return admission or NoAdmission()


def get_readiness(request: Request) -> Readiness | None:
    readiness: Readiness | None = getattr(request.app.state, "readiness", None)
    return readiness


def get_bookmark_seconds(request: Request) -> float:
    return float(getattr(request.app.state, "bookmark_seconds", 10.0))


StoreDep = Annotated[ResourceStore, Depends(get_store)]
AdmissionDep = Annotated[Admission, Depends(get_admission)]
ReadinessDep = Annotated[Readiness | None, Depends(get_readiness)]
BookmarkSecondsDep = Annotated[float, Depends(get_bookmark_seconds)]
