"""The git runner: what git is given (argv, environment, key files), timeouts, cancellation.

A fake ``git`` records its argv, its environment and what the SSH command's key file looked
like while it ran, then exits as told; the real git and a server that never answers show the
timeout on a real hang.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shlex
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from orbit.gitrepo import (
    HttpsAuth,
    PermanentGitError,
    SshAuth,
    TransientGitError,
    WorkingCopy,
    runner,
)
from orbit.gitrepo import auth as gitauth

from .conftest import Origin, write_back

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBUOPSECRETKEYMATERIALxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
TOKEN = "ghp_S3cretT0kenValue1234567890"
SSH_URL = "ssh://git@git.example.com:2222/fleet.git"
HTTPS_URL = "https://git.example.com/fleet.git"

FAKE_GIT = """#!{python}
import json, os, shlex, stat, sys
record = {{"argv": sys.argv, "env": dict(os.environ), "key": None}}
command = os.environ.get("GIT_SSH_COMMAND")
if command:
    words = shlex.split(command)
    key = words[words.index("-i") + 1]
    record["key"] = {{
        "path": key,
        "mode": stat.S_IMODE(os.stat(key).st_mode),
        "dir_mode": stat.S_IMODE(os.stat(os.path.dirname(key)).st_mode),
        "content": open(key).read(),
    }}
with open({out!r}, "a") as f:
    f.write(json.dumps(record) + "\\n")
sys.stderr.write({stderr!r})
sys.exit({code})
"""


def fake_git(tmp_path: Path, *, stderr: str = "", code: int = 0) -> tuple[Path, Path]:
    """A git that records each call to a JSON-lines file; (executable, record file)."""
    out = tmp_path / "calls.jsonl"
    exe = tmp_path / "fake-git"
    exe.write_text(FAKE_GIT.format(python=sys.executable, out=str(out), stderr=stderr, code=code))
    exe.chmod(0o755)
    return exe, out


def calls(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def call_for(url: str, auth: gitauth.Auth) -> runner.Call:
    return runner.Call(remote=gitauth.parse_remote(url, auth), auth=auth, branch="main")


@pytest.fixture
def leaky_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a careless machine might have set; none of it may reach git."""
    for name, value in {
        "GIT_DIR": "/elsewhere/.git",
        "GIT_TRACE": "1",
        "GIT_ASKPASS": "/usr/bin/askpass",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "GIT_SSH_COMMAND": "ssh -o StrictHostKeyChecking=no",
        "ORBIT_SECRET": "do-not-pass",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("leaky_environment")
async def test_an_ssh_key_reaches_ssh_as_a_private_file_only(tmp_path: Path) -> None:
    exe, out = fake_git(tmp_path)
    git = runner.Git(executable=str(exe), scratch=tmp_path / "scratch")
    auth = SshAuth(private_key=KEY, known_hosts="[git.example.com]:2222 ssh-ed25519 AAAA")

    await git.run("fetch", "origin", call=call_for(SSH_URL, auth))

    (seen,) = calls(out)
    assert not any("PRIVATE KEY" in arg or "SECRETKEY" in arg for arg in seen["argv"])
    assert not any("SECRETKEY" in value for value in seen["env"].values())
    key = seen["key"]
    assert key["content"] == KEY
    assert key["mode"] == 0o600
    assert key["dir_mode"] == 0o700
    assert not list((tmp_path / "scratch").iterdir())  # the key went with its directory
    ssh = shlex.split(seen["env"]["GIT_SSH_COMMAND"])
    for option in (
        "IdentitiesOnly=yes",
        "StrictHostKeyChecking=yes",
        "BatchMode=yes",
        "GlobalKnownHostsFile=/dev/null",
    ):
        assert option in ssh
    assert ssh[:3] == ["ssh", "-F", "/dev/null"]
    env = seen["env"]
    for name in ("GIT_DIR", "GIT_TRACE", "GIT_ASKPASS", "SSH_AUTH_SOCK", "ORBIT_SECRET"):
        assert name not in env
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null"
    assert env["LC_ALL"] == "C"
    assert env["HOME"] != os.environ.get("HOME")


async def test_trust_on_first_use_only_when_asked(tmp_path: Path) -> None:
    exe, out = fake_git(tmp_path)
    git = runner.Git(executable=str(exe), scratch=tmp_path / "scratch")
    await git.run("fetch", call=call_for(SSH_URL, SshAuth(private_key=KEY, known_hosts="")))
    tofu = SshAuth(private_key=KEY, known_hosts="", accept_new_host_keys=True)
    await git.run("fetch", call=call_for(SSH_URL, tofu))

    strict, accepting = (shlex.split(c["env"]["GIT_SSH_COMMAND"]) for c in calls(out))
    assert "StrictHostKeyChecking=yes" in strict
    assert "StrictHostKeyChecking=accept-new" in accepting


async def test_https_credentials_travel_in_the_environment_only(tmp_path: Path) -> None:
    exe, out = fake_git(tmp_path)
    git = runner.Git(executable=str(exe), scratch=tmp_path / "scratch")
    auth = HttpsAuth(username="orbit", password_or_token=TOKEN)

    await git.run("fetch", "origin", call=call_for(HTTPS_URL, auth))

    (seen,) = calls(out)
    assert not any(TOKEN in arg for arg in seen["argv"])
    env = seen["env"]
    config = {
        env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"]
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    }
    assert config["http.extraHeader"] == "Authorization: Basic b3JiaXQ6" + (
        "Z2hwX1MzY3JldFQwa2VuVmFsdWUxMjM0NTY3ODkw"
    )
    assert config["protocol.allow"] == "never"
    assert config["core.hooksPath"] == "/dev/null"


BASIC = "b3JiaXQ6Z2hwX1MzY3JldFQwa2VuVmFsdWUxMjM0NTY3ODkw"  # base64 of "orbit:" + TOKEN
KEY_LINE = KEY.splitlines()[2]


@pytest.mark.parametrize(
    ("auth", "url", "echoed", "secrets"),
    [
        (
            HttpsAuth(username="orbit", password_or_token=TOKEN),
            HTTPS_URL,
            f"fatal: unable to access 'https://orbit:{TOKEN}@git.example.com/'\n"
            f"> Authorization: Basic {BASIC}\nerror: the token {TOKEN} was refused\n",
            (TOKEN, BASIC),
        ),
        (
            SshAuth(private_key=KEY, known_hosts=""),
            SSH_URL,
            f"debug: loaded {KEY}error: bad line {KEY_LINE}\n",
            ("SECRETKEY", KEY_LINE, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
        ),
    ],
    ids=["https", "ssh"],
)
async def test_secrets_git_echoes_are_masked_in_errors(
    tmp_path: Path, auth: gitauth.Auth, url: str, echoed: str, secrets: tuple[str, ...]
) -> None:
    exe, _ = fake_git(tmp_path, stderr=echoed, code=128)
    git = runner.Git(executable=str(exe), scratch=tmp_path / "scratch")

    with pytest.raises(TransientGitError) as caught:
        await git.run("fetch", call=call_for(url, auth))

    message = str(caught.value)
    assert "git.example.com" in message
    assert "***" in message
    for secret in secrets:
        assert secret not in message, (secret, message)


def test_secrets_are_not_in_the_auth_reprs() -> None:
    assert TOKEN not in repr(HttpsAuth(username="u", password_or_token=TOKEN))
    assert "SECRETKEY" not in repr(SshAuth(private_key=KEY, known_hosts=""))


@pytest.mark.parametrize(
    "url",
    [
        "https://orbit:hunter2@git.example.com/fleet.git",
        "https://ghp_token@git.example.com/fleet.git",
        "ssh://git:hunter2@git.example.com/fleet.git",
    ],
)
def test_urls_with_credentials_are_refused(url: str) -> None:
    with pytest.raises(PermanentGitError, match="the repository URL holds credentials") as caught:
        gitauth.parse_remote(url, HttpsAuth(username="u", password_or_token="p"))
    assert "hunter2" not in str(caught.value)
    assert "ghp_token" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "auth", "message"),
    [
        ("http://git.example.com/x.git", gitauth.NO_AUTH, "must start with file://, ssh://"),
        ("git@github.com:org/repo.git", gitauth.NO_AUTH, "must start with file://, ssh://"),
        ("file://relative/x.git", gitauth.NO_AUTH, "needs an absolute path"),
        ("ssh://-oProxyCommand=x/repo", SshAuth(private_key=KEY, known_hosts=""), "no valid host"),
        ("https://h/x.git", SshAuth(private_key=KEY, known_hosts=""), "takes no auth or HTTPS"),
        ("https://h:99999/x.git", gitauth.NO_AUTH, "malformed"),
        ("https://h/x .git", gitauth.NO_AUTH, "white space"),
    ],
)
def test_bad_urls_are_refused(url: str, auth: gitauth.Auth, message: str) -> None:
    with pytest.raises(PermanentGitError, match=message):
        gitauth.parse_remote(url, auth)


