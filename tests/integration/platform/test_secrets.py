"""The cursor key comes from Secrets Manager (moto), by the id the function's environment names."""

from __future__ import annotations

import boto3
import pytest

from shared import secrets
from shared.errors import ServiceUnavailable
from tests.integration.conftest import CURSOR_KEY, cursor_key_secret


def test_a_function_reads_the_stage_cursor_key_from_secrets_manager(moto: None) -> None:
    # Given the stage's secret, as the local runtime and the stack create it
    # When a function reads it by the id its environment holds
    value = secrets.secret_string(cursor_key_secret())
    # Then it is the key
    assert value == CURSOR_KEY


def test_a_secret_that_cannot_be_read_is_a_503_not_a_500(moto: None) -> None:
    # Given an id of no secret
    # When it is read
    with pytest.raises(ServiceUnavailable) as raised:
        secrets.secret_string("arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:gone")
    # Then the request fails as a dependency failure the client may retry
    assert raised.value.code == "dependency_unavailable"


def test_a_rotated_key_is_read_again_once_the_cached_one_is_forgotten(moto: None) -> None:
    # Given the key read once
    assert secrets.secret_string(cursor_key_secret()) == CURSOR_KEY
    # When the secret is rotated and the cached value has aged out
    boto3.client("secretsmanager").put_secret_value(SecretId=cursor_key_secret(), SecretString="r" * 48)
    secrets.CACHE.forget()
    # Then the new value is what signs cursors
    assert secrets.secret_string(cursor_key_secret()) == "r" * 48
