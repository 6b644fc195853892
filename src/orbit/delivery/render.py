"""Rendering a ServiceTemplate into the Kubernetes manifests of one service on one cluster.

:func:`render_service` is the one entry point the delivery engine, admission and the
ServiceTemplate controller share. It validates the service's values against the template's
JSON Schema (defaults applied), renders the source — inline ``resources`` here; ``git`` and
``helm`` in :mod:`orbit.delivery.sources` — and checks that every document is a Kubernetes
object, giving namespaced kinds the service's namespace when they name none.

Two failures, kept apart because they call for different reactions:

- :class:`RenderError`: the template (or the values) is wrong; retrying will not help. It
  carries the line and, for sources with many files, the file, so a person can fix it.
- :class:`SourceUnavailable`: the source cannot be reached right now (git remote down, the
  helm binary not installed); retry later.

Jinja2 runs in an immutable sandbox with StrictUndefined (see :mod:`orbit.templating`) over
``{"values": ..., "cluster": {...}, **values}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from orbit import templating
from orbit.api import v1alpha1

#: Kinds that live outside namespaces: their manifests never get a namespace filled in.
#: Anything else (including custom kinds) is treated as namespaced.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

#: How long a git checkout is trusted before the next render fetches the ref again.
GIT_MAX_AGE = 60.0


@dataclass(frozen=True)
class ClusterContext:
    """What a template may know of the cluster it is rendered for (``{{ cluster.name }}``)."""

    name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def as_context(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "labels": self.labels,
            "config": self.config,
        }


class _AnyKey(dict[str, Any]):
    """A mapping in which every missing key is a lenient undefined (renders as "", takes
    ``| default(x)``), for checking a template without knowing the real cluster."""

    def __missing__(self, key: str) -> Any:
        return jinja2.ChainableUndefined(name=key)


def sample_cluster(namespace: str = "default") -> ClusterContext:
    """The cluster admission and the ServiceTemplate controller render against: named
    ``example``, with no labels and no config. References to ``cluster.labels.x`` and
    ``cluster.config.x`` render as empty there (a real cluster may well have them), while
    every other undefined name is still an error."""
    return ClusterContext(name="example", namespace=namespace, labels=_AnyKey(), config=_AnyKey())


class RenderError(Exception):
    """The template does not render. ``line`` is 1-based; ``source`` names the file (git
    sources) or chart; ``rendered`` says the line counts lines of the Jinja2 output (YAML
    errors), not of the template."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        source: str | None = None,
        rendered: bool = False,
    ) -> None:
        self.message = message
        self.line = line
        self.source = source
        self.rendered = rendered
        super().__init__(self.describe())

    def describe(self, *, with_source: bool = True) -> str:
        where = ""
        if with_source and self.source:
            where = f"{self.source}: "
        if self.line is not None:
            where += f"line {self.line}{' of the rendered text' if self.rendered else ''}: "
        return f"{where}{self.message}"

    def __str__(self) -> str:
        return self.describe()


class SourceUnavailable(Exception):
    """The template's source cannot be read now (unreachable remote, missing binary): retry
    later. The message says what is missing and never contains credentials."""


