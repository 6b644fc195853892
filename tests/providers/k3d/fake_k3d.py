"""A stand-in for the ``k3d`` and ``docker`` CLIs, run as executables by the k3d provider tests.

It keeps its "Docker engine" in a JSON state file (``FAKE_K3D_STATE``): clusters and their
node containers (name, role, image, running), whether the daemon is up, and images that do not
exist. Every call is appended to ``FAKE_K3D_LOG`` as one JSON line (``tool``, ``args``).
Answers use k3d v5's real shapes (``pkg/types``: ``name``, ``role``, ``image``, ``State``,
``runtimeLabels``...; ``cluster list`` adds ``serversCount`` and friends) and its real error
lines, so the provider is tested against what k3d prints, not against what we wish it printed.

Only what the provider uses is implemented; any other flag is refused the way cobra refuses it
(``Error: unknown flag: --x``), so a provider passing a wrong flag fails its tests.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

K3D_VERSION = "v5.7.4"
DOCKER_DOWN = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)
_K3S_TAG = re.compile(r"^[a-z0-9./:-]+:v\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?-k3s\d+$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")

State = dict[str, Any]


class Exit(Exception):
    def __init__(self, code: int, stderr: str = "") -> None:
        self.code = code
        self.stderr = stderr


def fatal(message: str) -> Exit:
    return Exit(1, f"FATA[0000] {message}\n")


@contextlib.contextmanager
def locked_state() -> Iterator[State]:
    path = Path(os.environ["FAKE_K3D_STATE"])
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state: State = json.loads(path.read_text()) if path.exists() else {}
        state.setdefault("docker", "up")
        state.setdefault("clusters", {})
        state.setdefault("missingImages", [])
        state.setdefault("apiPort", 6550)
        yield state
        path.write_text(json.dumps(state, indent=1))


def record(tool: str, args: list[str]) -> None:
    with open(os.environ["FAKE_K3D_LOG"], "a") as log:
        log.write(json.dumps({"tool": tool, "args": args}) + "\n")


def parse(args: list[str], flags: dict[str, bool]) -> tuple[list[str], dict[str, list[str]]]:
    """cobra-style: ``flags`` maps each known flag to whether it takes a value."""
    positional: list[str] = []
    given: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            flag, _, inline = arg.partition("=")
            if flag not in flags:
                raise Exit(1, f"Error: unknown flag: {flag}\n")
            if flags[flag] and not inline:
                i += 1
                inline = args[i]
            given.setdefault(flag, []).append(inline or "true")
        else:
            positional.append(arg)
        i += 1
    return positional, given


def node_json(cluster: str, node: dict[str, Any], api_port: int) -> dict[str, Any]:
    labels = {
        "app": "k3d",
        "k3d.cluster": cluster,
        "k3d.role": node["role"],
        "k3d.version": K3D_VERSION,
        "k3d.cluster.network": f"k3d-{cluster}",
        "k3d.cluster.imageVolume": f"k3d-{cluster}-images",
    }
    if node["role"] in ("server", "loadbalancer"):
        labels |= {
            "k3d.server.api.host": "0.0.0.0",
            "k3d.server.api.hostIP": "0.0.0.0",
            "k3d.server.api.port": str(api_port),
        }
    status = "running" if node["running"] else "exited"
    return {
        "name": node["name"],
        "role": node["role"],
        "image": node["image"],
        "volumes": [f"k3d-{cluster}-images:/k3d/images"],
        "env": [],
        "Cmd": [node["role"]] if node["role"] in ("server", "agent") else [],
        "extraArgs": [],
        "portMappings": {},
        "restart": True,
        "created": "2024-11-20T10:00:00Z",
        "runtimeLabels": labels,
        "k3sNodeLabels": None,
        "Networks": [f"k3d-{cluster}"],
        "ExtraHosts": None,
        "serverOpts": {"kubeAPI": None},
        "agentOpts": {},
        "GPURequest": "",
        "Memory": "",
        "State": {"Running": node["running"], "Status": status, "Started": ""},
        "IP": {"IP": "172.18.0.2", "Static": False},
        "K3dEntrypoint": False,
    }


def cluster_json(name: str, cluster: dict[str, Any], api_port: int) -> dict[str, Any]:
    nodes = cluster["nodes"]

    def count(role: str, running: bool = False) -> int:
        return sum(1 for n in nodes if n["role"] == role and (n["running"] or not running))

    return {
        "name": name,
        "network": {"name": f"k3d-{name}", "id": "0f3e" * 16, "ipam": {}, "Members": None},
        "nodes": [node_json(name, n, api_port) for n in nodes],
        "InitNode": None,
        "imageVolume": f"k3d-{name}-images",
        "volumes": [f"k3d-{name}-images"],
        "serversRunning": count("server", running=True),
        "serversCount": count("server"),
        "agentsRunning": count("agent", running=True),
        "agentsCount": count("agent"),
        "hasLoadbalancer": any(n["role"] == "loadbalancer" for n in nodes),
    }


def pull(state: State, image: str) -> None:
    if image in state["missingImages"] or not _K3S_TAG.match(image):
        raise fatal(
            f"failed to pull image '{image}': Error response from daemon: manifest for "
            f"{image} not found: manifest unknown: manifest unknown"
        )


def new_node(name: str, role: str, image: str, state: State) -> dict[str, Any]:
    return {"name": name, "role": role, "image": image, "running": not state.get("pending")}


CREATE_FLAGS = {
    "--servers": True,
    "--agents": True,
    "--image": True,
    "--wait": False,
    "--timeout": True,
    "--kubeconfig-update-default": False,
    "--kubeconfig-switch-context": False,
    "--k3s-arg": True,
    "--api-port": True,
    "--port": True,
    "--registry-use": True,
    "--network": True,
}


def k3d(args: list[str], state: State) -> str:
    if state["docker"] != "up":
        raise fatal(
            "failed to list clusters: docker failed to get containers with labels "
            f"'map[app:k3d]': failed to list containers: {DOCKER_DOWN}"
        )
    clusters: dict[str, Any] = state["clusters"]
    match args[:2]:
        case ["cluster", "list"]:
            _, given = parse(args[2:], {"-o": True, "--output": True})
            assert given.get("-o") == ["json"], "the provider must ask for JSON"
            return json.dumps(
                [cluster_json(n, c, c["apiPort"]) for n, c in sorted(clusters.items())]
            )
        case ["cluster", "create"]:
            (name,), given = parse(args[2:], CREATE_FLAGS)
            if not _HOSTNAME.match(name):
                raise fatal(f"Invalid cluster name. Hostname '{name}' contains bad characters")
            if len(name) > 32:
                raise fatal(f"Cluster name must be <= 32 characters, but has {len(name)}")
            if name in clusters:
                raise fatal(
                    f"Failed to create cluster '{name}' because a cluster with that name "
                    "already exists"
                )
            image = given["--image"][0]
            pull(state, image)
            servers, agents = int(given["--servers"][0]), int(given["--agents"][0])
            nodes = [
                new_node(f"k3d-{name}-server-{i}", "server", image, state) for i in range(servers)
            ]
            nodes += [
                new_node(f"k3d-{name}-agent-{i}", "agent", image, state) for i in range(agents)
            ]
            lb = new_node(
                f"k3d-{name}-serverlb",
                "loadbalancer",
                f"ghcr.io/k3d-io/k3d-proxy:{K3D_VERSION[1:]}",
                state,
            )
            state["apiPort"] += 1
            clusters[name] = {"nodes": [*nodes, lb], "apiPort": state["apiPort"], "flags": given}
            return f"INFO[0030] Cluster '{name}' created successfully!\n"
        case ["cluster", "delete"]:
            names, _ = parse(args[2:], {})
            for name in names:
                if clusters.pop(name, None) is None:
                    sys.stderr.write(f"INFO[0000] No cluster {name} found\n")
            return ""
        case ["node", "create"]:
            (name,), given = parse(
                args[2:],
                {"--cluster": True, "-c": True, "--role": True, "--image": True,
                 "--wait": False, "--timeout": True, "--replicas": True},
            )  # fmt: skip
            cluster = given["--cluster"][0]
            if cluster not in clusters:
                raise fatal(f"Failed to find specified cluster '{cluster}': No nodes found")
            image = given["--image"][0]
            pull(state, image)
            container = f"k3d-{name}-0"
            if any(n["name"] == container for n in clusters[cluster]["nodes"]):
                raise fatal(f'Conflict. The container name "/{container}" is already in use')
            clusters[cluster]["nodes"].append(new_node(container, given["--role"][0], image, state))
            return "INFO[0012] Successfully created 1 node(s)!\n"
        case ["node", "delete"]:
            names, _ = parse(args[2:], {})
            for name in names:
                for c in clusters.values():
                    if any(n["name"] == name for n in c["nodes"]):
                        c["nodes"] = [n for n in c["nodes"] if n["name"] != name]
                        break
                else:
                    raise fatal(f"failed to get node '{name}': No nodes found for given node")
            return ""
        case ["kubeconfig", "get"]:
            (name,), _ = parse(args[2:], {})
            if name not in clusters:
                raise fatal(f"Failed to get cluster '{name}': No nodes found for given cluster")
            cert = base64.b64encode(f"cert of {name}".encode()).decode()
            key = base64.b64encode(f"key of {name}".encode()).decode()
            return (
                "---\napiVersion: v1\nclusters:\n- cluster:\n"
                f"    certificate-authority-data: {cert}\n"
                f"    server: https://0.0.0.0:{clusters[name]['apiPort']}\n"
                f"  name: k3d-{name}\ncontexts:\n- context:\n    cluster: k3d-{name}\n"
                f"    user: admin@k3d-{name}\n  name: k3d-{name}\n"
                f"current-context: k3d-{name}\nkind: Config\npreferences: {{}}\nusers:\n"
                f"- name: admin@k3d-{name}\n  user:\n    client-certificate-data: {cert}\n"
                f"    client-key-data: {key}\n"
            )
    raise Exit(1, f'Error: unknown command "{" ".join(args[:2])}" for "k3d"\n')


def docker(args: list[str], state: State) -> str:
    if state["docker"] != "up":
        raise Exit(1, f"{DOCKER_DOWN}\n")
    match args:
        case ["info", *_]:
            return "27.3.1\n"
        case ["exec", container, "kubectl", "delete", "node", node, *_]:
            running = {
                n["name"] for c in state["clusters"].values() for n in c["nodes"] if n["running"]
            }
            if container not in running:
                raise Exit(1, f"Error response from daemon: container {container} is not running\n")
            return f'node "{node}" deleted\n'
    raise Exit(1, f"unknown docker call {args}\n")


def inject(state: State, tool: str, args: list[str]) -> dict[str, Any] | None:
    """The fault to play for this call, if any: ``state["fail"]["k3d node create"] =
    {"stderr": ..., "times": n, "sleep": seconds, "code": 1}`` (counted down per call)."""
    fault: dict[str, Any] | None = state.get("fail", {}).get(" ".join([tool, *args[:2]]))
    if not fault or fault.get("times", 1) <= 0:
        return None
    fault["times"] = fault.get("times", 1) - 1
    return dict(fault)


def main(tool: str, args: list[str]) -> int:
    record(tool, args)
    try:
        with locked_state() as state:
            fault = inject(state, tool, args)
        if fault is not None:
            time.sleep(fault.get("sleep", 0))
            raise Exit(fault.get("code", 1), fault.get("stderr", "") + "\n")
        with locked_state() as state:
            out = (k3d if tool == "k3d" else docker)(args, state)
    except Exit as exit:
        sys.stderr.write(exit.stderr)
        return exit.code
    sys.stdout.write(out)
    return 0
