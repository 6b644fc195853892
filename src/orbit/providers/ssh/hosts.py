"""SSH to the hosts: the credential's key and pinned host keys, commands, files.

The credential is the infrastructure account: ``secretData.privateKey`` logs in, and the hosts
it names (its ``config.knownHosts`` lines, plus ``config.hosts`` for hosts reached on first
use) are the inventory the provider searches when it is given only a cluster's identity
(observe, delete, kubeconfig). A pinned host whose key differs is refused, always; an unpinned
host is reached only through the key learned for it on first use (:mod:`.learned`), or, when
the caller allows trust on first use (the template's ``trustOnFirstUse``), with the key it shows
the first time, which is then kept. Every command is bounded by the template's
``commandTimeout``.

Errors: a refused host key, a refused login or a bad private key is permanent (a person must
fix the credential or the host); anything on the way (refused connection, timeout, dropped
session) is transient. No message carries a secret: commands never hold one (secrets go in on
stdin) and the key is never printed.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from orbit.api import v1alpha1
from orbit.providers.base import ProviderPermanentError, ProviderTransientError
from orbit.providers.ssh.learned import LearnedKeys, default_dir
from orbit.providers.ssh.spec import CredentialConfig, check_address, parse_config

# asyncssh logs every connection step and command line at INFO: far too much for Orbit's log.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

NAME = "ssh"
KEY = "privateKey"
PASSPHRASE = "passphrase"
#: Seconds for one command when no template says (``providerSpec.commandTimeout``).
COMMAND_TIMEOUT = 300.0


@dataclass(frozen=True, order=True)
class HostAddr:
    address: str
    port: int = 22

    def __str__(self) -> str:
        return self.address if self.port == 22 else f"{self.address}:{self.port}"

    @property
    def slug(self) -> str:
        """A file name for this host's state (``127.0.0.11_2201``)."""
        return f"{self.address.replace(':', '-')}_{self.port}"


class Access:
    """What a credential gives: a login, pinned host keys and an inventory of hosts."""

    def __init__(self, credential: v1alpha1.Credential, host_keys: Path | None = None) -> None:
        name = credential.metadata.name
        if credential.spec.provider != NAME:
            raise ProviderPermanentError(
                f'credential "{name}" is for provider "{credential.spec.provider}", not "{NAME}"'
            )
        self.name = name
        self.config: CredentialConfig = parse_config(credential.spec.config, name)
        secrets = credential.spec.secret_data or {}
        key = secrets.get(KEY)
        if not key:
            raise ProviderPermanentError(
                f'credential "{name}" has no secretData.{KEY} (an OpenSSH private key)'
            )
        try:
            self.key = asyncssh.import_private_key(key, secrets.get(PASSPHRASE) or None)
        except (asyncssh.KeyImportError, ValueError):
            raise ProviderPermanentError(
                f'credential "{name}": secretData.{KEY} is not a usable private key '
                f"(or secretData.{PASSPHRASE} does not open it)"
            ) from None
        try:
            self.known = asyncssh.import_known_hosts(self.config.known_hosts)
        except (ValueError, asyncssh.KeyImportError):
            raise ProviderPermanentError(
                f'credential "{name}": config.knownHosts is not in known_hosts format'
            ) from None
        self.inventory = tuple(sorted(set(_inventory(self.config))))
        self.learned = LearnedKeys(
            host_keys or default_dir(), credential.metadata.namespace or "", name
        )

    def pinned_keys(self, host: HostAddr) -> list[asyncssh.SSHKey]:
        keys = self.known.match(host.address, host.address, host.port)[0]
        return list(keys)

    def in_inventory(self, host: HostAddr) -> bool:
        return host in self.inventory


class Host:
    """One open SSH connection to one host."""

    def __init__(self, addr: HostAddr, conn: asyncssh.SSHClientConnection, timeout: float):
        self.addr = addr
        self._conn = conn
        self.timeout = timeout

    async def run(
        self, command: str, *, stdin: bytes | None = None, limit: float | None = None
    ) -> tuple[int, bytes]:
        """Run ``command`` (a shell line); returns (exit status, stdout)."""
        limit = limit or self.timeout
        try:
            done = await self._conn.run(
                command, input=stdin, encoding=None, check=False, timeout=limit
            )
        except TimeoutError:
            raise ProviderTransientError(
                f"host {self.addr}: a command ran longer than {limit:g} s "
                "(providerSpec.commandTimeout) and was abandoned; the host may be overloaded "
                "or hung"
            ) from None
        except (asyncssh.Error, OSError) as err:
            raise ProviderTransientError(f"host {self.addr}: command failed: {_why(err)}") from None
        stdout = done.stdout if isinstance(done.stdout, bytes) else b""
        return (done.exit_status if done.exit_status is not None else 255), stdout

    async def check(self, command: str, *, stdin: bytes | None = None, what: str) -> bytes:
        status, out = await self.run(command, stdin=stdin)
        if status != 0:
            raise ProviderTransientError(f"host {self.addr}: {what} failed (exit {status})")
        return out

    async def read(self, path: str) -> bytes | None:
        status, out = await self.run(f"cat {shlex.quote(path)} 2>/dev/null")
        return out if status == 0 else None

    async def write(self, path: str, data: bytes, *, mode: int = 0o600) -> None:
        """Write ``data`` to ``path`` atomically (a temporary file, then a rename)."""
        q, tmp = shlex.quote(path), shlex.quote(f"{path}.orbit-tmp")
        directory = shlex.quote(path.rsplit("/", 1)[0] or "/")
        await self.check(
            f"umask 077 && mkdir -p {directory} && cat > {tmp} && chmod {mode:o} {tmp} "
            f"&& mv -f {tmp} {q}",
            stdin=data,
            what=f"writing {path}",
        )

    async def close(self) -> None:
        self._conn.close()
        await self._conn.wait_closed()


