"""``providers.base.validated``: one way every provider turns a bad providerSpec or credential
config into a permanent error that names each field, without echoing what was given."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from orbit.providers.base import SPEC_PATH, ProviderPermanentError, validated


class Host(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    port: int = 22


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hosts: list[Host]


def test_each_bad_field_is_named_by_its_path_and_values_are_not_echoed() -> None:
    data = {"hosts": [{"address": "10.0.0.1"}, {"address": "10.0.0.2", "port": "s3cr3t"}]}
    with pytest.raises(ProviderPermanentError) as caught:
        validated(Spec, {**data, "tokn": "hunter2"}, path=SPEC_PATH, what="the providerSpec")
    message = str(caught.value)
    assert message.startswith("the providerSpec is invalid: ")
    assert f"{SPEC_PATH}.hosts[1].port: " in message
    assert f"{SPEC_PATH}.tokn: " in message
    assert "s3cr3t" not in message and "hunter2" not in message


def test_valid_and_missing_data() -> None:
    assert validated(Spec, {"hosts": []}, path="config", what="x").hosts == []
    with pytest.raises(ProviderPermanentError, match=r"config\.hosts: Field required"):
        validated(Spec, None, path="config", what="x")
