"""How git authenticates to a remote, and how the secrets reach it without being seen.

Three modes, one per URL scheme: :class:`NoAuth` (``file://``, or a public ``https://``),
:class:`SshAuth` (``ssh://``: a private key and the pinned host keys) and :class:`HttpsAuth`
(``https://``: a username and a password or token). :func:`parse_remote` refuses a URL whose
scheme the auth does not fit, and any URL with credentials in it: git prints remote URLs in
its messages, writes them into ``.git/config`` and shows them in ``ps``.

A secret never goes on a command line (every local user can read ``/proc/<pid>/cmdline``; the
environment is readable only by the same user): :func:`prepare` writes the SSH key into a file
created with mode 0600 inside a private 0700 directory the runner removes after the command,
and names it in ``GIT_SSH_COMMAND``; HTTPS credentials travel as an ``http.extraHeader`` in
the ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` environment (git 2.31+),
which git reads as if given with ``-c`` but which ``ps`` does not show. :attr:`Prepared.secrets`
lists every form a secret may take so the runner can mask them in git's stderr.

Trust on first use is off unless asked for: ssh then checks host keys strictly against
``known_hosts`` only. With ``accept_new_host_keys``, a host key learned on first contact is kept
in ``learned_hosts`` (inside the clone's ``.git``), so a later change of it is refused as it
would be with a pinned key.
"""

from __future__ import annotations

import base64
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from orbit.gitrepo.errors import PermanentGitError

#: ssh's own bound on connecting; the runner's timeout bounds the whole command.
SSH_CONNECT_TIMEOUT = 30


@dataclass(frozen=True)
class NoAuth:
    """No credentials: a ``file://`` repository or a public ``https://`` one."""


@dataclass(frozen=True)
class SshAuth:
    """An SSH key (OpenSSH or PEM text) and the server's host keys (``known_hosts`` lines)."""

    private_key: str = field(repr=False)
    known_hosts: str
    accept_new_host_keys: bool = False


@dataclass(frozen=True)
class HttpsAuth:
    """HTTP basic credentials; a token goes in ``password_or_token`` (any username git hosts
    accept with it). ``ca_certificate`` is PEM text of the CA to trust instead of the system's."""

    username: str
    password_or_token: str = field(repr=False)
    ca_certificate: str | None = None


Auth = NoAuth | SshAuth | HttpsAuth
NO_AUTH = NoAuth()


@dataclass(frozen=True)
class Remote:
    """A checked remote URL: safe to log, and fit for its auth."""

    url: str
    scheme: str
    host: str  # "hostname:port", "" for file://


@dataclass(frozen=True)
class Prepared:
    """What one git command needs for its auth: environment, config pairs, secrets to mask."""

    env: dict[str, str]
    config: tuple[tuple[str, str], ...]
    secrets: tuple[str, ...]


_DEFAULT_PORTS = {"ssh": 22, "https": 443}


