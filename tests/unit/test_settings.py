"""Settings come from the environment, once, with every problem named."""

from __future__ import annotations

import pytest
from pydantic import Field

from services.profile.handlers.env import ProfileSettings
from shared.settings import ConfigurationError, ListSettings, load


class ReportSettings(ListSettings):
    reports_table: str = Field(alias="REPORTS_TABLE", min_length=3)
    batch_size: int = Field(alias="REPORT_BATCH_SIZE", default=50, ge=1, le=500)


VALID = {
    "STAGE": "dev",
    "AWS_REGION": "ap-northeast-2",
    "POWERTOOLS_SERVICE_NAME": "reports",
    "CURSOR_SIGNING_KEY": "k" * 32,
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
    assert settings.cursor_key == "k" * 32


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
    # Given a signing key that is too short and a batch size that is not a number
    environ = {**VALID, "CURSOR_SIGNING_KEY": "short", "REPORT_BATCH_SIZE": "lots"}

    # When the settings are loaded
    with pytest.raises(ConfigurationError) as raised:
        load(ReportSettings, environ)

    # Then both variables are named as invalid
    message = str(raised.value)
    assert "CURSOR_SIGNING_KEY is invalid" in message
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
