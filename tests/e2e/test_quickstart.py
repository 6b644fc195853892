"""The README's quick start, as a new user runs it: a fresh clone, no virtual environment, the
first command sets up and runs Orbit, the second sets up and runs tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_exactly_two_quickstart_commands() -> None:
    assert quickstart_commands() == ["scripts/up.sh", "scripts/test.sh"]


def test_quickstart_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "orbit"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORBIT_", "VIRTUAL_ENV"))}
    env["ORBIT_CONFIG"] = str(tmp_path / "orbit-config")  # `orbit up` saves its admin context
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p
    )
    port = free_port()
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            ["scripts/up.sh", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900  # includes creating the venv and installing
        while time.monotonic() < deadline:
            assert up.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            raise AssertionError(f"Orbit did not come up:\n{log.read_text()[-3000:]}")
        templates = subprocess.run(
            [
                str(clone / ".venv/bin/orbit"),
                "--server",
                f"http://127.0.0.1:{port}",
                "get",
                "clustertemplates",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        ).stdout
        assert "sim-ha-1-0-0" in templates
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(60)

    tested = subprocess.run(
        ["scripts/test.sh", "-q", "-p", "no:cacheprovider", "tests/integration"],
        cwd=clone,
        env={**env, "ORBIT_REQUIRE_SERVICES": os.environ.get("ORBIT_REQUIRE_SERVICES", "")},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert " passed" in tested.stdout