class Hosts:
    """Connections opened during one provider call, closed together at its end."""

    def __init__(self, access: Access, *, command_timeout: float = COMMAND_TIMEOUT) -> None:
        self._access = access
        self._timeout = command_timeout
        self._open: dict[HostAddr, Host] = {}

    async def __aenter__(self) -> Hosts:
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.gather(*(h.close() for h in self._open.values()), return_exceptions=True)
        self._open.clear()

    async def connect(
        self, addr: HostAddr, *, user: str | None = None, trust_on_first_use: bool = False
    ) -> Host:
        if addr in self._open:
            return self._open[addr]
        access, cfg = self._access, self._access.config
        keys = access.pinned_keys(addr)
        source = f'pinned for it in credential "{access.name}" (config.knownHosts)'
        if not keys:
            learned = access.learned.get(addr.slug)
            keys = [learned] if learned is not None else []
            source = f"learned for it on first use ({access.learned.path(addr.slug)})"
        if not keys and not trust_on_first_use:
            raise ProviderPermanentError(
                f"host {addr}: no host key is pinned for it in credential "
                f'"{access.name}" (config.knownHosts) nor learned on first use, and trust on '
                "first use is not allowed here (providerSpec.trustOnFirstUse; observe, delete "
                "and kubeconfig never trust a new key)"
            )
        known: tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey]] | None
        known = (keys, [], []) if keys else None
        try:
            conn = await asyncssh.connect(
                addr.address,
                addr.port,
                username=user or cfg.user,
                client_keys=[access.key],
                known_hosts=known,
                config=[],
                agent_path=None,
                preferred_auth="publickey",
                connect_timeout=cfg.connect_timeout,
                login_timeout=cfg.connect_timeout,
                keepalive_interval=30,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise ProviderPermanentError(
                f"host {addr}: its host key does not match the key {source}; refusing to connect"
            ) from None
        except asyncssh.PermissionDenied:
            raise ProviderPermanentError(
                f"host {addr} refused the login of user {user or cfg.user} with credential "
                f'"{access.name}" (secretData.{KEY})'
            ) from None
        except (TimeoutError, asyncssh.Error, OSError) as err:
            raise ProviderTransientError(f"host {addr} is unreachable: {_why(err)}") from None
        if known is None:  # first use: keep the key it showed, or refuse it if another won
            seen = conn.get_server_host_key()
            kept = access.learned.remember(addr.slug, seen) if seen is not None else None
            if kept is None or seen is None or kept.public_data != seen.public_data:
                conn.close()
                raise ProviderPermanentError(
                    f"host {addr}: its host key does not match the key {source}; refusing to "
                    "connect"
                )
        host = Host(addr, conn, timeout=self._timeout)
        self._open[addr] = host
        return host


def _inventory(config: CredentialConfig) -> list[HostAddr]:
    found: list[HostAddr] = []
    for line in config.known_hosts.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0].startswith("@"):
            continue  # @cert-authority / @revoked: patterns, not hosts
        for name in fields[0].split(","):
            addr = _parse_host(name)
            if addr is not None:
                found.append(addr)
    for entry in config.hosts:
        addr = _parse_host(entry)
        if addr is None:
            raise ProviderPermanentError(f"config.hosts: {entry!r} is not host or host:port")
        found.append(addr)
    return found


def _parse_host(name: str) -> HostAddr | None:
    """``host``, ``host:port`` or ``[host]:port``; None for hashed names and patterns."""
    if name.startswith("|") or any(c in name for c in "*?!"):
        return None
    host, port = name, 22
    if name.startswith("["):
        host, _, rest = name[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 22
    elif name.count(":") == 1:
        host, _, text = name.partition(":")
        if not text.isdigit():
            return None
        port = int(text)
    try:
        return HostAddr(check_address(host), port)
    except ValueError:
        return None


def _why(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if text != type(err).__name__ else text


def environment(values: Mapping[str, str]) -> str:
    """``NAME=value`` words for a shell line (never for secrets: they go on stdin)."""
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
