"""One user of a working copy at a time: an asyncio lock per directory, then a file lock.

Within a process, tasks queue on an :class:`asyncio.Lock` kept per event loop and directory
(a lock belongs to one loop). Across processes, two Orbit processes may share a data
directory, so the holder also takes ``fcntl.flock`` on ``<parent>/.<name>.lock``; it lives
beside the working copy, not in it, because the working copy itself is deleted and re-cloned.
The kernel drops a flock when its process dies, so a crashed holder never blocks the others.
``flock`` is polled without blocking, so waiting stays cancellable and bounded by ``wait``.
File work done under the lock in a thread goes through :func:`in_thread`, which finishes it
even when its caller is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from orbit.gitrepo.errors import TransientGitError

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_POLL_MAX = 0.25
T = TypeVar("T")


def lock_file(path: Path) -> Path:
    """Where the cross-process lock of the working copy at ``path`` lives."""
    return path.parent / f".{path.name}.lock"


@contextlib.asynccontextmanager
async def exclusive(path: Path, *, wait: float) -> AsyncIterator[None]:
    """Hold ``path`` against every other task and process, waiting at most ``wait`` seconds."""
    local = _LOCKS.setdefault(asyncio.get_running_loop(), {}).setdefault(path, asyncio.Lock())
    deadline = time.monotonic() + wait
    try:
        async with asyncio.timeout(wait):
            await local.acquire()
    except TimeoutError:
        raise _busy(path, wait) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            await _flock(fd, path, deadline=deadline, wait=wait)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        local.release()


async def _flock(fd: int, path: Path, *, deadline: float, wait: float) -> None:
    pause = 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _busy(path, wait) from None
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, _POLL_MAX)


async def in_thread(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a worker thread, finished even if the caller is cancelled.

    A cancelled ``asyncio.to_thread`` returns at once while its thread runs on, so the lock
    would be released with a file operation still changing the working copy under the next
    holder. Here a cancellation waits for the thread, then propagates.
    """
    work = asyncio.get_running_loop().run_in_executor(None, fn, *args)
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


def _busy(path: Path, wait: float) -> TransientGitError:
    return TransientGitError(
        f"the working copy {path} stayed busy for {wait:g}s (another task or Orbit process "
        "is using it); will retry"
    )
