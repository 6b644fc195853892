"""End-to-end fixtures: a real ``orbit up`` subprocess on a free loopback port, and the real
``orbit`` CLI run as a subprocess against it, as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Orbit:
    """One Orbit Plane process; ``start``/``kill``/``stop`` it like an operator would."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        with (self.data_dir / "orbit.log").open("ab") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orbit.main",
                    "up",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"orbit up exited early:\n{self.log_tail()}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"orbit up not ready within {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs."""
        assert self.proc is not None
        kill_process(self.proc)

    def stop(self) -> None:
        stop_process(self.proc)

    def log_tail(self, lines: int = 60) -> str:
        path = self.data_dir / "orbit.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def cli(self, *args: str, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "orbit.main", "--server", self.url, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, timeout: float = 240.0) -> str:
        done = self.cli(*args, timeout=timeout)
        assert done.returncode == 0, (
            f"orbit {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
            f"--- server log ---\n{self.log_tail()}"
        )
        return done.stdout

    def get_json(self, *args: str) -> Any:
        return json.loads(self.ok("get", *args, "-o", "json"))

    @property
    def token(self) -> str:
        """The first-start admin token ``orbit up`` wrote (the CLI finds it through the
        context ``orbit up`` saved in $ORBIT_CONFIG)."""
        return (self.data_dir / "admin.token").read_text().strip()

    def api(self, path: str, *, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.get(f"{self.url}{path}", timeout=10, headers=headers)

    def sim_api(self, path: str) -> httpx.Response:
        """The simulated Cluster Plane's own API: its listener, not Orbit's (self-signed TLS)."""
        port = self.env["ORBIT_SIM__ENDPOINT_PORT"]
        return httpx.get(f"https://127.0.0.1:{port}{path}", timeout=10, verify=False)


def kill_process(proc: subprocess.Popen[Any]) -> None:
    """``kill -9`` and reap: the process runs no shutdown code."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


def stop_process(proc: subprocess.Popen[Any] | None) -> None:
    """SIGTERM, a graceful 30 s, then SIGKILL; nothing when it is not running."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def new_orbit(data_dir: Path, **env: str) -> Orbit:
    """An Orbit (not started) with its data in ``data_dir`` (created here), fast controller
    timings, free ports, and ``env`` on top of this process's environment."""
    full = {
        **os.environ,
        "ORBIT_SIM__NODE_LATENCY": "0.3",
        "ORBIT_CONTROLLERS__POLL_INTERVAL": "0.2",
        "ORBIT_CONTROLLERS__BASE_DELAY": "0.05",
        "ORBIT_CONTROLLERS__MAX_DELAY": "2",
        "ORBIT_LOG_LEVEL": "INFO",
        "ORBIT_SIM__ENDPOINT_PORT": str(free_port()),
        "ORBIT_ACCESS_POINT__HTTPS_PORT": str(free_port()),
        **env,
    }
    full.pop("ORBIT_SERVER", None)
    full.pop("ORBIT_DATABASE_URL", None)
    orbit = Orbit(data_dir=data_dir, env=full)
    orbit.data_dir.mkdir()
    return orbit


@pytest.fixture
def orbit_factory(tmp_path: Path) -> Iterator[Callable[..., Orbit]]:
    made: list[Orbit] = []

    def make(**env: str) -> Orbit:
        orbit = new_orbit(tmp_path / f"orbit{len(made)}", **env)
        made.append(orbit)
        return orbit

    yield make
    for orbit in made:
        orbit.stop()


def wait_for(
    check: Callable[[], bool], *, timeout: float, what: str, on_fail: Callable[[], str] = str
) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` (generous: never a speed test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{on_fail()}")
