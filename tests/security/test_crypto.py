"""Envelope encryption (orbit.crypto): sealing round-trips, any altered byte or another owner's
associated data fails to open, the keyring file is created 0600 and shared safely between
processes, and nothing secret shows in an error or a repr."""

from __future__ import annotations

import base64
import dataclasses
import json
import stat
from pathlib import Path

import pytest

from orbit import errors
from orbit.crypto import Keyring, KeyringError, Sealed, SecretError, UnknownKey

PLAINTEXT = b"AKIA-very-secret-value-0123456789"
AAD = b"owner-1\x00token"


def _flip(text: str, index: int = -3) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_roundtrip_and_fresh_keys_per_secret() -> None:
    keyring = Keyring.generate()
    sealed = keyring.seal(PLAINTEXT, aad=AAD)
    assert keyring.open(sealed, aad=AAD) == PLAINTEXT
    assert sealed.key_id == keyring.primary_id
    for text in (sealed.wrapped_key, sealed.nonce, sealed.ciphertext):
        base64.b64decode(text, validate=True)
    assert PLAINTEXT not in base64.b64decode(sealed.ciphertext)
    again = keyring.seal(PLAINTEXT, aad=AAD)
    assert again.ciphertext != sealed.ciphertext  # a new data key and nonce every time
    assert again.wrapped_key != sealed.wrapped_key
    assert keyring.open(keyring.seal(b"", aad=AAD), aad=AAD) == b""


@pytest.mark.parametrize("field", ["wrapped_key", "nonce", "ciphertext"])
def test_an_altered_byte_fails_to_open(field: str) -> None:
    keyring = Keyring.generate()
    sealed = keyring.seal(PLAINTEXT, aad=AAD)
    index = 0 if field == "nonce" else -3
    tampered = dataclasses.replace(sealed, **{field: _flip(getattr(sealed, field), index)})
    with pytest.raises(SecretError) as caught:
        keyring.open(tampered, aad=AAD)
    assert "altered" in caught.value.message
    assert PLAINTEXT.decode() not in str(caught.value)


def test_damaged_base64_is_a_secret_error() -> None:
    keyring = Keyring.generate()
    sealed = keyring.seal(PLAINTEXT, aad=AAD)
    with pytest.raises(SecretError, match="not base64"):
        keyring.open(dataclasses.replace(sealed, ciphertext="%%%"), aad=AAD)


def test_another_owner_or_name_fails_to_open() -> None:
    keyring = Keyring.generate()
    sealed = keyring.seal(PLAINTEXT, aad=AAD)
    for other in (b"owner-2\x00token", b"owner-1\x00other", b""):
        with pytest.raises(SecretError, match="another owner"):
            keyring.open(sealed, aad=other)


def test_the_key_id_is_authenticated() -> None:
    """Relabelling a row with another key id of the same keyring does not open it."""
    keyring = Keyring.generate()
    path_ring = Keyring.from_string(
        json.dumps(
            {
                "primary": "a",
                "keys": {
                    "a": {"key": base64.b64encode(b"\x01" * 32).decode()},
                    "b": {"key": base64.b64encode(b"\x01" * 32).decode()},
                },
            }
        )
    )
    sealed = path_ring.seal(PLAINTEXT, aad=AAD)
    with pytest.raises(SecretError):
        path_ring.open(dataclasses.replace(sealed, key_id="b"), aad=AAD)
    assert keyring.primary_id not in ("a", "b")


def test_unknown_key_names_the_key_and_nothing_secret() -> None:
    sealed = Keyring.generate().seal(PLAINTEXT, aad=AAD)
    other = Keyring.generate()
    with pytest.raises(UnknownKey) as caught:
        other.open(sealed, aad=AAD)
    message = caught.value.message
    assert sealed.key_id in message and other.primary_id in message
    assert PLAINTEXT.decode() not in message
    assert isinstance(caught.value, SecretError)


def test_key_file_is_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys.json"
    keyring = Keyring.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["primary"] == keyring.primary_id
    assert list(data["keys"]) == [keyring.primary_id]
    sealed = keyring.seal(PLAINTEXT, aad=AAD)
    again = Keyring.load(path)  # another process starting later
    assert again.primary_id == keyring.primary_id
    assert again.open(sealed, aad=AAD) == PLAINTEXT
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_rotate_and_retire_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first, second = Keyring.load(path), Keyring.load(path)
    old = first.primary_id
    under_old = second.seal(PLAINTEXT, aad=AAD)
    new = first.rotate()
    assert new != old and first.primary_id == new
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    under_new = first.seal(PLAINTEXT, aad=AAD)
    assert under_new.key_id == new
    # The other process opens a secret under a key it has not seen: it re-reads the file...
    assert second.open(under_new, aad=AAD) == PLAINTEXT
    # ...and a process that seals notices the file changed and seals under the new primary.
    third = Keyring.load(path)
    first.rotate()
    assert third.seal(PLAINTEXT, aad=AAD).key_id == first.primary_id
    assert first.open(under_old, aad=AAD) == PLAINTEXT  # old keys stay until retired
    first.retire(old)
    assert old not in json.loads(path.read_text())["keys"]
    with pytest.raises(UnknownKey):
        Keyring.load(path).open(under_old, aad=AAD)
    with pytest.raises(errors.Conflict, match="primary"):
        first.retire(first.primary_id)


def test_concurrent_rotations_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    a, b = Keyring.load(path), Keyring.load(path)
    ka, kb = a.rotate(), b.rotate()  # b read-modify-writes the file a just wrote
    held = json.loads(path.read_text())["keys"]
    assert {ka, kb} <= set(held)


def test_keyring_from_the_environment() -> None:
    raw = base64.b64encode(b"\x07" * 32).decode()
    bare = Keyring.from_string(raw)
    assert Keyring.from_string(raw).primary_id == bare.primary_id  # same id in every process
    sealed = bare.seal(PLAINTEXT, aad=AAD)
    kid = bare.primary_id
    as_json = Keyring.from_string(json.dumps({"primary": kid, "keys": {kid: {"key": raw}}}))
    assert as_json.open(sealed, aad=AAD) == PLAINTEXT
    relabelled = Sealed("k1", *dataclasses.astuple(sealed)[1:])
    with pytest.raises(SecretError):  # the key id is authenticated too
        Keyring.from_string(json.dumps({"keys": {"k1": raw}})).open(relabelled, aad=AAD)
    with pytest.raises(errors.Conflict, match="ORBIT_SECURITY__KEYS"):
        bare.rotate()
    assert bare.path is None


@pytest.mark.parametrize(
    "text",
    [
        "c2hvcnQ=",  # 5 bytes
        "not base64 at all!",
        '{"primary": "x", "keys": {"y": "' + base64.b64encode(b"\x01" * 32).decode() + '"}}',
        '{"keys": [1, 2',
        "{}",
    ],
)
def test_a_bad_keyring_string_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(KeyringError) as caught:
        Keyring.from_string(text)
    assert text not in caught.value.message
    assert "ORBIT_SECURITY__KEYS" in caught.value.message


def test_nothing_secret_in_reprs(tmp_path: Path) -> None:
    keyring = Keyring.load(tmp_path / "keys.json")
    key = json.loads((tmp_path / "keys.json").read_text())["keys"][keyring.primary_id]["key"]
    assert key not in repr(keyring)
    assert PLAINTEXT.decode() not in repr(keyring.seal(PLAINTEXT, aad=AAD))
