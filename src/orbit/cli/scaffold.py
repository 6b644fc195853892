"""The files ``orbit gitops init`` writes: a repository a team can manage its fleet from.

Layout (docs/gitops.md)::

    README.md            how to use it
    bootstrap.yaml       the GitRepository to apply once (outside the synced path)
    .age-recipients      who secret values are encrypted for (Orbit's identity, yours)
    .githooks/pre-commit refuses a commit that holds a plaintext secret
    orbit/               the synced path: one directory per namespace
      default/clusters/demo.yaml
    .orbit/status/       written by Orbit: the current state of every object (do not edit)

Every file is a template with ``{url}``, ``{branch}`` and ``{namespace}`` filled in; nothing
here talks to a server.
"""

from __future__ import annotations

from dataclasses import dataclass

README = """\
# Orbit fleet repository

This repository is the source of truth of an Orbit fleet: Orbit applies every Orbit object
under `orbit/` and writes how it sees each of them back under `.orbit/status/`, so the history
of this repository is the history of the fleet. As long as it exists, the whole platform can
be rebuilt (or duplicated) by pointing a new Orbit at it.

## Layout

- `orbit/<namespace>/...`: the desired state, any layout below that (`clusters/`,
  `templates/`, `credentials/`, `services/`). Every `*.yaml`, `*.yml` and `*.json` file is read;
  documents whose `apiVersion` is not `orbit.k8or.io/...` are left alone.
- `.orbit/status/<namespace>/<kind>/<name>.yaml`: written by Orbit (phase, conditions, nodes,
  versions, services). Do not edit; Orbit commits there with messages saying what changed.
- `bootstrap.yaml`: the GitRepository that connects Orbit to this repository. Apply it once:
  `orbit apply -f bootstrap.yaml`.
- `.age-recipients`: the age public keys secret values are encrypted for.

## Changing the fleet

Open a pull request. A cluster is a file:

    cp orbit/default/clusters/demo.yaml orbit/default/clusters/demo-2.yaml   # then rename it inside

creates an identical new cluster once merged; deleting the file deletes the cluster. A file
Orbit cannot read changes nothing: the GitRepository's `Ready` condition names the file and
line (`orbit describe gitrepository {name} -n {namespace}`).

## Secrets

Credentials hold their secret values encrypted with age, never in plain text:

    orbit secrets encrypt orbit/team-a/credentials/aws.yaml   # encrypts spec.secretData values
    orbit secrets edit orbit/team-a/credentials/aws.yaml      # decrypt, edit, re-encrypt
    orbit secrets check                                       # fails on any plaintext secret

Enable the pre-commit hook once per clone: `git config core.hooksPath .githooks`.
"""

BOOTSTRAP = """\
# Apply once: `orbit apply -f bootstrap.yaml`. Orbit then syncs orbit/ from this repository.
apiVersion: orbit.k8or.io/v1alpha1
kind: GitRepository
metadata:
  name: {name}
  namespace: {namespace}
spec:
  url: {url}
  branch: {branch}
  path: orbit
  interval: 1m
  prune: true
  # credentialRef: git-access     # a Credential of provider "git" (SSH key or token)
"""

DEMO_CLUSTER = """\
# A single-node cluster from the default catalog. Copy this file under a new name for another.
apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterDeployment
metadata:
  name: demo
  namespace: default
  labels:
    env: demo
spec:
  template: sim-single-1-0-0
  credential: sim
  config:
    workers: 1
"""

PRE_COMMIT = """\
#!/bin/sh
# Refuse a commit that would add a plaintext secret (enable: git config core.hooksPath .githooks).
exec orbit secrets check
"""

RECIPIENTS = """\
# age recipients: every secret value in this repository is encrypted for each of these keys.
# Orbit's own (printed at its start, "GitOps secrets ... age recipient") must be one of them.
"""


@dataclass(frozen=True)
class File:
    path: str
    content: str
    executable: bool = False


def files(*, url: str, branch: str, name: str, namespace: str, recipients: list[str]) -> list[File]:
    """The scaffold's files, relative to the repository's root."""
    fields = {"url": url, "branch": branch, "name": name, "namespace": namespace}
    return [
        File("README.md", README.format(**fields)),
        File("bootstrap.yaml", BOOTSTRAP.format(**fields)),
        File(".age-recipients", RECIPIENTS + "".join(f"{r}\n" for r in recipients)),
        File(".githooks/pre-commit", PRE_COMMIT, executable=True),
        File("orbit/default/clusters/demo.yaml", DEMO_CLUSTER),
    ]
