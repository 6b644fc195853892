"""The files ``orbit gitops init`` writes: a repository a team can manage its fleet from.

Layout (docs/gitops.md)::

    README.md            how to use it
    bootstrap.yaml       the GitRepository to apply once (outside the synced path)
    .age-recipients      who secret values are encrypted for (Orbit's identity, yours)
    .githooks/pre-commit refuses a commit that holds a plaintext secret
    orbit/               the synced path: one directory per namespace
      default/clusters/demo.yaml              a cluster of the template below, with the service
      default/templates/demo-1-0-0.yaml       a ClusterTemplate
      default/services/hello-1-0-0.yaml       a ServiceTemplate
      default/credentials/README.md           how to add a Credential, encrypted
    .orbit/status/       written by Orbit: the current state of every object (do not edit)

The README and bootstrap are templates with ``{url}``, ``{branch}``, ``{name}`` and
``{namespace}`` filled in; the examples are written as they are. Nothing here talks to a
server.
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

- `orbit/<namespace>/...`: the desired state. Any layout below that works; this one has
  - `clusters/`: ClusterDeployments (`demo.yaml`: a cluster of the template below, with the
    service below);
  - `templates/`: ClusterTemplates, the blueprints clusters are made from (`demo-1-0-0.yaml`);
  - `services/`: ServiceTemplates, what is deployed into clusters (`hello-1-0-0.yaml`);
  - `credentials/`: Credentials, their secret values encrypted (see its `README.md`).

  Every `*.yaml`, `*.yml` and `*.json` file is read; documents whose `apiVersion` is not
  `orbit.k8or.io/...` are left alone.
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

Templates are immutable: a new version is a new file with a new name (`demo-1-1-0.yaml`),
named in the old one's `upgradeTo`; a cluster moves to it when its `template` changes.

## Secrets

Credentials hold their secret values encrypted with age, never in plain text
(`orbit/default/credentials/README.md` walks through adding one):

    orbit secrets encrypt orbit/default/credentials/aws.yaml  # encrypts spec.secretData values
    orbit secrets edit orbit/default/credentials/aws.yaml     # decrypt, edit, re-encrypt
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
# A cluster of this repository's template (templates/demo-1-0-0.yaml) with its hello service
# (services/hello-1-0-0.yaml), on the credential "sim" of Orbit's default catalog. Copy this
# file under a new name (and rename it inside) for another, identical cluster.
apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterDeployment
metadata:
  name: demo
  namespace: default
  labels:
    env: demo
spec:
  template: demo-1-0-0
  credential: sim
  config:
    workers: 1
  services:
  - name: hello
    template: hello-1-0-0
    namespace: hello
    values:
      message: hello
"""

DEMO_TEMPLATE = """\
# A ClusterTemplate: what a cluster is made of, and what its users may set (spec.parameters,
# a JSON Schema with defaults). Templates are immutable: a new version is a new file and name
# (demo-1-1-0), listed in this one's upgradeTo so that clusters may move to it.
apiVersion: orbit.k8or.io/v1alpha1
kind: ClusterTemplate
metadata:
  name: demo-1-0-0
  namespace: default
spec:
  provider: sim
  version: 1.0.0
  kubernetesVersion: v1.30.6+k3s1
  description: One server and a few workers on the simulated Cluster Plane
  parameters:
    type: object
    additionalProperties: false
    properties:
      workers: {type: integer, minimum: 0, maximum: 5, default: 1, description: Worker nodes}
  cluster:
    controlPlane: {count: 1, machineSize: small}
    workers: {count: "{{ workers }}", machineSize: small}
"""

HELLO_SERVICE = """\
# A ServiceTemplate: Kubernetes manifests (Jinja2: its values, and the target cluster as
# `cluster`) that clusters list in spec.services. Immutable and versioned, like a template.
apiVersion: orbit.k8or.io/v1alpha1
kind: ServiceTemplate
metadata:
  name: hello-1-0-0
  namespace: default
spec:
  version: 1.0.0
  parameters:
    type: object
    properties:
      message: {type: string, default: hello}
  resources: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: hello
    data:
      message: "{{ message }} from {{ cluster.name }}"
"""

CREDENTIALS_README = """\
# Credentials

A Credential gives Orbit access to an infrastructure provider (or, with provider `git`, to
this repository). Its `spec.secretData` values are committed encrypted with age, never in
plain text: Orbit refuses a plaintext value (and the pre-commit hook stops it first).

1. Put Orbit's public key in `.age-recipients` at the repository's root (Orbit prints it at
   start: "GitOps secrets in git are encrypted for age recipient age1..."), and yours
   (`orbit secrets keygen`) to be able to edit the values later.
2. Write the Credential here, its values in plain text for now, e.g. `lab.yaml`:

       apiVersion: orbit.k8or.io/v1alpha1
       kind: Credential
       metadata:
         name: lab
         namespace: default
       spec:
         provider: sim              # the provider it is for
         config:
           region: lab              # not secret: stays readable
         secretData:
           token: the-real-token    # secret: encrypted by the next step

3. Encrypt its values in place, check, and commit:

       orbit secrets encrypt orbit/default/credentials/lab.yaml
       orbit secrets check
       git add orbit/default/credentials/lab.yaml && git commit -m "credential lab"

Each value is now `ENC[age,...]`; the rest of the file is as you wrote it. Orbit decrypts the
values while syncing and seals them in its vault. Clusters use it with `credential: lab`.
`orbit secrets edit orbit/default/credentials/lab.yaml` changes a value later.
"""

PRE_COMMIT = """\
#!/bin/sh
# Refuse a commit that would add a plaintext secret (enable: git config core.hooksPath .githooks).
exec orbit secrets check --staged
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
        File("orbit/default/templates/demo-1-0-0.yaml", DEMO_TEMPLATE),
        File("orbit/default/services/hello-1-0-0.yaml", HELLO_SERVICE),
        File("orbit/default/credentials/README.md", CREDENTIALS_README),
    ]
