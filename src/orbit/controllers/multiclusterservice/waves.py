"""Pure rollout planning: which clusters are in which wave, and how many may update at once."""

from __future__ import annotations

import math

from orbit.api import selectors, v1alpha1


def plan(
    waves: list[v1alpha1.Wave], clusters: list[v1alpha1.ClusterDeployment]
) -> list[tuple[str, list[str]]]:
    """The waves as (name, cluster names), in order.

    A selector wave takes the clusters it matches that no earlier wave took; a percent wave is
    cumulative (``10`` then ``50`` then ``100``) over all clusters in name order. Clusters no wave
    takes form a last wave, ``remaining`` (``all`` when the strategy names no waves)."""
    ordered = sorted(clusters, key=lambda c: c.metadata.name)
    taken: set[str] = set()
    out: list[tuple[str, list[str]]] = []
    for wave in waves:
        if wave.selector is not None:
            match = selectors.parse(wave.selector.to_query())
            members = [
                c.metadata.name
                for c in ordered
                if c.metadata.name not in taken and match.matches(c.metadata.labels)
            ]
        else:
            target = math.ceil(len(ordered) * (wave.percent or 0) / 100)
            room = max(0, target - len(taken))
            members = [c.metadata.name for c in ordered if c.metadata.name not in taken][:room]
        taken.update(members)
        out.append((wave.name, members))
    rest = [c.metadata.name for c in ordered if c.metadata.name not in taken]
    if rest or not waves:
        out.append(("remaining" if waves else "all", rest))
    return out


def max_unavailable(value: int | str, total: int) -> int:
    """``2`` or ``25%`` of ``total`` (rounded up), never less than one."""
    if isinstance(value, int):
        return max(1, value)
    return max(1, math.ceil(total * int(value.rstrip("%")) / 100))