def parse_remote(url: str, auth: Auth) -> Remote:
    """Check ``url`` and that ``auth`` fits its scheme; raise :class:`PermanentGitError` if not."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise PermanentGitError(f"the repository URL {url!r} is empty or holds white space")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise PermanentGitError(f"the repository URL {url!r} is malformed: {err}") from None
    scheme = parts.scheme.lower()
    if parts.password is not None or (scheme == "https" and parts.username is not None):
        raise PermanentGitError(
            "the repository URL holds credentials; remove them from the URL (it is logged and "
            "stored in plain text) and give them as the repository's auth instead"
        )
    if scheme == "file":
        if parts.netloc or not parts.path.startswith("/"):
            raise PermanentGitError(
                f"a file:// URL needs an absolute path: file:///path, not {url}"
            )
        _fits(url, auth, NoAuth)
        return Remote(url=url, scheme=scheme, host="")
    if scheme not in _DEFAULT_PORTS:
        raise PermanentGitError(
            f"the repository URL {url} must start with file://, ssh:// or https://"
        )
    hostname = parts.hostname or ""
    if not hostname or hostname.startswith("-"):
        raise PermanentGitError(f"the repository URL {url} names no valid host")
    _fits(url, auth, SshAuth if scheme == "ssh" else (NoAuth, HttpsAuth))
    return Remote(url=url, scheme=scheme, host=f"{hostname}:{port or _DEFAULT_PORTS[scheme]}")


def _fits(url: str, auth: Auth, allowed: type | tuple[type, ...]) -> None:
    if not isinstance(auth, allowed):
        names = {NoAuth: "no auth", SshAuth: "SSH auth", HttpsAuth: "HTTPS auth"}
        wanted = allowed if isinstance(allowed, tuple) else (allowed,)
        raise PermanentGitError(
            f"{url} takes {' or '.join(names[t] for t in wanted)}, not {names[type(auth)]}"
        )


def prepare(auth: Auth, directory: Path, *, learned_hosts: Path | None = None) -> Prepared:
    """Write what ``auth`` needs into ``directory`` (private, removed by the caller)."""
    if isinstance(auth, SshAuth):
        return _prepare_ssh(auth, directory, learned_hosts)
    if isinstance(auth, HttpsAuth):
        return _prepare_https(auth, directory)
    return Prepared(env={}, config=(), secrets=())


def _prepare_ssh(auth: SshAuth, directory: Path, learned: Path | None) -> Prepared:
    key = directory / "identity"
    text = auth.private_key.strip() + "\n"  # ssh rejects a key without its final newline
    write_private(key, text.encode())
    known = directory / "known_hosts"
    pinned = auth.known_hosts.strip()
    if auth.accept_new_host_keys and learned is not None and learned.exists():
        pinned = f"{pinned}\n{learned.read_text().strip()}".strip()
    write_private(known, (pinned + "\n").encode() if pinned else b"")
    checking = "accept-new" if auth.accept_new_host_keys else "yes"
    command = [
        "ssh",
        "-F",
        os.devnull,  # neither ~/.ssh/config nor /etc/ssh/ssh_config
        "-i",
        str(key),
        *_options(
            IdentitiesOnly="yes",
            IdentityAgent="none",
            UserKnownHostsFile=str(known),
            GlobalKnownHostsFile=os.devnull,
            StrictHostKeyChecking=checking,
            UpdateHostKeys="no",
            HashKnownHosts="no",
            BatchMode="yes",
            PasswordAuthentication="no",
            KbdInteractiveAuthentication="no",
            ConnectTimeout=str(SSH_CONNECT_TIMEOUT),
            ServerAliveInterval="15",
            ServerAliveCountMax="4",
            LogLevel="ERROR",
        ),
    ]
    lines = [line for line in text.splitlines() if len(line) >= 16]
    return Prepared(
        env={"GIT_SSH_COMMAND": " ".join(shlex.quote(part) for part in command)},
        config=(),
        secrets=(auth.private_key.strip(), *lines),
    )


def _options(**options: str) -> list[str]:
    return [arg for name, value in options.items() for arg in ("-o", f"{name}={value}")]


def _prepare_https(auth: HttpsAuth, directory: Path) -> Prepared:
    pair = f"{auth.username}:{auth.password_or_token}"
    basic = base64.b64encode(pair.encode()).decode()
    config: list[tuple[str, str]] = [("http.extraHeader", f"Authorization: Basic {basic}")]
    if auth.ca_certificate:
        ca = directory / "ca.pem"
        write_private(ca, auth.ca_certificate.encode())
        config.append(("http.sslCAInfo", str(ca)))
    return Prepared(env={}, config=tuple(config), secrets=(auth.password_or_token, pair, basic))


def learn_host_keys(auth: Auth, directory: Path, learned: Path | None) -> None:
    """Keep the host keys ssh accepted on first use (``accept-new``) for the next commands."""
    if not (isinstance(auth, SshAuth) and auth.accept_new_host_keys and learned is not None):
        return
    known = directory / "known_hosts"
    if not known.exists():
        return
    before = set(auth.known_hosts.splitlines())
    if learned.exists():
        before |= set(learned.read_text().splitlines())
    new = [line for line in known.read_text().splitlines() if line.strip() and line not in before]
    if new and learned.parent.is_dir():
        old = learned.read_text() if learned.exists() else ""
        learned.unlink(missing_ok=True)
        write_private(learned, (old + "\n".join(new) + "\n").encode())


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` readable by this user only: the mode is set at creation, never after."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
