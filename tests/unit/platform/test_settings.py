"""Settings come from the environment, once, with every problem named."""

from __future__ import annotations

import pytest
from pydantic import Field

from services.profile.handlers.env import ProfileSettings
from shared import secrets
from shared.settings import ConfigurationError, ListSettings, load


class ReportSettings(ListSettings):
    reports_table: str = Field(alias="REPORTS_TABLE", min_length=3)
    batch_size: int = Field(alias="REPORT_BATCH_SIZE", default=50, ge=1, le=500)


VALID = {
    "STAGE": "dev",
    "AWS_REGION": "ap-northeast-2",
    "POWERTOOLS_SERVICE_NAME": "reports",
    "CURSOR_KEY_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:cursor-AbCdEf",
    "REPORTS_TABLE": "dangol-dev-reports",
}


def test_a_complete_environment_loads_into_typed_fields() -> None:
    # Given every variable, an optional one as text, and unrelated ones
    environ = {**VALID, "REPORT_BATCH_SIZE": "200", "PATH": "/usr/bin", "HOME": "/root"}

    # When the settings are loaded
    settings = load(ReportSettings, environ)

    # Then each field holds its variable, converted to its type
    assert settings.reports_table == "dangol-dev-reports"
    assert settings.batch_size == 200
    assert settings.stage == "dev"
    assert settings.region == "ap-northeast-2"
    assert settings.service == "reports"
    assert settings.cursor_key_secret == VALID["CURSOR_KEY_SECRET_ARN"]


def test_an_optional_variable_takes_its_default() -> None:
    # Given an environment without the optional variable
    # When the settings are loaded
    settings = load(ReportSettings, VALID)

    # Then its default applies
    assert settings.batch_size == 50


def test_missing_variables_are_all_named_in_one_error() -> None:
    # Given an environment missing the stage and the table
    environ = {k: v for k, v in VALID.items() if k not in {"STAGE", "REPORTS_TABLE"}}

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load(ReportSettings, environ)

    # Then the message names each missing variable by its environment name, and only those
    message = str(raised.value)
    assert "STAGE is missing" in message
    assert "REPORTS_TABLE is missing" in message
    assert "AWS_REGION" not in message
    assert message.startswith("ReportSettings")


def test_an_invalid_variable_is_named_as_invalid() -> None:
    # Given an empty secret name and a batch size that is not a number
    environ = {**VALID, "CURSOR_KEY_SECRET_ARN": "", "REPORT_BATCH_SIZE": "lots"}

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load(ReportSettings, environ)

    # Then both variables are named as invalid
    message = str(raised.value)
    assert "CURSOR_KEY_SECRET_ARN is invalid" in message
    assert "REPORT_BATCH_SIZE is invalid" in message


def test_load_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the variables in the process environment
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)

    # When the settings are loaded without an explicit mapping
    settings = load(ReportSettings)

    # Then they come from os.environ
    assert settings.reports_table == VALID["REPORTS_TABLE"]


def test_the_profile_functions_read_their_table_and_bus_from_the_topologys_variables() -> None:
    # Given the profile function's environment
    environ = {**VALID, "PROFILES_TABLE": "dangol-dev-profiles", "EVENT_BUS_NAME": "dangol-dev-bus"}

    # When its settings are loaded
    settings = load(ProfileSettings, environ)

    # Then the table name comes from PROFILES_TABLE and the bus from EVENT_BUS_NAME
    assert settings.profiles_table == "dangol-dev-profiles"
    assert settings.event_bus == "dangol-dev-bus"


def test_the_cursor_key_is_read_from_its_secret_at_first_use_not_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given settings that name the secret, and a secret store that counts its reads
    reads: list[str] = []

    def fetch(secret_id: str) -> str:
        reads.append(secret_id)
        return "s" * 48

    monkeypatch.setattr(secrets, "CACHE", secrets.SecretCache(fetch))
    settings = load(ReportSettings, VALID)
    # When nothing asks for the key, nothing is read
    assert reads == []
    # When the key is asked for twice
    first, second = settings.cursor_key, settings.cursor_key
    # Then it is the secret's value, read once and cached
    assert first == second == "s" * 48
    assert reads == [VALID["CURSOR_KEY_SECRET_ARN"]]


def test_a_cursor_key_shorter_than_32_characters_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a secret whose value is too short to sign cursors safely
    monkeypatch.setattr(secrets, "CACHE", secrets.SecretCache(lambda _: "short"))
    settings = load(ReportSettings, VALID)
    # When the key is asked for, the operator's mistake is named
    with pytest.raises(ConfigurationError, match="CURSOR_KEY_SECRET_ARN"):
        _ = settings.cursor_key
