"""Host keys learned on first use, kept on the Orbit Plane's disk: a later different key is
refused as a pinned one would be.

With the template's ``trustOnFirstUse``, the first key an unpinned host shows is written to
``<dir>/<credential namespace>/<credential name>/<address>_<port>.pub`` (linked into place
atomically: when two calls race, the first key written wins) and from then on that host is
checked against it. Observe, delete and kubeconfig (given no template) never trust a new key:
they reach an unpinned host only through the key learned for it.

``dir`` is ``$ORBIT_SSH_HOST_KEYS_DIR``, else ``$ORBIT_DATA_DIR/ssh-host-keys``, else
``~/.local/share/orbit/ssh-host-keys``. The Orbit Plane's processes must share it (or pin every
host in the credential's ``config.knownHosts``).
"""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

from orbit.providers.base import ProviderPermanentError


def default_dir() -> Path:
    given = os.environ.get("ORBIT_SSH_HOST_KEYS_DIR")
    if given:
        return Path(given)
    data = os.environ.get("ORBIT_DATA_DIR")
    base = Path(data) if data else Path.home() / ".local" / "share" / "orbit"
    return base / "ssh-host-keys"


class LearnedKeys:
    """The keys learned for one credential's hosts."""

    def __init__(self, directory: Path, namespace: str, credential: str) -> None:
        self.dir = directory / (namespace or "_") / credential

    def path(self, slug: str) -> Path:
        return self.dir / f"{slug}.pub"

    def get(self, slug: str) -> asyncssh.SSHKey | None:
        path = self.path(slug)
        try:
            return asyncssh.import_public_key(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, asyncssh.KeyImportError):
            raise ProviderPermanentError(
                f"the host key learned on first use in {path} is unreadable; remove the file "
                "to learn it again, or pin the host in config.knownHosts"
            ) from None

    def remember(self, slug: str, key: asyncssh.SSHKey) -> asyncssh.SSHKey:
        """Keep ``key`` unless a key is kept already; returns the kept one."""
        path = self.path(slug)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.dir / f".{slug}.{os.getpid()}.{id(key)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.export_public_key())
        try:
            os.link(tmp, path)  # atomic, and fails if a key is kept already
        except FileExistsError:
            kept = self.get(slug)
            assert kept is not None
            return kept
        finally:
            tmp.unlink(missing_ok=True)
        return key
