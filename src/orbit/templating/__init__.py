"""Template parameters and rendering: JSON Schema validation with field paths, defaults,
Jinja2 rendering of a template's cluster shape with native types, and plain text rendering
(:func:`render_text`) for manifests, whose errors carry the template line
(:func:`error_line`).

Pure functions, no I/O: admission uses them to refuse bad input before anything is written, the
cluster controller uses them to compute what to ask the provider for. Rendering runs in Jinja2's
immutable sandbox (templates are data an architect wrote, not code we trust) with
``StrictUndefined``, so a misspelt parameter is an error instead of an empty string.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2.nativetypes import NativeCodeGenerator, native_concat
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from orbit.api import v1alpha1
from orbit.errors import Cause


class _NativeSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, rendering a lone ``{{ expr }}`` to its native Python value."""

    code_generator_class = NativeCodeGenerator
    concat = staticmethod(native_concat)  # type: ignore[assignment]


_ENV = _NativeSandbox(undefined=jinja2.StrictUndefined, autoescape=False)
_TEXT_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)


@functools.lru_cache(maxsize=4096)
def _compiled(source: str) -> jinja2.Template:
    """Compiling is most of a render's cost; templates are immutable, so compile each once."""
    return _ENV.from_string(source)


@functools.lru_cache(maxsize=1024)
def _compiled_text(source: str) -> jinja2.Template:
    return _TEXT_ENV.from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    """Render ``source`` as a Jinja2 text template over ``context`` (sandboxed, strict about
    undefined names). Raises :class:`jinja2.TemplateError`; :func:`error_line` finds its line."""
    return _compiled_text(source).render(context)


def error_line(err: jinja2.TemplateError) -> int | None:
    """The template line ``err`` (from :func:`render_text`) points at, if known.

    Syntax errors carry it; errors raised while rendering (an undefined name) do not, but
    Jinja2 rewrites their traceback so the template's own frames show template lines."""
    lineno = getattr(err, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    line = None
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@functools.lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def path_of(
    parts: Iterator[str | int] | list[str | int] | tuple[str | int, ...], prefix: str
) -> str:
    """Dotted field path with list indexes in brackets: ``spec.config.pools[1].size``."""
    out = prefix
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else f"{out}.{part}" if out else str(part)
    return out


def check_schema(schema: dict[str, Any], *, field: str = "spec.parameters") -> list[Cause]:
    """Causes why ``schema`` is not a valid JSON Schema (draft 2020-12); empty when it is."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return [Cause(path_of(list(err.absolute_path), field), err.message)]
    if schema.get("type", "object") != "object":
        return [Cause(f"{field}.type", 'parameters must describe an object: use "type": "object"')]
    return []


def apply_defaults(schema: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with every missing property that has a ``default`` in ``schema`` filled in,
    recursively through nested objects. The input is not modified."""
    out = copy.deepcopy(config)
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        if name not in out and "default" in prop:
            out[name] = copy.deepcopy(prop["default"])
        if prop.get("type") == "object" and isinstance(out.get(name), dict):
            out[name] = apply_defaults(prop, out[name])
    return out


def validate_config(
    schema: dict[str, Any], config: dict[str, Any], *, field: str = "spec.config"
) -> list[Cause]:
    """Causes why ``config`` (defaults applied) breaks ``schema``, each with its field path."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    causes = []
    for err in sorted(
        validator.iter_errors(apply_defaults(schema, config)), key=lambda e: list(e.path)
    ):
        causes.append(Cause(path_of(list(err.absolute_path), field), err.message))
    return causes


class RenderError(ValueError):
    """A template value did not render; ``field`` says which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def render(value: Any, context: dict[str, Any], *, field: str) -> Any:
    """Render every string in ``value`` (recursively) as a Jinja2 template over ``context``."""
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        try:
            result = _compiled(value).render(context)
            if isinstance(result, jinja2.Undefined):
                result._fail_with_undefined_error()  # a lone {{ name }}: native mode skips str()
            return result
        except jinja2.TemplateError as err:
            lineno = getattr(err, "lineno", None)
            line = f" (line {lineno})" if lineno else ""
            raise RenderError(field, f"{err.message or err}{line}") from err
    if isinstance(value, dict):
        return {k: render(v, context, field=f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, field=f"{field}[{i}]") for i, v in enumerate(value)]
    return value


def render_shape(
    spec: v1alpha1.ClusterTemplateSpec, config: dict[str, Any]
) -> v1alpha1.ClusterShape:
    """The cluster shape of ``spec`` for ``config`` (defaults applied).

    Raises RenderError naming the template field that failed to render or validate."""
    values = apply_defaults(spec.parameters, config)
    rendered = render(spec.cluster, values, field="spec.cluster")
    try:
        return v1alpha1.ClusterShape.model_validate(rendered)
    except ValidationError as err:
        first = err.errors()[0]
        loc = [p for p in first["loc"] if isinstance(p, str | int)]
        raise RenderError(path_of(loc, "spec.cluster"), first["msg"]) from err
