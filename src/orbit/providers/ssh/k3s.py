"""The K3s steps on one host: look, claim, install or join or upgrade, uninstall.

What the provider knows about a host it reads from the host on every call (:func:`probe`):

- the **claim** (``<stateDir>/<host>/claim.json``): which cluster the host belongs to, its role,
  node name and K3s paths. Written before anything is installed, removed after the uninstall,
  so a host is never used by two clusters and teardown finds every host a cluster touched;
- the **installed version** (``<binDir>/k3s --version``);
- the **job**: installs run detached on the host (``setsid``), with their exit status written
  next to the claim, so an install outlives a crash of the Orbit Plane and is never started
  twice; the next call sees it running, finished, or failed.

Install, join and upgrade are one step (K3s's own): the install script, by URL (downloaded
with ``curl -sfL`` to a file next to the claim, then run with ``sh``; a failed download ends
the job with :data:`DOWNLOAD_FAILED` rather than running nothing and "succeeding") or uploaded
with the binary (air gap, ``INSTALL_K3S_SKIP_DOWNLOAD=true``), with ``INSTALL_K3S_VERSION`` and
the other settings in its environment. The first server always starts with ``--cluster-init``
(embedded etcd): a server started on SQLite could not take the servers a later scale-up adds.
The node token travels in the job's environment file (mode 0600, removed when the job starts),
never on a command line.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from orbit.providers.base import ClusterRef, ProviderPermanentError, ProviderTransientError
from orbit.providers.ssh.hosts import Host
from orbit.providers.ssh.spec import Paths, PoolHost, Role, SshProviderSpec

_SEP = "@@orbit@@"
#: The job's exit status when the install script could not be downloaded.
DOWNLOAD_FAILED = 90
_LOCAL = {"127.0.0.1", "localhost", "0.0.0.0", "::1", "[::1]"}


@dataclass(frozen=True)
class Claim:
    """A host's record of the cluster it belongs to."""

    uid: str
    namespace: str
    name: str
    role: Role
    init: bool
    node: str
    size: str
    paths: Paths

    def to_json(self) -> bytes:
        data = {**self.__dict__, "paths": self.paths.model_dump(by_alias=True)}
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Claim | None:
        try:
            data: dict[str, Any] = json.loads(raw)
            return cls(**{**data, "paths": Paths.model_validate(data["paths"])})
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class Job:
    name: str
    status: int | None
    running: bool


@dataclass(frozen=True)
class HostState:
    claim: Claim | None
    version: str | None
    job: Job | None


def state_dir(root: str, host: Host) -> str:
    return f"{root}/{host.addr.slug}"


async def probe(host: Host, root: str, *, bin_dir: str) -> HostState:
    """The host's claim, installed K3s version and last job, in one round trip. ``bin_dir`` is
    used when the host has no claim (which records its own)."""
    d = shlex.quote(state_dir(root, host))
    script = f"""
D={d}; B=$(cat "$D/bin_dir" 2>/dev/null || echo {shlex.quote(bin_dir)})
cat "$D/claim.json" 2>/dev/null; echo {_SEP}
"$B/k3s" --version 2>/dev/null | head -n 1; echo {_SEP}
cat "$D/job.name" 2>/dev/null; echo {_SEP}
cat "$D/job.rc" 2>/dev/null; echo {_SEP}
if [ -f "$D/job.pid" ] && [ ! -f "$D/job.rc" ] && kill -0 "$(cat "$D/job.pid")" 2>/dev/null
then echo running; fi
"""
    out = await host.check(script, what="reading the host's state")
    parts = [p.strip() for p in out.decode(errors="replace").split(_SEP)]
    if len(parts) != 5:
        raise ProviderTransientError(f"host {host.addr}: unexpected answer reading its state")
    claim_raw, version_line, job_name, job_rc, running = parts
    claim = Claim.from_json(claim_raw.encode()) if claim_raw else None
    if claim_raw and claim is None:
        raise ProviderPermanentError(
            f"host {host.addr}: {state_dir(root, host)}/claim.json is not Orbit's; remove it"
        )
    words = version_line.split()
    version = words[2] if len(words) >= 3 and words[1] == "version" else None
    job = None
    if job_name:
        status = int(job_rc) if job_rc.lstrip("-").isdigit() else None
        job = Job(name=job_name, status=status, running=running == "running")
    return HostState(claim=claim, version=version, job=job)


async def write_claim(host: Host, root: str, claim: Claim) -> None:
    d = state_dir(root, host)
    await host.write(f"{d}/bin_dir", claim.paths.bin_dir.encode(), mode=0o644)
    await host.write(f"{d}/claim.json", claim.to_json(), mode=0o644)


def job_name(version: str) -> str:
    return f"k3s {version}"


