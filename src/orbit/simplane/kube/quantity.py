"""Kubernetes resource quantities: ``100m`` CPU, ``128Mi`` memory, and back to text.

Only what scheduling needs: parse to a number (cores, bytes) and print a number the way a
person reads it in a scheduling message.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]{0,2})$")
_BINARY = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))


def parse(value: object) -> Decimal:
    """A quantity as a number; ValueError if it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"quantities must match the regular expression: {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    text = str(value).strip()
    match = _QUANTITY.match(text)
    if match is None or match.group(2) not in _SUFFIXES:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        raise ValueError(f"quantities must match the regular expression: {text!r}") from None


def cpu(value: object) -> float:
    return float(parse(value))


def memory(value: object) -> int:
    return int(parse(value))


def format_cpu(cores: float) -> str:
    """``1.5``, ``4``, ``0.25``: cores without trailing zeros."""
    text = f"{cores:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def format_memory(size: float) -> str:
    """``512Mi``, ``1.5Gi``: the largest binary unit that keeps the number at least 1."""
    for suffix, factor in _BINARY:
        if abs(size) >= factor:
            return f"{size / factor:.2f}".rstrip("0").rstrip(".") + suffix
    return str(int(size))
