"""Encrypting and decrypting a manifest's text: only the secret values change, and every value
reads back exactly, whatever its YAML style or content."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import yaml

from orbit import secretfiles

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBV9sY1w3kzM1Pp8bgq3KVyTn6QpaqxkHaSxL1P2s2NRgAAAJhHlL2pR5S9\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)

STYLES = """\
# Production account: rotate every 90 days.
apiVersion: orbit.k8or.io/v1alpha1
kind: Credential
metadata:
  name: aws      # the main one
  namespace: team-a
spec:
  provider: sim
  config: {region: eu-west-1}
  secretData:
    plain: hunter2 and more
    single: 'it''s: a # not a comment'
    double: "tab\\there \\"quoted\\" caf\\u00e9"
    literal: |
      line one
      line two

    # a comment between values
    folded: >-
      folded
      text
    keep: |+
      kept

    number: 5432
    removed: null   # null deletes a value: not a secret
    multi: plain
      continued
"""

EXPECTED = {
    "plain": "hunter2 and more",
    "single": "it's: a # not a comment",
    "double": 'tab\there "quoted" café',
    "literal": "line one\nline two\n",
    "folded": "folded text",
    "keep": "kept\n\n",
    "number": "5432",  # secrets are strings: a number is taken as its text
    "removed": None,
    "multi": "plain continued",
}


def secret_data(text: str, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = list(yaml.safe_load_all(text))[index]["spec"]["secretData"]
    return data


def credential(values: dict[str, str], *, name: str = "aws") -> str:
    lines = [
        "apiVersion: orbit.k8or.io/v1alpha1",
        "kind: Credential",
        f"metadata:\n  name: {name}",
        "spec:\n  provider: sim\n  secretData:",
    ]
    lines += [f"    {key}: {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def test_every_scalar_style_round_trips(recipients: Any, identities: Any) -> None:
    encrypted = secretfiles.encrypt_text(STYLES, recipients)
    values = secret_data(encrypted)
    for name, value in values.items():
        if name == "removed":
            assert value is None
        else:
            assert secretfiles.is_token(value), name
            assert EXPECTED[name] not in encrypted
    assert secret_data(secretfiles.decrypt_text(encrypted, identities)) == EXPECTED


def test_everything_but_the_values_is_byte_identical(recipients: Any, identities: Any) -> None:
    encrypted = secretfiles.encrypt_text(STYLES, recipients)
    decrypted = secretfiles.decrypt_text(encrypted, identities)
    for text in (encrypted, decrypted):
        assert text.startswith(STYLES[: STYLES.index("    plain:")])
        for line in ("    # a comment between values\n", "    removed: null   # null deletes"):
            assert line in text
    # Values written in the styles decrypt uses come back byte for byte.
    canonical = STYLES.split("    plain:")[0] + (
        '    plain: "hunter2"\n'
        "    literal: |\n      line one\n      line two\n"
        "\n    # a comment between values\n"
        "    removed: null   # kept\n"
        '    last: "ends here"  # a comment after a value\n'
    )
    again = secretfiles.decrypt_text(secretfiles.encrypt_text(canonical, recipients), identities)
    assert again == canonical


@pytest.mark.parametrize(
    "value",
    [
        'say "hi"',
        "it's",
        "a: b",
        "# not a comment",
        "trailing space ",
        " leading space",
        "",
        "ünïcødé ✓ 🔑",
        "tab\tinside",
        "one trailing newline\n",
        "two trailing newlines\n\n",
        "\nstarts with a newline",
        "  indented\nfirst line",
        "line\n  indented\nline",
        "windows\r\nline ends\r\n",
        "odd \x7f \x85 \u2028 \ufeff characters",
        "backslash \\ and slash /",
        "ENC[not, age]",
        PEM,
        PEM.rstrip("\n"),
    ],
)
def test_any_value_reads_back_exactly(value: str, recipients: Any, identities: Any) -> None:
    text = credential({"value": value})
    encrypted = secretfiles.encrypt_text(text, recipients)
    assert secretfiles.is_token(secret_data(encrypted)["value"])
    decrypted = secretfiles.decrypt_text(encrypted, identities)
    assert secret_data(decrypted) == {"value": value}


def test_multi_line_values_decrypt_to_literal_blocks(recipients: Any, identities: Any) -> None:
    encrypted = secretfiles.encrypt_text(credential({"key": PEM, "token": "t"}), recipients)
    decrypted = secretfiles.decrypt_text(encrypted, identities)
    assert "    key: |\n      -----BEGIN OPENSSH PRIVATE KEY-----\n" in decrypted
    assert '    token: "t"\n' in decrypted


def test_values_already_encrypted_are_left_as_they_are(recipients: Any, identities: Any) -> None:
    once = secretfiles.encrypt_text(credential({"a": "one"}), recipients)
    token = secret_data(once)["a"]
    text = once + '    b: "two"\n'
    twice = secretfiles.encrypt_text(text, recipients)
    assert secret_data(twice)["a"] == token
    assert secretfiles.is_token(secret_data(twice)["b"])
    assert secretfiles.encrypt_text(twice, recipients) == twice
    assert secret_data(secretfiles.decrypt_text(twice, identities)) == {"a": "one", "b": "two"}


def test_each_value_is_an_age_file_in_base64(recipients: Any) -> None:
    encrypted = secretfiles.encrypt_text(credential({"a": "same", "b": "same"}), recipients)
    tokens = secret_data(encrypted)
    for token in tokens.values():
        assert token.startswith("ENC[age,") and token.endswith("]")
        raw = base64.b64decode(token[len("ENC[age,") : -1], validate=True)
        assert raw.startswith(b"age-encryption.org/v1\n")
    assert tokens["a"] != tokens["b"]  # encrypted separately


def test_multi_document_files_lists_and_secrets(recipients: Any, identities: Any) -> None:
    text = (
        "kind: Namespace\nmetadata: {name: team-a}\n"
        "---\n" + credential({"token": "cred"}) + "---\n"
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
        "data:\n  tls.crt: Y2VydA==\n"
        "stringData: {password: 'p@ss'}\n"
        "---\n"
        "kind: List\nitems:\n"
        "  - kind: Credential\n    metadata: {name: listed}\n"
        "    spec:\n      secretData:\n        token: listed\n"
        "---\n"
        "kind: ClusterTemplate\nmetadata: {name: t}\nspec: {secretData: {not: secret}}\n"
    )
    encrypted = secretfiles.encrypt_text(text, recipients)
    for plaintext in ("cred", "Y2VydA==", "p@ss", "token: listed"):
        assert plaintext not in encrypted
    assert "secretData: {not: secret}" in encrypted
    assert "kind: Namespace\nmetadata: {name: team-a}\n---\n" in encrypted
    assert secretfiles.decrypt_text(encrypted, identities) == (
        text.replace("token: cred", 'token: "cred"')
        .replace("Y2VydA==", '"Y2VydA=="')
        .replace("'p@ss'", '"p@ss"')
        .replace("token: listed", 'token: "listed"')
    )


def test_json_files_stay_json(recipients: Any, identities: Any) -> None:
    doc = {
        "apiVersion": "orbit.k8or.io/v1alpha1",
        "kind": "Credential",
        "metadata": {"name": "aws"},
        "spec": {"provider": "sim", "secretData": {"key": PEM, "token": 'q"uo\\te'}},
    }
    for text in (json.dumps(doc, indent=2), json.dumps(doc, indent="\t"), json.dumps([doc])):
        encrypted = secretfiles.encrypt_text(text, recipients)
        loaded = json.loads(encrypted)
        spec = (loaded[0] if isinstance(loaded, list) else loaded)["spec"]
        assert all(secretfiles.is_token(v) for v in spec["secretData"].values())
        assert json.loads(secretfiles.decrypt_text(encrypted, identities)) == json.loads(text)


def test_wrong_identity_names_file_line_and_field_but_no_secret(recipients: Any) -> None:
    text = credential({"user": "admin", "token": "s3cr3t-value"})
    encrypted = secretfiles.encrypt_text(text, recipients)
    stranger = secretfiles.parse_identities(
        secretfiles.generate_identity().file_text(), source="other.key"
    )
    with pytest.raises(secretfiles.SecretFileError) as caught:
        secretfiles.decrypt_text(encrypted, stranger, source="creds/aws.yaml")
    assert caught.value.message == (
        "creds/aws.yaml:8: spec.secretData.user: cannot decrypt: "
        "no identity matches this value's recipients"
    )
    assert "admin" not in str(caught.value)
    assert isinstance(caught.value, secretfiles.SecretFileError)


def test_damaged_value_is_refused_with_its_place(identities: Any) -> None:
    text = credential({"token": "ENC[age,bm90IGFnZQ==]"})
    with pytest.raises(
        secretfiles.SecretFileError,
        match=r"^f.yaml:8: spec.secretData.token: cannot decrypt: .* not an age file",
    ):
        secretfiles.decrypt_text(text, identities, source="f.yaml")


def test_a_value_that_is_not_a_string_is_refused(recipients: Any) -> None:
    text = "kind: Credential\nmetadata: {name: a}\nspec:\n  secretData:\n    token: [1, 2]\n"
    with pytest.raises(
        secretfiles.SecretFileError, match=r"^f\.yaml:5: spec\.secretData\.token: .*string"
    ):
        secretfiles.encrypt_text(text, recipients, source="f.yaml")


def test_invalid_yaml_is_refused_with_its_line(recipients: Any) -> None:
    text = credential({"token": "x"}) + "  bad: [unclosed\n"
    with pytest.raises(secretfiles.SecretFileError, match=r"^f.yaml:\d+: invalid YAML: "):
        secretfiles.encrypt_text(text, recipients, source="f.yaml")


def test_decrypt_document_for_the_sync(recipients: Any, identities: Any) -> None:
    encrypted = secretfiles.encrypt_text(credential({"token": "t", "key": PEM}), recipients)
    doc = yaml.safe_load(encrypted)
    decrypted = secretfiles.decrypt_document(doc, identities)
    assert decrypted["spec"]["secretData"] == {"token": "t", "key": PEM}
    assert secretfiles.is_token(doc["spec"]["secretData"]["token"])  # the input is untouched
    stranger = [secretfiles.parse_recipient(secretfiles.generate_identity().recipient)]
    other = yaml.safe_load(secretfiles.encrypt_text(credential({"token": "t"}), stranger))
    with pytest.raises(secretfiles.SecretFileError) as caught:
        secretfiles.decrypt_document(other, identities, source="creds/aws.yaml")
    assert caught.value.message.startswith("creds/aws.yaml: spec.secretData.token: cannot decrypt")


def test_anchors_in_secret_values_are_refused(recipients: Any) -> None:
    text = (
        "kind: Credential\nmetadata: {name: a}\nspec:\n  description: &shared value\n"
        "  secretData:\n    token: *shared\n"
    )
    with pytest.raises(secretfiles.SecretFileError, match="anchors and aliases"):
        secretfiles.encrypt_text(text, recipients)