async def start_install(
    host: Host,
    root: str,
    *,
    spec: SshProviderSpec,
    member: PoolHost,
    claim: Claim,
    version: str,
    join: tuple[str, str] | None,
) -> None:
    """Start the install script detached (install, join, or upgrade to ``version``)."""
    d, paths, address = state_dir(root, host), claim.paths, member.address
    env = {
        "INSTALL_K3S_VERSION": version,
        "INSTALL_K3S_BIN_DIR": paths.bin_dir,
        "INSTALL_K3S_SYSTEMD_DIR": paths.systemd_dir,
        **{k: v.replace("{address}", address) for k, v in spec.env.items()},
    }
    if join is not None:
        env["K3S_URL"], env["K3S_TOKEN"] = join
    args = [claim.role, "--node-name", claim.node, "--data-dir", paths.data_dir]
    if claim.role == "server":
        args += ["--write-kubeconfig", paths.kubeconfig, "--https-listen-port", str(spec.api_port)]
        if claim.init:
            args.append("--cluster-init")
    extra = spec.server_args if claim.role == "server" else spec.agent_args
    args += [a.replace("{address}", address) for a in extra]
    words = " ".join(shlex.quote(a) for a in args)
    if spec.air_gap is None:
        script = shlex.quote(f"{d}/install.sh")
        run = (
            f"rm -f {script} && "
            f"{{ curl -sfL --retry 2 -o {script} {shlex.quote(spec.install_script_url)} || "
            f'{{ echo "[ERROR] downloading the install script failed (curl exit $?)" >&2; '
            f"exit {DOWNLOAD_FAILED}; }}; }} && "
            f"sh {script} {words}"
        )
    else:
        env["INSTALL_K3S_SKIP_DOWNLOAD"] = "true"
        staged = f"{d}/k3s-{version}"
        await host.write(f"{d}/install.sh", _local(spec.air_gap.install_script), mode=0o700)
        binary = spec.air_gap.binary.replace("{version}", version)
        await host.write(staged, _local(binary), mode=0o755)
        bin_path = f"{paths.bin_dir}/k3s"
        run = (
            f"mkdir -p {shlex.quote(paths.bin_dir)} && "
            f"cp {shlex.quote(staged)} {shlex.quote(bin_path + '.orbit-tmp')} && "
            f"mv -f {shlex.quote(bin_path + '.orbit-tmp')} {shlex.quote(bin_path)} && "
            f"sh {shlex.quote(d + '/install.sh')} {words}"
        )
    env_file = "".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items())
    await host.write(f"{d}/job.env", env_file.encode(), mode=0o600)
    q = shlex.quote
    job = (
        f"set -a; . {q(d + '/job.env')}; set +a; rm -f {q(d + '/job.env')}\n"
        f"( {run} )\n"
        f"echo $? > {q(d + '/job.rc.tmp')} && mv -f {q(d + '/job.rc.tmp')} {q(d + '/job.rc')}\n"
    )
    await host.write(f"{d}/job.sh", job.encode(), mode=0o700)
    launch = (
        f"cd {q(d)} && rm -f job.rc job.pid && echo {q(job_name(version))} > job.name && "
        "if command -v setsid >/dev/null 2>&1; then "
        "setsid nohup sh ./job.sh > job.log 2>&1 < /dev/null & "
        "else nohup sh ./job.sh > job.log 2>&1 < /dev/null & fi; echo $! > job.pid"
    )
    await host.check(launch, what="starting the K3s install")


async def forget_failed_job(host: Host, root: str) -> None:
    """Keep a failed job's log for people, and let the next call start it again."""
    d = shlex.quote(state_dir(root, host))
    await host.check(
        f"cd {d} && mv -f job.log job.failed.log 2>/dev/null; rm -f job.name job.rc job.pid",
        what="clearing a failed install",
    )


async def uninstall(host: Host, root: str, claim: Claim) -> None:
    """Stop any running job and run K3s's uninstall script (if it is there)."""
    d = shlex.quote(state_dir(root, host))
    script = shlex.quote(claim.paths.uninstall_script(claim.role))
    await host.check(
        f'if [ -f {d}/job.pid ]; then kill "$(cat {d}/job.pid)" 2>/dev/null; fi; '
        f"if [ -x {script} ]; then {script} >/dev/null 2>&1 || exit 1; fi",
        what=f"uninstalling K3s ({claim.paths.uninstall_script(claim.role)})",
    )


async def drop_claim(host: Host, root: str) -> None:
    """The host no longer belongs to the cluster (after its uninstall)."""
    d = shlex.quote(state_dir(root, host))
    await host.check(f"rm -rf {d}", what="removing Orbit's claim")


async def read_kubeconfig(host: Host, claim: Claim) -> bytes | None:
    return await host.read(claim.paths.kubeconfig)


async def read_token(host: Host, claim: Claim) -> str | None:
    raw = await host.read(claim.paths.node_token)
    token = raw.decode(errors="replace").strip() if raw else ""
    return token or None


def rewrite_kubeconfig(raw: bytes, *, address: str, ref: ClusterRef) -> tuple[bytes, str]:
    """K3s writes ``https://127.0.0.1:6443``: point it at the server's address, and name the
    cluster, user and context after the ClusterDeployment. Returns (kubeconfig, server URL)."""
    try:
        doc: dict[str, Any] = yaml.safe_load(raw)
        cluster = doc["clusters"][0]
        user = doc["users"][0]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        raise ProviderTransientError(f"host {address}: K3s's kubeconfig is not readable") from None
    parts = urlsplit(str(cluster["cluster"]["server"]))
    host = f"[{address}]" if ":" in address else address
    netloc = parts.netloc
    if parts.hostname in _LOCAL or parts.hostname is None:
        netloc = host + (f":{parts.port}" if parts.port else "")
    server = urlunsplit(parts._replace(netloc=netloc))
    name = f"{ref.namespace}-{ref.name}"
    cluster["cluster"]["server"], cluster["name"], user["name"] = server, name, f"{name}-admin"
    doc["clusters"], doc["users"] = [cluster], [user]
    doc["contexts"] = [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}]
    doc["current-context"] = name
    return yaml.safe_dump(doc, sort_keys=False).encode(), server


def _local(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ProviderPermanentError(
            f"providerSpec.airGap: cannot read {path} on the Orbit Plane ({err.strerror})"
        ) from None
