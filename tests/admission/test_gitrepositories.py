"""GitRepository admission: the write-back tree stays apart from the synced tree, so Orbit never
writes among a person's files and never reads its own status files as desired state."""

from __future__ import annotations

import pytest

from orbit import errors
from orbit.api import v1alpha1

from .conftest import Env


def repository(path: str, write_back: str) -> v1alpha1.GitRepository:
    return v1alpha1.GitRepository.model_validate(
        {
            "metadata": {"name": "fleet", "namespace": "default"},
            "spec": {
                "url": "file:///srv/fleet.git",
                "path": path,
                "writeBack": {"path": write_back},
            },
        }
    )


@pytest.mark.parametrize(
    ("path", "write_back", "says"),
    [
        (".", "status", "is inside the synced path '.'"),
        ("orbit", "orbit/state", "is inside the synced path 'orbit'"),
        (".orbit/status", ".orbit/status", "holds the synced path"),
        (".orbit/status/default", ".orbit/status", "holds the synced path"),
    ],
)
async def test_a_write_back_tree_mixed_with_the_synced_tree_is_refused(
    env: Env, path: str, write_back: str, says: str
) -> None:
    with pytest.raises(errors.Invalid) as refused:
        await env.create(repository(path, write_back))
    [cause] = refused.value.causes
    assert cause.field == "spec.writeBack.path"
    assert says in cause.message


@pytest.mark.parametrize(
    ("path", "write_back"),
    [
        (".", ".orbit/status"),  # the default: hidden, never read
        ("orbit", ".orbit/status"),
        ("orbit", "status"),  # beside the synced tree
        (".", "state/.orbit"),  # hidden below the synced path
    ],
)
async def test_a_write_back_tree_apart_is_admitted(env: Env, path: str, write_back: str) -> None:
    await env.create(repository(path, write_back))
    # ... and changing it to one inside the synced tree is refused as an update too.
    changed = repository(path, write_back)
    changed.spec.write_back.path = "orbit/status" if path == "orbit" else "status"
    with pytest.raises(errors.Invalid):
        await env.update(changed)
