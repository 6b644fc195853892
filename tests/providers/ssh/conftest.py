"""Fixtures for the ssh provider: real ``sshd`` hosts on loopback addresses, and the stand-in K3s.

``ssh_hosts`` starts one ``/usr/sbin/sshd -D -e`` per address (127.0.0.11 and up) on a free
port, each with a generated host key and the test's authorized key, logging in as root. The
hosts share this machine's filesystem, so each gets its own root directory and the template
puts K3s's paths under it (``{address}`` in providerSpec paths). The stand-in K3s
(``standin-install.sh`` and ``standin_k3s.py``, wrapped as one binary per version) is installed
air-gapped (``install_server`` serves the same files over HTTP on loopback, for installs by
URL). Host keys learned on first use are kept under the lab (``ORBIT_SSH_HOST_KEYS_DIR``). At
the end every process the stand-in started is stopped by its pid file, then sshd.

The sshd part is :mod:`tests.sshd`, shared with the git-over-SSH tests. Needs
``/usr/sbin/sshd`` (Debian: ``apt-get install openssh-server``) and root; skipped with the
reason otherwise, unless ORBIT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from orbit.api import v1alpha1
from tests.sshd import (
    SshdHost,
    free_port,
    require_sshd,
    start_sshd,
    stop_sshd,
    wait_listening,
)

HERE = Path(__file__).parent
V1, V2 = "v1.30.6+k3s1", "v1.31.2+k3s1"


@dataclass
class SshHost(SshdHost):
    """A test host of the provider: an sshd whose root holds the stand-in's files."""

    def log(self) -> list[str]:
        return [what for _, what in self.timed_log()]

    def timed_log(self) -> list[tuple[float, str]]:
        """The stand-in's install log: (timestamp, what) per line."""
        path = self.root / "install.log"
        lines = path.read_text().splitlines() if path.exists() else []
        return [(float(x.split()[0]), " ".join(x.split()[1:])) for x in lines]

    def path(self, relative: str) -> Path:
        return self.root / relative


@dataclass
class Lab:
    """The test hosts, the client key, and the stand-in's binaries."""

    base: Path
    hosts: list[SshHost]
    client_key: asyncssh.SSHKey
    binaries: Path
    api_port: int
    state_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.state_dir = self.base / "orbit-state"

    def known_hosts(self) -> str:
        return "\n".join(h.known_hosts_line() for h in self.hosts) + "\n"

    def credential(
        self, *, known_hosts: str | None = None, name: str = "hosts"
    ) -> v1alpha1.Credential:
        return v1alpha1.Credential(
            metadata=v1alpha1.ObjectMeta(name=name, namespace="team-a"),
            spec=v1alpha1.CredentialSpec(
                provider="ssh",
                config=self.credential_config(known_hosts=known_hosts),
                secret_keys=["privateKey"],
                secret_data={"privateKey": self.private_key()},
            ),
        )

    def credential_config(self, *, known_hosts: str | None = None) -> dict[str, Any]:
        return {
            "user": "root",
            "knownHosts": self.known_hosts() if known_hosts is None else known_hosts,
            "stateDir": str(self.state_dir),
            "connectTimeout": 5,
        }

    def private_key(self) -> str:
        return self.client_key.export_private_key().decode()

    def provider_spec(self, servers: int = 1, hosts: int | None = None) -> dict[str, Any]:
        def pool(hosts: list[SshHost]) -> list[dict[str, Any]]:
            return [{"address": h.address, "port": h.port} for h in hosts]

        root = f"{self.base}/hosts/{{address}}"
        return {
            "hostPools": {
                "servers": pool(self.hosts[:servers]),
                "agents": pool(self.hosts[servers:hosts]),
            },
            "airGap": {
                "installScript": str(HERE / "standin-install.sh"),
                "binary": f"{self.binaries}/k3s-{{version}}",
            },
            "paths": {
                "binDir": f"{root}/usr/local/bin",
                "systemdDir": f"{root}/etc/systemd/system",
                "configDir": f"{root}/etc/rancher/k3s",
                "dataDir": f"{root}/var/lib/rancher/k3s",
            },
            "apiPort": self.api_port,
            "env": {"K3S_STANDIN_DIR": root},
            "serverArgs": ["--bind-address", "{address}"],
        }

    def events(self) -> list[tuple[float, str]]:
        """The stand-in server's event log (on the first host): (timestamp, what) per line."""
        path = self.hosts[0].path("var/lib/rancher/k3s/server/standin-events.log")
        lines = path.read_text().splitlines() if path.exists() else []
        return [(float(x.split()[0]), " ".join(x.split()[1:])) for x in lines]

    def authorized_keys(self) -> Path:
        return self.base / "authorized_keys"

    def stop_services(self) -> None:
        """Stop what the stand-in started (by its pid files), then wait for it to go."""
        pids = []
        for pidfile in (self.base / "hosts").glob("*/etc/systemd/system/*.pid"):
            try:
                pids.append(int(pidfile.read_text().strip()))
            except (OSError, ValueError):
                continue
        for pidfile in self.state_dir.glob("*/job.pid"):
            try:
                pids.append(int(pidfile.read_text().strip()))
            except (OSError, ValueError):
                continue
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for pid in pids:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)


def write_binaries(directory: Path) -> Path:
    """One stand-in ``k3s`` per version: a wrapper that runs standin_k3s.py with this venv."""
    directory.mkdir(parents=True, exist_ok=True)
    for version in (V1, V2):
        wrapper = directory / f"k3s-{version}"
        wrapper.write_text(
            "#!/bin/sh\n"
            f'K3S_STANDIN_VERSION={version} exec {sys.executable} {HERE / "standin_k3s.py"} "$@"\n'
        )
        wrapper.chmod(0o755)
    return directory


def start_lab(base: Path, count: int = 4) -> Lab:
    require_sshd()
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    authorized = base / "authorized_keys"
    base.mkdir(parents=True, exist_ok=True)
    authorized.write_bytes(client_key.export_public_key())
    hosts = []
    for i in range(count):
        address = f"127.0.0.{11 + i}"
        host = SshHost(
            address=address,
            port=free_port(address),
            root=base / "hosts" / address,
            host_key=asyncssh.generate_private_key("ssh-ed25519"),
        )
        host.proc = start_sshd(host, authorized)
        hosts.append(host)
    for host in hosts:
        wait_listening(host)
    return Lab(
        base=base,
        hosts=hosts,
        client_key=client_key,
        binaries=write_binaries(base / "binaries"),
        api_port=free_port("127.0.0.11"),
    )


def stop_lab(lab: Lab) -> None:
    lab.stop_services()
    for host in lab.hosts:
        stop_sshd(host)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    monkeypatch.setenv("ORBIT_SSH_HOST_KEYS_DIR", str(tmp_path / "lab" / "host-keys"))
    made = start_lab(tmp_path / "lab")
    yield made
    stop_lab(made)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def install_server(lab: Lab) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving ``/install.sh`` (the stand-in install script) and
    ``/k3s-<version>`` (the stand-in binaries); yields its base URL."""
    served = lab.base / "served"
    served.mkdir()
    (served / "install.sh").write_bytes((HERE / "standin-install.sh").read_bytes())
    for binary in lab.binaries.iterdir():
        (served / binary.name).write_bytes(binary.read_bytes())
    handler = functools.partial(_Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)
