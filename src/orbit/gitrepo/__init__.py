"""Git repositories for GitOps: an async client of the real ``git`` CLI (docs/gitrepo.md).

A :class:`WorkingCopy` is a directory Orbit alone writes to (``<data_dir>/gitops/<uid>``):
:meth:`~WorkingCopy.sync` makes it exactly ``origin/<branch>`` of a ``file://``, ``ssh://`` or
``https://`` URL, :meth:`~WorkingCopy.files` and :meth:`~WorkingCopy.read` give what is
committed there, and :meth:`~WorkingCopy.commit_and_push` writes a set of paths back, on top
of whatever others pushed meanwhile, never forcing. This package knows git, not Orbit objects
nor the store: the GitOps controller decides what to read and write.

Modules: :mod:`.auth` (auth modes, URL checks, keeping secrets off argv), :mod:`.runner` (one
isolated, bounded git subprocess), :mod:`.errors` (the tree below, read from git's stderr),
:mod:`.lock` (one user at a time, across tasks and processes), :mod:`.publish` (building and
pushing a commit), :mod:`.workcopy` (the working copy).

Errors (every message is safe to show, and says what a person should do)::

    GitError (orbit.errors.OrbitError)
    ├── TransientGitError     retry later: network down, remote hung up, timeout, lock held,
    │                         push rejected ``attempts`` times, anything git words unexpectedly
    └── PermanentGitError     a person must act: host key not pinned or changed, key or token
        │                     refused, no such repository or branch, bad URL or path,
        │                     untrusted TLS certificate, push refused by a hook
        └── CorruptWorkingCopy  the local clone is damaged; sync re-clones it by itself

:meth:`WorkingCopy.read` raises :class:`FileNotFoundError` for a path that is not a regular
file at ``HEAD``.
"""

from __future__ import annotations

from orbit.gitrepo.auth import NO_AUTH, Auth, HttpsAuth, NoAuth, SshAuth
from orbit.gitrepo.errors import (
    CorruptWorkingCopy,
    GitError,
    PermanentGitError,
    TransientGitError,
)
from orbit.gitrepo.workcopy import WorkingCopy

__all__ = [
    "NO_AUTH",
    "Auth",
    "CorruptWorkingCopy",
    "GitError",
    "HttpsAuth",
    "NoAuth",
    "PermanentGitError",
    "SshAuth",
    "TransientGitError",
    "WorkingCopy",
]