def test_ports_default_per_scheme() -> None:
    key = SshAuth(private_key=KEY, known_hosts="")
    assert gitauth.parse_remote("ssh://git@h/x.git", key).host == "h:22"
    assert gitauth.parse_remote("https://h/x.git", gitauth.NO_AUTH).host == "h:443"
    assert gitauth.parse_remote("https://h:8443/x.git", gitauth.NO_AUTH).host == "h:8443"


async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    exe = tmp_path / "slow-git"
    exe.write_text(  # a git that starts a helper (as git starts ssh) and hangs
        f"#!/bin/sh\nsleep 600 &\necho $! > {pidfile}\nwait\n"
    )
    exe.chmod(0o755)
    git = runner.Git(executable=str(exe), timeout=1, scratch=tmp_path / "scratch")

    started = time.monotonic()
    with pytest.raises(TransientGitError, match=r"`git fetch` did not finish within 1s"):
        await git.run("fetch")
    assert time.monotonic() - started < 10
    assert _gone(int(pidfile.read_text()))


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":  # killed; waiting for init to reap it
            return True
        time.sleep(0.05)
    return False


async def test_a_remote_that_never_answers_times_out(tmp_path: Path) -> None:
    with socket.socket() as server:  # accepts the connection, then says nothing
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        wc = WorkingCopy(tmp_path / "gitops" / "hung", timeout=2)
        with pytest.raises(TransientGitError, match="did not finish within 2s"):
            await wc.sync(f"https://127.0.0.1:{port}/fleet.git", branch="main")


async def test_cancelling_at_any_moment_leaves_a_usable_working_copy(
    origin: Origin, wc: WorkingCopy
) -> None:
    await wc.sync(origin.url, branch="main")
    rng = random.Random(7)
    for i in range(15):
        task = asyncio.create_task(write_back(wc, {f".orbit/status/{i}.yaml": b"x\n"}))
        await asyncio.sleep(rng.uniform(0, 0.1))
        task.cancel()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 20)
    assert await wc.sync(origin.url, branch="main") == origin.head()
    assert not list(wc.path.parent.glob(f".{wc.path.name}.tmp/*"))


def test_lock_and_key_files_are_created_private(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    gitauth.write_private(path, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):  # never reuses (or follows) what is there
        gitauth.write_private(path, b"y")