def merged_values(template: v1alpha1.ServiceTemplate, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the template's defaults applied; RenderError listing every field path
    that breaks the template's parameters (``values.replicas: 0 is less than ...``)."""
    schema = template.spec.parameters
    causes = templating.validate_config(schema, values, field="values")
    if causes:
        details = "; ".join(f"{c.field}: {c.message}" for c in causes)
        raise RenderError(f"the values do not satisfy the parameters of the template: {details}")
    return templating.apply_defaults(schema, values)


def jinja_context(values: dict[str, Any], cluster: ClusterContext) -> dict[str, Any]:
    return {**values, "values": values, "cluster": cluster.as_context()}


def render_documents(
    text: str, context: dict[str, Any], *, source: str | None = None
) -> list[dict[str, Any]]:
    """Render ``text`` with Jinja2, then read its YAML documents as Kubernetes objects."""
    try:
        rendered = templating.render_text(text, context)
    except jinja2.TemplateError as err:
        raise RenderError(
            err.message or str(err), line=templating.error_line(err), source=source
        ) from err
    return parse_documents(rendered, source=source, rendered=True)


def parse_documents(
    text: str, *, source: str | None = None, rendered: bool = False
) -> list[dict[str, Any]]:
    """The YAML documents of ``text``, each checked to be a Kubernetes object (a mapping with
    apiVersion, kind and metadata.name); empty documents are skipped."""
    loader = yaml.SafeLoader(text)
    docs: list[dict[str, Any]] = []
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            index += 1
            data = loader.construct_document(node)
            if data is None:
                continue
            line = node.start_mark.line + 1 if node is not None else None
            _check_object(data, index=index, line=line, source=source, rendered=rendered)
            docs.append(data)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "cannot be parsed"
        raise RenderError(
            f"invalid YAML: {problem}",
            line=mark.line + 1 if mark is not None else None,
            source=source,
            rendered=rendered,
        ) from err
    except yaml.YAMLError as err:
        raise RenderError(f"invalid YAML: {err}", source=source, rendered=rendered) from err
    finally:
        loader.dispose()
    return docs


def _check_object(
    data: Any, *, index: int, line: int | None, source: str | None, rendered: bool
) -> None:
    what = f"document {index}"

    def fail(problem: str) -> RenderError:
        return RenderError(
            f"{what} {problem}; every document must be a Kubernetes object with apiVersion, "
            "kind and metadata.name",
            line=line,
            source=source,
            rendered=rendered,
        )

    if not isinstance(data, dict):
        raise fail(f"is a {type(data).__name__}, not a mapping")
    kind = data.get("kind")
    if isinstance(kind, str) and kind:
        what = f"document {index} ({kind})"
    for key in ("apiVersion", "kind"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail(f"has no {key}")
    meta = data.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise fail("has no metadata.name")


def with_namespace(manifests: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Copies of ``manifests`` in which namespaced kinds without a namespace get ``namespace``."""
    out = []
    for doc in manifests:
        if doc["kind"] not in CLUSTER_SCOPED_KINDS and not doc["metadata"].get("namespace"):
            # Shallow copies: a deep copy would expand YAML aliases the document shares.
            doc = {**doc, "metadata": {**doc["metadata"], "namespace": namespace}}
        out.append(doc)
    return out


def render_inline(
    template: v1alpha1.ServiceTemplate,
    *,
    values: dict[str, Any],
    cluster: ClusterContext,
    namespace: str,
) -> list[dict[str, Any]]:
    """:func:`render_service` for a template with inline ``resources``, without I/O."""
    if template.spec.resources is None:
        raise ValueError(f"ServiceTemplate {template.metadata.name!r} has no inline resources")
    merged = merged_values(template, values)
    docs = render_documents(template.spec.resources, jinja_context(merged, cluster))
    return with_namespace(docs, namespace)


async def render_service(
    template: v1alpha1.ServiceTemplate,
    *,
    values: dict[str, Any],
    cluster: ClusterContext,
    namespace: str,
    cache_dir: Path,
    release: str | None = None,
    git_max_age: float = GIT_MAX_AGE,
) -> list[dict[str, Any]]:
    """The manifests of ``template`` for one service on one cluster.

    ``namespace`` is the service's namespace in the cluster; ``cache_dir`` holds git checkouts
    and helm's caches; ``release`` is the helm release name (the service's name; defaults to
    the template's). Raises RenderError or SourceUnavailable."""
    spec = template.spec
    if spec.resources is not None:
        return render_inline(template, values=values, cluster=cluster, namespace=namespace)
    # Imported here: sources builds on this module's errors and document checks.
    from orbit.delivery import sources

    merged = merged_values(template, values)
    if spec.git is not None:
        docs = await sources.render_git(
            spec.git, jinja_context(merged, cluster), cache_dir=cache_dir, max_age=git_max_age
        )
    elif spec.helm is not None:
        docs = await sources.render_helm(
            spec.helm,
            values=merged,
            release=release or template.metadata.name,
            namespace=namespace,
            cache_dir=cache_dir,
        )
    else:  # pragma: no cover - the model requires exactly one source
        raise RenderError("the template has no source")
    return with_namespace(docs, namespace)
