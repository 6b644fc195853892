"""``Identity``: who is making a request, as the authenticator established it.

Scopes narrow what a token may do below what its user's roles allow: ``read`` (get, list,
watch), ``write`` (create, update, patch, delete) and ``proxy`` (reach clusters through the
AccessPoint). A token without ``write`` can look but never change anything, whoever holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCOPES = ("read", "write", "proxy")
ALL_SCOPES = frozenset(SCOPES)


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    token_id: str | None = None

    def describe(self) -> str:
        return f'User "{self.user}"'
