"""The simulation's rows of recently used clusters, so a read does not reload every workload.

Scheduling is cluster-wide, so reading one Deployment needs every workload row of its cluster.
An entry holds those rows as of one resourceVersion of the cluster's counter; a reader who finds
the counter at that version uses it, anyone else loads the rows again. A write in this process
moves the entry forward by its own change (write-through), so deliveries do not reload rows.

Why it stays correct across processes and concurrent readers: an entry keyed ``v`` holds every
change up to ``v`` (loaders read the counter before the rows; a write-through starts from the
entry at ``v - 1`` while it holds the counter's row lock), so no reader is ever served rows
older than the counter it saw.
"""

from __future__ import annotations

from collections import OrderedDict

from orbit.simplane.kube.objects import Row

Key = tuple[str, str, str, str]


def _key(row: Row) -> Key:
    return (row.group, row.resource, row.namespace, row.name)


class RowCache:
    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[int, dict[Key, Row]]] = OrderedDict()

    def get(self, uid: str, version: int) -> list[Row] | None:
        entry = self._entries.get(uid)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(uid)
        return sorted(entry[1].values(), key=lambda r: r.created_rv)

    def put(self, uid: str, version: int, rows: list[Row]) -> None:
        self._entries[uid] = (version, {_key(r): r for r in rows})
        self._entries.move_to_end(uid)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def wrote(self, uid: str, version: int, changes: list[tuple[Row | None, Row | None]]) -> None:
        """Write ``version`` committed (or is about to): move the entry forward by its changes,
        each a (saved, removed) pair of rows."""
        entry = self._entries.get(uid)
        if entry is None:
            return
        if entry[0] != version - 1:
            del self._entries[uid]
            return
        rows = dict(entry[1])
        for saved, removed in changes:
            if saved is not None:
                rows[_key(saved)] = saved
            if removed is not None:
                rows.pop(_key(removed), None)
        self._entries[uid] = (version, rows)

    def drop(self, uid: str) -> None:
        self._entries.pop(uid, None)
