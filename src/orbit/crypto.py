"""Envelope encryption of secrets at rest: AES-256-GCM under a keyring of key-encryption keys.

Each secret gets a fresh random 256-bit data key; the secret is encrypted under it, and the
data key is encrypted ("wrapped") under the keyring's primary key-encryption key (KEK). Only
the wrapped data key is stored, next to the id of the KEK that wrapped it, so:

- a stolen database holds nothing readable without the keyring (kept apart: a 0600 file, or
  the environment);
- rotating the KEK re-encrypts row by row while every process keeps decrypting (old rows name
  the old key, which the keyring keeps until no row uses it), then the old key is destroyed.

Both encryptions authenticate ``aad`` (the caller binds a secret to its owner and name with
it), and the wrap also authenticates the KEK id: a row copied to another owner, or any altered
byte, fails to open with :class:`SecretError`. Nothing here ever puts plaintext or key material
in an error message, a log line or a ``repr``.

The keyring file (JSON) is read-modify-written under an exclusive ``flock`` on a sibling
``.lock`` file and replaced atomically, so processes sharing it never lose a key; a process
notices a rotation made elsewhere (the file changed) before it seals, and re-reads the file
once when asked to open a secret under a key it does not know.

This is the bottom layer: it imports nothing of Orbit's but :mod:`orbit.errors`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orbit import errors

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce; random per encryption
FILE_VERSION = 1
_WRAP_AAD = b"orbit:kek-wrap:v1\x00"
_DATA_AAD = b"orbit:data:v1\x00"


class SecretError(errors.OrbitError):
    """A sealed secret cannot be opened: altered, bound to another owner, or its key is gone."""


class UnknownKey(SecretError):
    """The secret names a key-encryption key this keyring does not hold."""


class KeyringError(errors.OrbitError):
    """The keyring (file or ``ORBIT_SECURITY__KEYS``) cannot be read or written."""


class SealedLike(Protocol):
    """What :meth:`Keyring.open` needs: the stored columns of a sealed secret (base64 text)."""

    @property
    def key_id(self) -> str: ...
    @property
    def wrapped_key(self) -> str: ...
    @property
    def nonce(self) -> str: ...
    @property
    def ciphertext(self) -> str: ...


@dataclass(frozen=True)
class Sealed:
    """A sealed secret, as stored: the KEK id, the wrapped data key (wrap nonce included), the
    data nonce and the ciphertext, each base64 text (the ``secrets`` table's columns)."""

    key_id: str
    wrapped_key: str
    nonce: str
    ciphertext: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SecretError(f"the sealed secret is damaged: its {what} is not base64") from None


def _new_key_id() -> str:
    return f"k{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"


def _fingerprint_id(key: bytes) -> str:
    """The id of a bare key given in the environment: the same in every process."""
    return "env-" + hashlib.sha256(b"orbit:key-id\x00" + key).hexdigest()[:16]


def _decode_key(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise KeyringError(f"{where}: a key must be base64 text")
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        try:
            key = base64.urlsafe_b64decode(text.strip())
        except (binascii.Error, ValueError):
            raise KeyringError(f"{where}: a key is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{where}: a key must be {KEY_BYTES} bytes (AES-256), not {len(key)}")
    return key


@dataclass(frozen=True)
class _State:
    keys: Mapping[str, bytes]
    created: Mapping[str, str]
    primary: str

    def to_json(self) -> str:
        keys = {
            kid: {"key": _b64(key), "created": self.created.get(kid, "")}
            for kid, key in self.keys.items()
        }
        return json.dumps(
            {"version": FILE_VERSION, "primary": self.primary, "keys": keys}, indent=2
        )


def _parse(text: str, where: str) -> _State:
    """A keyring from its JSON form, or from one bare base64 key (its id derived from it)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        key = _decode_key(stripped, where)
        kid = _fingerprint_id(key)
        return _State({kid: key}, {}, kid)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: the document itself is key material.
        raise KeyringError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    raw_keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(raw_keys, dict) or not raw_keys:
        raise KeyringError(f'{where}: expected {{"primary": ID, "keys": {{ID: {{"key": B64}}}}}}')
    keys: dict[str, bytes] = {}
    created: dict[str, str] = {}
    for kid, entry in raw_keys.items():
        if not isinstance(kid, str) or not kid or len(kid) > 64:
            raise KeyringError(f"{where}: a key id must be 1 to 64 characters")
        value = entry.get("key") if isinstance(entry, dict) else entry
        keys[kid] = _decode_key(value, f"{where} (key {kid!r})")
        if isinstance(entry, dict) and isinstance(entry.get("created"), str):
            created[kid] = entry["created"]
    primary = data.get("primary")
    if primary is None and len(keys) == 1:
        primary = next(iter(keys))
    if not isinstance(primary, str) or primary not in keys:
        raise KeyringError(f"{where}: 'primary' must name one of its keys ({', '.join(keys)})")
    return _State(keys, created, primary)


def _fresh_state() -> _State:
    kid = _new_key_id()
    return _State({kid: AESGCM.generate_key(bit_length=256)}, {kid: _now()}, kid)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Keyring:
    """Key-encryption keys by id, one of them primary (the one new secrets are sealed under).

    Build it with :meth:`load` (a file, created on first use), :meth:`from_string` (the
    environment) or :meth:`configured`. Thread-safe; the keys never appear in its ``repr``.
    """

    def __init__(self, state: _State, *, path: Path | None = None) -> None:
        self._state = state
        self._path = path
        self._stamp = _stamp(path) if path is not None else None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        source = str(self._path) if self._path else "environment"
        return f"<Keyring {source} primary={self._state.primary} keys={len(self._state.keys)}>"

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """The keyring in ``path``; a new file (mode 0600) with one fresh key if absent."""
        path = Path(path)
        with _locked(path):
            if not path.exists():
                state = _fresh_state()
                _write(path, state)
                log.info("Created the key-encryption keyring %s (key %s)", path, state.primary)
            else:
                state = _read(path)
        return cls(state, path=path)

    @classmethod
    def from_string(cls, text: str) -> Keyring:
        """A keyring given as text: the file's JSON, or one base64 32-byte key. It lives only
        in memory: :meth:`rotate` needs a file."""
        return cls(_parse(text, "ORBIT_SECURITY__KEYS"))

    @classmethod
    def generate(cls) -> Keyring:
        """A throwaway in-memory keyring with one fresh key (tests)."""
        return cls(_fresh_state())

    @classmethod
    def configured(cls, *, keys: str | None, key_file: Path) -> Keyring:
        """``keys`` (settings.security.keys) when set, else the file ``key_file``."""
        return cls.from_string(keys) if keys else cls.load(key_file)

    # -- what it holds ---------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def primary_id(self) -> str:
        self._follow_file()
        return self._state.primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._state.keys)

    # -- sealing ---------------------------------------------------------------------------

    def seal(self, plaintext: bytes, *, aad: bytes) -> Sealed:
        """Encrypt ``plaintext`` under a fresh data key, wrapped under the primary KEK."""
        self._follow_file()
        state = self._state
        kid, kek = state.primary, state.keys[state.primary]
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _DATA_AAD + aad)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(kek).encrypt(wrap_nonce, data_key, _wrap_aad(kid, aad))
        return Sealed(kid, _b64(wrap_nonce + wrapped), _b64(nonce), _b64(ciphertext))

    def open(self, sealed: SealedLike, *, aad: bytes) -> bytes:
        """The plaintext of ``sealed``; SecretError if it was altered or ``aad`` differs,
        UnknownKey if its KEK is not in the keyring (even after re-reading the file)."""
        kek = self._state.keys.get(sealed.key_id)
        if kek is None and self._path is not None:
            self.reload()
            kek = self._state.keys.get(sealed.key_id)
        if kek is None:
            where = f"the keyring {self._path}" if self._path else "ORBIT_SECURITY__KEYS"
            raise UnknownKey(
                f"the secret was sealed under key {sealed.key_id!r}, which {where} does not "
                f"hold (it holds {', '.join(self._state.keys)}): restore that key to open it"
            )
        wrapped = _unb64(sealed.wrapped_key, "wrapped key")
        try:
            data_key = AESGCM(kek).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(sealed.key_id, aad)
            )
            return AESGCM(data_key).decrypt(
                _unb64(sealed.nonce, "nonce"),
                _unb64(sealed.ciphertext, "ciphertext"),
                _DATA_AAD + aad,
            )
        except (InvalidTag, ValueError):
            raise SecretError(
                "the secret cannot be decrypted: it was altered, or it belongs to another owner"
            ) from None

    # -- key management --------------------------------------------------------------------

    def rotate(self) -> str:
        """Add a fresh key, make it primary, save the file; returns its id. The old keys stay
        (their secrets still open) until :meth:`retire`. Conflict for an in-memory keyring."""
        path = self._require_file("rotate the key-encryption key")
        with self._lock, _locked(path):
            current = _read(path) if path.exists() else self._state
            kid = _new_key_id()
            keys = {**current.keys, kid: AESGCM.generate_key(bit_length=256)}
            state = _State(keys, {**current.created, kid: _now()}, kid)
            _write(path, state)
            self._set(state)
        log.info("Key-encryption key %s is now primary (keyring %s)", kid, path)
        return kid

    def retire(self, key_id: str) -> None:
        """Destroy ``key_id`` (secrets still sealed under it can no longer be opened): call it
        once none is. Conflict for the primary key. An in-memory keyring forgets it only here;
        remove it from ORBIT_SECURITY__KEYS yourself."""
        if self._path is None:
            with self._lock:
                self._state = _without(self._state, key_id)
            return
        with self._lock, _locked(self._path):
            current = _read(self._path) if self._path.exists() else self._state
            state = _without(current, key_id)
            _write(self._path, state)
            self._set(state)
        log.info("Retired key-encryption key %s (keyring %s)", key_id, self._path)

    def reload(self) -> None:
        """Re-read the file (a rotation made by another process)."""
        if self._path is None:
            return
        with self._lock, _locked(self._path):
            if self._path.exists():
                self._set(_read(self._path))

    def _set(self, state: _State) -> None:
        self._state = state
        self._stamp = _stamp(self._path) if self._path is not None else None

    def _follow_file(self) -> None:
        """Re-read the file if another process changed it (a stat per call)."""
        if self._path is not None and _stamp(self._path) not in (self._stamp, None):
            self.reload()

    def _require_file(self, action: str) -> Path:
        if self._path is None:
            raise errors.Conflict(
                f"cannot {action}: the keyring comes from ORBIT_SECURITY__KEYS; put a new key "
                "there as primary (keeping the old ones), restart, and re-wrap without a new key"
            )
        return self._path


def _wrap_aad(key_id: str, aad: bytes) -> bytes:
    return _WRAP_AAD + key_id.encode() + b"\x00" + aad


def _without(state: _State, key_id: str) -> _State:
    if key_id == state.primary:
        raise errors.Conflict(f"key {key_id!r} is the primary key-encryption key: rotate first")
    keys = {k: v for k, v in state.keys.items() if k != key_id}
    created = {k: v for k, v in state.created.items() if k != key_id}
    return _State(keys, created, state.primary)


def _stamp(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _read(path: Path) -> _State:
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyringError(f"cannot read the keyring {path}: {exc.strerror}") from None
    if mode & 0o077:
        log.warning("The keyring %s is readable by others (mode %o): chmod 600 it", path, mode)
    return _parse(text, f"the keyring {path}")


def _write(path: Path, state: _State) -> None:
    """Replace ``path`` atomically with a 0600 file holding ``state``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(state.to_json() + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KeyringError(f"cannot write the keyring {path}: {exc.strerror}") from None


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock, across processes, on read-modify-writes of the keyring ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeyringError(f"cannot lock the keyring {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
