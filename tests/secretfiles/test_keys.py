"""Identities and recipients: age's formats, SSH keys, files, and where recipients are found."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from orbit import secretfiles


def ssh_key_pair(kind: str) -> tuple[str, str]:
    """(OpenSSH private key, public key line) made the way ssh-keygen writes them."""
    private = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    secret = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return secret.decode(), public.decode() + " someone@laptop"


def test_generated_identity_file_reads_back(tmp_path: Path) -> None:
    key = secretfiles.generate_identity()
    assert key.secret.startswith("AGE-SECRET-KEY-1")
    assert key.recipient.startswith("age1")
    assert key.secret not in repr(key)
    path = tmp_path / "age.key"
    secretfiles.write_identity(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"# public key: {key.recipient}\n" in path.read_text()
    token = secretfiles.encrypt_value("v", [secretfiles.parse_recipient(key.recipient)])
    assert secretfiles.decrypt_value(token, secretfiles.load_identities(path)) == "v"


def test_write_identity_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "age.key"
    path.write_text("precious\n")
    with pytest.raises(secretfiles.SecretFileError, match="already exists"):
        secretfiles.write_identity(path, secretfiles.generate_identity())
    assert path.read_text() == "precious\n"


def test_identity_file_with_comments_and_several_keys() -> None:
    first, second = secretfiles.generate_identity(), secretfiles.generate_identity()
    text = f"# mine\n\n{first.secret}\n  # old one\n{second.secret}\n"
    identities = secretfiles.parse_identities(text, source="keys.txt")
    assert [i.label for i in identities] == ["keys.txt:3", "keys.txt:5"]
    token = secretfiles.encrypt_value("v", [secretfiles.parse_recipient(second.recipient)])
    assert secretfiles.decrypt_value(token, identities) == "v"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("hunter2-not-a-key", "not an age identity"),
        ("AGE-SECRET-KEY-1QQQQ", "not a valid age identity"),
        ("AGE-PLUGIN-YUBIKEY-1QQQQ", "age plugin identities are not supported"),
    ],
)
def test_bad_identity_line_names_file_and_line_but_not_the_line(line: str, problem: str) -> None:
    text = f"# comment\n{secretfiles.generate_identity().secret}\n\n{line}\n"
    with pytest.raises(secretfiles.SecretFileError) as caught:
        secretfiles.parse_identities(text, source="age.key")
    assert caught.value.message.startswith(f"age.key:4: {problem}")
    assert line not in caught.value.message


def test_empty_or_missing_identity_file(tmp_path: Path) -> None:
    with pytest.raises(secretfiles.SecretFileError, match=r"^empty\.key: no identity"):
        secretfiles.parse_identities("# nothing\n", source="empty.key")
    with pytest.raises(secretfiles.SecretFileError, match="no such file"):
        secretfiles.load_identities(tmp_path / "missing.key")


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_ssh_keys_as_recipient_and_identity(kind: str, tmp_path: Path) -> None:
    secret, public = ssh_key_pair(kind)
    age_key = secretfiles.generate_identity()
    recipients = secretfiles.parse_recipients(
        f"# ops\n{public}\n\n{age_key.recipient}\n", source=".age-recipients"
    )
    token = secretfiles.encrypt_value("shared", recipients)
    (tmp_path / "id").write_text(secret)
    assert secretfiles.decrypt_value(token, secretfiles.load_identities(tmp_path / "id")) == (
        "shared"
    )
    age_identities = secretfiles.parse_identities(age_key.file_text(), source="age.key")
    assert secretfiles.decrypt_value(token, age_identities) == "shared"


def test_damaged_ssh_private_key() -> None:
    with pytest.raises(secretfiles.SecretFileError, match=r"^id: not a usable SSH private key"):
        secretfiles.parse_identities(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            source="id",
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("age1notbech32", "not a valid recipient: age1notbech32"),
        ("ssh-ed25519 AAAAbroken", "not a valid recipient"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "not a recipient"),
        ("gpg:ABCDEF", "not a recipient"),
    ],
)
def test_bad_recipients(text: str, problem: str) -> None:
    with pytest.raises(secretfiles.SecretFileError) as caught:
        secretfiles.parse_recipients(f"# team\n{text}\n", source="r.txt")
    assert caught.value.message.startswith(f"r.txt:2: {problem}")


def test_a_secret_key_given_as_recipient_is_not_repeated() -> None:
    secret = secretfiles.generate_identity().secret
    with pytest.raises(secretfiles.SecretFileError) as caught:
        secretfiles.parse_recipient(secret)
    assert "secret key, not a recipient" in caught.value.message
    assert secret not in caught.value.message


def test_recipients_file_is_found_upwards_within_the_repository(repo: Path) -> None:
    deep = repo / "clusters" / "prod"
    deep.mkdir(parents=True)
    manifest = deep / "creds.yaml"
    manifest.write_text("")
    assert secretfiles.find_recipients_file(manifest) == (repo / ".age-recipients").resolve()
    nearer = deep / ".age-recipients"
    nearer.write_text("")
    assert secretfiles.find_recipients_file(manifest) == nearer.resolve()


def test_recipients_search_stops_at_the_repository_root(tmp_path: Path, key: Any) -> None:
    (tmp_path / ".age-recipients").write_text(key.recipient)  # outside the repository
    inner = tmp_path / "outer" / "repo"
    (inner / ".git").mkdir(parents=True)
    assert secretfiles.find_recipients_file(inner / "creds.yaml") is None
