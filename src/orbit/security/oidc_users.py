"""How a verified OIDC login becomes an Orbit identity: its user name, its groups, and the
``User`` it owns.

- :func:`user_name`: ``user_prefix`` + the username claim, made a valid object name (User
  names are DNS subdomains): ``Alice@Example.com`` is ``alice-example.com``.
- :func:`group_names`: ``group_prefix`` + each group, verbatim (binding subjects may hold any
  text); a claim may be a list, one string, or an object whose keys are the names.
- :func:`sync_user`: creates the User, or refreshes its display name and email. The User
  records the IdP account it belongs to (annotations ``orbit.k8or.io/oidc-issuer`` and
  ``orbit.k8or.io/oidc-subject``), and a login never takes over a User it does not own: not
  the local ``admin``, not a name another IdP account holds. The IdP's groups are not written
  to ``spec.groups``; they travel on the API token the login yields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orbit import errors
from orbit.api import v1alpha1
from orbit.api.v1alpha1.meta import check_subdomain
from orbit.config import OidcSettings
from orbit.store.base import ResourceStore

MAX_GROUPS = 1000
MAX_NAME = 253
SUBJECT_ANNOTATION = "orbit.k8or.io/oidc-subject"
ISSUER_ANNOTATION = "orbit.k8or.io/oidc-issuer"


@dataclass(frozen=True)
class OidcLogin:
    """A verified login: who (as Orbit names them), their groups, and their IdP account."""

    user: str
    groups: tuple[str, ...]
    issuer: str
    subject: str
    email: str = ""
    display_name: str = ""


_INVALID = re.compile(r"[^a-z0-9.-]+")


def user_name(prefix: str, value: str) -> str:
    """The Orbit user for a username claim: ``prefix + value`` made a valid object name
    (lowercase; each run of characters other than a-z, 0-9, '.' and '-' becomes '-'; labels
    trimmed of leading and trailing '-'): ``alice@example.com`` is ``alice-example.com``."""
    lowered = _INVALID.sub("-", (prefix + value).lower())
    labels = [label.strip("-") for label in lowered.split(".")]
    name = ".".join(label for label in labels if label)[:MAX_NAME].rstrip(".-")
    if not name:
        raise errors.Unauthorized(f"the user name {value!r} from the identity provider is empty")
    try:
        return check_subdomain(name)
    except ValueError as exc:
        raise errors.Unauthorized(f"the identity provider's user name {value!r}: {exc}") from None


def group_names(prefix: str, value: object) -> tuple[str, ...]:
    """The groups of a groups claim, each with ``prefix``: a list, one string, or an object
    whose keys are the names (Zitadel's roles claim). Entries that are not non-empty strings,
    or too long for a binding subject, are left out."""
    raw: list[object]
    if isinstance(value, str):
        raw = [value]
    elif isinstance(value, dict):
        raw = list(value)
    elif isinstance(value, list):
        raw = value
    else:
        raw = []
    groups = [prefix + g for g in raw if isinstance(g, str) and g and len(prefix + g) <= MAX_NAME]
    return tuple(dict.fromkeys(groups))[:MAX_GROUPS]


def login_of(settings: OidcSettings, claims: dict[str, Any]) -> OidcLogin:
    """The Orbit identity of verified ID token ``claims``."""
    value = claims.get(settings.username_claim)
    if not isinstance(value, str) or not value:
        raise errors.Unauthorized(
            f'the ID token has no "{settings.username_claim}" claim to name the user '
            "(settings.security.oidc.username_claim)"
        )
    if settings.username_claim == "email" and claims.get("email_verified") is False:
        raise errors.Unauthorized(f"the email address {value!r} is not verified")
    return OidcLogin(
        user=user_name(settings.user_prefix, value),
        groups=group_names(settings.group_prefix, claims.get(settings.groups_claim)),
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=claims["email"] if isinstance(claims.get("email"), str) else "",
        display_name=claims["name"] if isinstance(claims.get("name"), str) else "",
    )


async def sync_user(store: ResourceStore, login: OidcLogin) -> v1alpha1.User:
    """Create ``login``'s User, or refresh its name and email; Forbidden when the User exists
    but belongs to another account (or to no IdP), Unauthorized when it is disabled.

    A User created beforehand with only the ``orbit.k8or.io/oidc-issuer`` annotation (no
    subject) is claimed by the first login of that name from that issuer."""
    annotations = {ISSUER_ANNOTATION: login.issuer, SUBJECT_ANNOTATION: login.subject}
    try:
        user = await store.get(v1alpha1.User, None, login.user)
    except errors.NotFound:
        user = v1alpha1.User(
            metadata=v1alpha1.ObjectMeta(name=login.user, annotations=annotations),
            spec=v1alpha1.UserSpec(display_name=login.display_name, email=login.email),
        )
        try:
            return await store.create(user)
        except errors.AlreadyExists:
            user = await store.get(v1alpha1.User, None, login.user)
    held = user.metadata.annotations
    if held.get(ISSUER_ANNOTATION) != login.issuer or held.get(SUBJECT_ANNOTATION) not in (
        None,
        login.subject,
    ):
        raise errors.Forbidden(
            f'User "{login.user}" exists and is not linked to this identity provider account; '
            "an administrator can link it (annotations "
            f"{ISSUER_ANNOTATION}, {SUBJECT_ANNOTATION}) or set oidc.user_prefix"
        )
    if user.spec.disabled:
        raise errors.Unauthorized(f'user "{login.user}" is disabled')
    fresh = user.model_copy(deep=True)
    fresh.metadata.annotations.update(annotations)
    fresh.spec.display_name = login.display_name or fresh.spec.display_name
    fresh.spec.email = login.email or fresh.spec.email
    if fresh == user:
        return user
    return await store.update(fresh)
