"""The client's configuration file: named contexts (server + token), like a kubeconfig.

``~/.orbit/config`` (``$ORBIT_CONFIG`` overrides the path), YAML, written with mode 0600
because it holds tokens::

    current-context: local
    contexts:
      - name: local
        server: http://127.0.0.1:8420
        token: orbit_...

Which server and token a client uses, first match wins: explicit arguments (the CLI's
``--server``/``--token``), ``$ORBIT_SERVER``/``$ORBIT_TOKEN``, the context named by
``--context``/``$ORBIT_CONTEXT``, the current context. A server given without a token takes
the token of a context for that same server (the current one if it is for that server), so
``orbit --server URL ...`` works after ``orbit login --server URL``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orbit import errors


def config_path() -> Path:
    env = os.environ.get("ORBIT_CONFIG")
    return Path(env).expanduser() if env else Path.home() / ".orbit" / "config"


@dataclass
class Context:
    name: str
    server: str
    token: str | None = None


@dataclass
class Config:
    contexts: list[Context] = field(default_factory=list)
    current: str | None = None

    def find(self, name: str) -> Context | None:
        return next((c for c in self.contexts if c.name == name), None)

    def for_server(self, server: str) -> Context | None:
        wanted = server.rstrip("/")
        return next((c for c in self.contexts if c.server.rstrip("/") == wanted), None)

    def upsert(self, context: Context, *, make_current: bool = True) -> None:
        self.contexts = [c for c in self.contexts if c.name != context.name] + [context]
        if make_current:
            self.current = context.name

    def remove(self, name: str) -> bool:
        before = len(self.contexts)
        self.contexts = [c for c in self.contexts if c.name != name]
        if self.current == name:
            self.current = self.contexts[0].name if self.contexts else None
        return len(self.contexts) != before


def load(path: Path | None = None) -> Config:
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        data: Any = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise errors.BadRequest(f"cannot read the Orbit config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise errors.BadRequest(f"the Orbit config {path} is not a mapping")
    contexts = []
    for item in data.get("contexts") or []:
        if isinstance(item, dict) and item.get("name") and item.get("server"):
            contexts.append(
                Context(str(item["name"]), str(item["server"]), item.get("token") or None)
            )
    current = data.get("current-context")
    return Config(contexts, str(current) if current else None)


def save(config: Config, path: Path | None = None) -> Path:
    """Write ``config`` readable by its owner only (0600), atomically."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data: dict[str, Any] = {
        "current-context": config.current,
        "contexts": [
            {"name": c.name, "server": c.server, **({"token": c.token} if c.token else {})}
            for c in config.contexts
        ],
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, yaml.safe_dump(data, sort_keys=False).encode())
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def resolve(
    server: str | None = None, token: str | None = None, context: str | None = None
) -> tuple[str | None, str | None]:
    """(server, token) by the precedence in this module's docstring (None: not configured)."""
    server = server or os.environ.get("ORBIT_SERVER") or None
    token = token or os.environ.get("ORBIT_TOKEN") or None
    if server and token:
        return server, token
    config = load()
    name = context or os.environ.get("ORBIT_CONTEXT") or None
    chosen: Context | None = None
    if name:
        chosen = config.find(name)
        if chosen is None:
            known = ", ".join(c.name for c in config.contexts) or "none"
            raise errors.BadRequest(f'no context "{name}" in {config_path()} (contexts: {known})')
    elif server:
        current = config.find(config.current) if config.current else None
        same = current is not None and current.server.rstrip("/") == server.rstrip("/")
        chosen = current if same else config.for_server(server)
    elif config.current:
        chosen = config.find(config.current)
    if chosen is None:
        return server, token
    if server and chosen.server.rstrip("/") != server.rstrip("/"):
        return server, token  # an explicit server never borrows another server's token
    return server or chosen.server, token or chosen.token
