"""The git error tree, and the reading of git's stderr that sorts a failure into it.

Every git failure becomes either a :class:`TransientGitError` (try again later: the network, a
hung-up remote, a timeout, a lock) or a :class:`PermanentGitError` (a person must change
something: a host key, a credential, the URL, the branch). The controller needs exactly that
decision, so a failure git words in a way we do not recognise is called transient: retrying
with backoff is harmless, while stalling on a blip is not. The message of each says what to do,
followed by git's own words; both are passed through :func:`scrub` first, because git and ssh
echo URLs and headers, and a secret must never reach a log, a condition or an event.

git runs with ``LC_ALL=C``, so the patterns below match its English messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from orbit.errors import OrbitError

STDERR_LIMIT = 500


class GitError(OrbitError):
    """Base of this package's errors. The message is safe to show: it holds no secret."""


class TransientGitError(GitError):
    """The operation may succeed if retried later (network, remote hung up, timeout, lock)."""

    reason = "ServiceUnavailable"
    code = 503


class PermanentGitError(GitError):
    """Retrying will not help until a person changes something; the message says what."""


class CorruptWorkingCopy(PermanentGitError):
    """The local clone is damaged; :class:`~orbit.gitrepo.WorkingCopy` re-clones on its own."""


@dataclass(frozen=True)
class Context:
    """What a failed command was doing, for a message a person can act on."""

    action: str  # "fetch", "push", "read", ...
    url: str = ""
    host: str = ""  # "host:port" of an ssh:// or https:// remote, else ""
    branch: str = ""
    ssh: bool = False


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


_HOST_CHANGED = _rx(r"remote host identification has changed", r"host key for \S+ has changed")
_HOST_UNKNOWN = _rx(r"no \S+ host key is known for", r"host key verification failed")
_AUTH = _rx(
    r"permission denied \((?:publickey|password|keyboard)",
    r"permission denied, please try again",
    r"authentication failed",
    r"could not read (?:username|password)",
    r"access denied",
    r"requested url returned error: 40[13]",
    r"invalid username or password",
)
_NOT_FOUND = _rx(
    r"does not appear to be a git repository",
    r"repository not found",
    r"repository '[^']*' not found",
    r"requested url returned error: 404",
    r"no such repository",
)
_BRANCH = _rx(r"couldn't find remote ref", r"remote branch \S+ not found")
_TLS = _rx(r"ssl certificate problem", r"server certificate verification failed")
_BAD_URL = _rx(
    r"unable to find remote helper",
    r"protocol '[^']*' is not supported",
    r"transport '[^']*' not allowed",
    r"unsupported protocol",
    r"url using bad/illegal format",
)
_RACE = _rx(
    r"cannot lock ref",
    r"failed to update ref",
    r"unable to create '[^']*\.lock'",
    r"\.lock': file exists",
)
_REMOTE_REJECTED = _rx(r"\[remote rejected\]", r"hook declined", r"protected branch")
_CORRUPT = _rx(
    r"fatal: not a git repository",
    r"bad object",
    r"is corrupt",
    r"index file (?:smaller|corrupt)",
    r"bad signature",
    r"unable to read tree",
    r"bad revision",
)
_SECRET_SHAPES = (
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
        ),
        "***",
    ),
    (re.compile(r"(authorization:\s*)(?:\w+\s+)?\S+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(://)[^/\s@]+@"), r"\1***@"),  # any userinfo: a token may be the "user"
)


def classify(stderr: str, context: Context, *, secrets: Iterable[str] = ()) -> GitError:
    """The error a failed git command amounts to, with a scrubbed, trimmed stderr."""
    said = trim(stderr, secrets=secrets)
    detail = f" (git: {said})" if said else ""
    where = context.host or context.url
    for pattern, kind, advice in _rules(context, where or "the remote"):
        if pattern.search(stderr):
            return kind(advice + detail)
    of = f" of {where}" if where else ""
    return TransientGitError(f"git {context.action}{of} failed; will retry{detail}")


def _rules(c: Context, where: str) -> list[tuple[re.Pattern[str], type[GitError], str]]:
    port = c.host.rpartition(":")[2] if c.host else "22"
    name = c.host.rpartition(":")[0] if c.host else where
    refused = (
        f"{where} refused the SSH key (authentication failed): authorize the key's public half "
        "for this repository, or use the right key"
        if c.ssh
        else f"{where} refused the credentials (authentication failed): check the username "
        "and token, and that the token may read (and write) this repository"
    )
    return [
        (_RACE, TransientGitError, f"a lock in {where} is held (another git at work); will retry"),
        (
            _HOST_CHANGED,
            PermanentGitError,
            f"the host key of {where} does not match the pinned known_hosts: if the server's key "
            "was changed on purpose, pin the new one (ssh-keyscan); otherwise someone may be "
            "intercepting the connection",
        ),
        (
            _HOST_UNKNOWN,
            PermanentGitError,
            f"no host key is pinned for {where}: add the server's key to known_hosts "
            f"(ssh-keyscan -p {port} {name}) or allow trust on first use",
        ),
        (_AUTH, PermanentGitError, refused),
        (
            _TLS,
            PermanentGitError,
            f"the TLS certificate of {where} is not trusted: give the CA certificate that "
            "signed it",
        ),
        (
            _BRANCH,
            PermanentGitError,
            f"branch {c.branch!r} does not exist in {c.url}: create it or fix the branch",
        ),
        (
            _NOT_FOUND,
            PermanentGitError,
            f"no repository at {c.url} (or the credentials cannot see it): check the URL",
        ),
        (_BAD_URL, PermanentGitError, f"git cannot use the URL {c.url}: fix it"),
        (
            _REMOTE_REJECTED,
            PermanentGitError,
            f"{where} refused the push to branch {c.branch!r} (a hook or branch protection): "
            "let this identity push there, or choose another branch",
        ),
        (
            _CORRUPT,
            CorruptWorkingCopy,
            f"the local clone is damaged ({c.action}); it will be cloned again",
        ),
    ]


def trim(stderr: str, *, secrets: Iterable[str] = ()) -> str:
    """The lines of ``stderr`` that say what went wrong, short, with every secret masked."""
    lines = [line.strip() for line in scrub(stderr, secrets).splitlines() if line.strip()]
    # git's "hint:" paragraphs and ssh's warning banners repeat what the first lines say.
    lines = [line for line in lines if not line.startswith(("hint:", "@@@"))]
    text = " | ".join(lines[-6:])
    return text if len(text) <= STDERR_LIMIT else text[: STDERR_LIMIT - 1] + "…"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (and anything shaped like a credential) replaced by ``***``."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text
