"""Webhook: lifecycle events of a namespace POSTed to a URL, signed, retried, in order.

Namespaced, because namespaces are tenants: a Webhook receives the events of objects in its own
namespace only (that is its namespace selector), its secret is a Credential of that namespace,
and the namespace's admins manage it with the same roles as the rest of their objects. A
fleet-wide receiver gets one Webhook per namespace (or reads the bus, NATS, directly).

``spec.events`` filters: ``types`` (shell-style patterns over event types, e.g.
``orbit.cluster.*``) and ``subjects`` (NATS-style patterns over subjects, e.g.
``orbit.events.team-a.clusterdeployment.*``); an event must match both lists (an empty list
matches everything). ``spec.secretRef`` names a Credential in the same namespace and the key
of its secret data that signs the deliveries (``X-Orbit-Signature: sha256=<hex HMAC-SHA256 of
"<X-Orbit-Timestamp>.<body>">``): the secret is encrypted at rest with the Credential and is
never returned, logged or put into an Event.

``status`` is what delivery looks like: the last event delivered, the events waiting, the
consecutive failures and the last error, and the ``Ready`` condition (``Failing`` while the
receiver refuses or cannot be reached). See docs/webhooks.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from orbit.api.v1alpha1.meta import Condition, Model, Resource

CONDITION_READY = "Ready"
REASON_DELIVERING = "Delivering"
REASON_FAILING = "Failing"
REASON_SECRET_NOT_FOUND = "SecretNotFound"


class SecretKeyRef(Model):
    name: str = Field(min_length=1, description="A Credential in the Webhook's namespace.")
    key: str = Field(default="secret", min_length=1, description="The secret value's name.")


class EventFilter(Model):
    types: list[str] = Field(
        default_factory=list, description="Event type patterns (orbit.cluster.*); empty: all."
    )
    subjects: list[str] = Field(
        default_factory=list,
        description="Subject patterns, NATS wildcards (orbit.events.ns.*.>); empty: all.",
    )

    @field_validator("subjects")
    @classmethod
    def _subjects(cls, value: list[str]) -> list[str]:
        for pattern in value:
            tokens = pattern.split(".")
            if not pattern or "" in tokens or any(" " in t for t in tokens):
                raise ValueError(f"subject pattern {pattern!r} is not a dotted NATS subject")
            if ">" in tokens[:-1]:
                raise ValueError(f"subject pattern {pattern!r}: '>' may only be the last token")
        return value


class WebhookSpec(Model):
    url: str = Field(description="Where deliveries are POSTed (http or https).")
    events: EventFilter = Field(default_factory=EventFilter)
    secret_ref: SecretKeyRef = Field(description="The Credential key that signs deliveries.")
    paused: bool = Field(default=False, description="Hold deliveries (they wait, none is lost).")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url {value!r} must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise ValueError("url must not carry credentials; sign with secretRef instead")
        return value


class WebhookStatus(Model):
    last_delivered_id: str | None = None
    last_delivered_time: datetime | None = None
    last_attempt_time: datetime | None = None
    delivered: int = 0
    pending: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    conditions: list[Condition] = Field(default_factory=list)


class Webhook(Resource):
    KIND: ClassVar[str] = "Webhook"
    PLURAL: ClassVar[str] = "webhooks"
    SINGULAR: ClassVar[str] = "webhook"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("wh",)

    spec: WebhookSpec
    status: WebhookStatus | None = None
