"""Kubernetes protobuf request bodies, for the few kinds kubectl creates imperatively.

kubectl 1.32 and later send built-in objects as ``application/vnd.kubernetes.protobuf`` from its
typed commands (``kubectl create namespace|configmap|secret|serviceaccount``) and do not retry
with JSON when a server answers 415. This decodes the envelope (``k8s\\0`` + runtime.Unknown)
and the messages of those kinds into their JSON form, from the field numbers of Kubernetes'
``generated.proto``; other kinds get a 415 that says to use ``kubectl apply`` (which sends JSON).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from orbit.simplane.kube import errors

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

Field = tuple[int, int, Any]  # number, wire type, value (int or bytes)
Decoder = Callable[[bytes], Any]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[Field]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            yield number, wire, data[pos : pos + size]
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _string(raw: Any) -> str:
    return bytes(raw).decode()


def _map_entry(raw: bytes, value: Decoder) -> tuple[str, Any]:
    key, found = "", value(b"")
    for number, _, item in _fields(raw):
        if number == 1:
            key = _string(item)
        elif number == 2:
            found = value(item)
    return key, found


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# Per message: field number -> (JSON name, decoder, repeated?, map value decoder or None).
Schema = dict[int, tuple[str, Decoder, bool, Decoder | None]]

_OBJECT_META: Schema = {
    1: ("name", _string, False, None),
    2: ("generateName", _string, False, None),
    3: ("namespace", _string, False, None),
    11: ("labels", _string, False, _string),
    12: ("annotations", _string, False, _string),
    14: ("finalizers", _string, True, None),
}


def _message(schema: Schema) -> Decoder:
    def decode(raw: bytes) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for number, _, item in _fields(raw):
            if number not in schema:
                continue
            name, value, repeated, map_value = schema[number]
            if map_value is not None:
                key, mapped = _map_entry(item, map_value)
                result.setdefault(name, {})[key] = mapped
            elif repeated:
                result.setdefault(name, []).append(value(item))
            else:
                decoded = value(item)
                if decoded != "":  # Go writes empty strings; JSON omits them
                    result[name] = decoded
        return result

    return decode


def _bool(raw: Any) -> bool:
    return bool(raw)


_META = _message(_OBJECT_META)
_REFERENCE = _message({1: ("name", _string, False, None)})
_KINDS: dict[tuple[str, str], Schema] = {
    ("v1", "ConfigMap"): {
        1: ("metadata", _META, False, None),
        2: ("data", _string, False, _string),
        3: ("binaryData", _b64, False, _b64),
        4: ("immutable", _bool, False, None),
    },
    ("v1", "Secret"): {
        1: ("metadata", _META, False, None),
        2: ("data", _b64, False, _b64),
        3: ("type", _string, False, None),
        4: ("stringData", _string, False, _string),
        5: ("immutable", _bool, False, None),
    },
    ("v1", "Namespace"): {
        1: ("metadata", _META, False, None),
        2: ("spec", _message({1: ("finalizers", _string, True, None)}), False, None),
    },
    ("v1", "ServiceAccount"): {
        1: ("metadata", _META, False, None),
        3: ("imagePullSecrets", _REFERENCE, True, None),
        4: ("automountServiceAccountToken", _bool, False, None),
    },
}


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; 415 for kinds this does not know."""
    if not raw.startswith(_MAGIC):
        raise errors.bad_request("the protobuf body lacks the Kubernetes envelope")
    try:
        api_version = kind = ""
        payload = b""
        for number, _, item in _fields(raw[len(_MAGIC) :]):
            if number == 1:
                for sub, _, value in _fields(item):
                    if sub == 1:
                        api_version = _string(value)
                    elif sub == 2:
                        kind = _string(value)
            elif number == 2:
                payload = bytes(item)
        schema = _KINDS.get((api_version, kind))
        if schema is None:
            raise errors.KubeError(
                415,
                "UnsupportedMediaType",
                f"the simulated API reads protobuf bodies of {', '.join(k for _, k in _KINDS)} "
                f"only, not {kind or 'this kind'}: send JSON (kubectl apply does)",
            )
        body = _message(schema)(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the protobuf body could not be decoded: {exc}") from None
    return {"apiVersion": api_version, "kind": kind, **body}
