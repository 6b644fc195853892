"""Real ``sshd`` servers for tests: one ``/usr/sbin/sshd -D -e`` per loopback address.

Each :class:`SshdHost` listens on its own address and a free port, with a generated host key
and an ``authorized_keys`` file the test writes, and lets root log in with a key only. The
ssh provider's tests (``tests/providers/ssh``) and the git-over-SSH tests (``tests/gitrepo``)
start their hosts with :func:`start_sshd` and :func:`wait_listening`, and stop them with
:func:`stop_sshd`.

Needs ``/usr/sbin/sshd`` (Debian: ``apt-get install openssh-server``) and root:
:func:`require_sshd` skips the calling test with the reason otherwise, or fails it when
ORBIT_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from tests.conftest import services_required

SSHD = Path("/usr/sbin/sshd")


def _why_not() -> str | None:
    if not SSHD.exists():
        return f"{SSHD} is missing (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "the sshd test hosts log in as root; run the tests as root"
    return None


def require_sshd() -> None:
    reason = _why_not()
    if reason is None:
        return
    if services_required():
        pytest.fail(f"ORBIT_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class SshdHost:
    """One sshd: where it listens, its files (under ``root``), its host key, its process."""

    address: str
    port: int
    root: Path
    host_key: asyncssh.SSHKey
    proc: subprocess.Popen[bytes] | None = None

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None) -> str:
        public = (key or self.host_key).export_public_key().decode().strip()
        return f"[{self.address}]:{self.port} {public}"


def start_sshd(host: SshdHost, authorized: Path) -> subprocess.Popen[bytes]:
    """Start sshd for ``host`` (its files in ``<root>/sshd``), trusting ``authorized``."""
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # its privilege separation directory
    d = host.root / "sshd"
    d.mkdir(parents=True, exist_ok=True)
    key_path = d / "host_key"
    key_path.write_bytes(host.host_key.export_private_key())
    key_path.chmod(0o600)
    config = d / "sshd_config"
    config.write_text(
        f"ListenAddress {host.address}:{host.port}\n"
        f"HostKey {key_path}\n"
        f"AuthorizedKeysFile {authorized}\n"
        f"PidFile {d / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "Subsystem sftp internal-sftp\n"
    )
    with (d / "sshd.log").open("ab") as log:  # the child keeps its own handle
        return subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log)


def wait_listening(host: SshdHost, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert host.proc is not None
        if host.proc.poll() is not None:
            raise AssertionError(
                f"sshd on {host.address} exited: {(host.root / 'sshd/sshd.log').read_text()}"
            )
        try:
            with socket.create_connection((host.address, host.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"sshd on {host.address}:{host.port} not listening after {timeout}s")


def stop_sshd(host: SshdHost) -> None:
    if host.proc is not None and host.proc.poll() is None:
        host.proc.terminate()
        try:
            host.proc.wait(10)
        except subprocess.TimeoutExpired:
            host.proc.kill()
            host.proc.wait(10)
