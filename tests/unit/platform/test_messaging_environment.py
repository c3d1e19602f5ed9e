"""The channels in a function's environment (``infra.environment``): a function that sends
messages gets the sender, the configuration set and the push applications, which the campaigns
sender reads with ``shared.settings.MessagingSettings``; no other function gets them."""

from __future__ import annotations

import json

import pytest

from infra.environment import function_environment, messaging_environment
from infra.topology import SYSTEM
from services.campaigns.topology import PLANNER, SENDER
from shared.settings import MessagingSettings

CHANNELS = messaging_environment(
    sender="news@dangol.example",
    configuration_set="dangol-dev",
    push_applications={"ios": "arn:aws:sns:ap-northeast-2:123456789012:app/APNS/dangol-ios"},
)


def _environment(function: object, **kw: object) -> dict[str, str]:
    return function_environment(
        SYSTEM,
        function,  # type: ignore[arg-type]
        stage="dev",
        table_name=lambda t: f"<table {t.id}>",
        bus_name=lambda _: "<bus>",
        queue_url=lambda q: f"<queue {q.id}>",
        topic_arn=lambda t: f"<topic {t.id}>",
        function_name=lambda f: f"<function {f.id}>",
        **kw,  # type: ignore[arg-type]
    )


def test_a_function_that_sends_messages_gets_the_three_channel_variables() -> None:
    # Given the campaigns sender, which sends messages
    assert SENDER.sends_messages
    # When its environment is derived with the stage's channels
    env = _environment(SENDER, messaging=CHANNELS)
    # Then it has the sender, the configuration set and the push applications, as its settings read them
    assert env["EMAIL_SENDER"] == "news@dangol.example"
    assert env["EMAIL_CONFIGURATION_SET"] == "dangol-dev"
    assert json.loads(env["PUSH_APPLICATIONS"]) == {
        "ios": "arn:aws:sns:ap-northeast-2:123456789012:app/APNS/dangol-ios"
    }
    settings = MessagingSettings.model_validate(env | {"AWS_REGION": "ap-northeast-2"})
    assert settings.email_sender == "news@dangol.example"
    assert settings.email_configuration_set == "dangol-dev"
    assert settings.push_applications == {
        "ios": "arn:aws:sns:ap-northeast-2:123456789012:app/APNS/dangol-ios"
    }


def test_a_function_that_sends_nothing_gets_none_of_them() -> None:
    # Given a function of the same service that sends no message
    assert not PLANNER.sends_messages
    # When its environment is derived, even with the channels at hand
    env = _environment(PLANNER, messaging=CHANNELS)
    # Then none of the channel variables is in it
    assert not {"EMAIL_SENDER", "EMAIL_CONFIGURATION_SET", "PUSH_APPLICATIONS"} & set(env)


def test_a_sender_without_channels_is_refused_with_what_to_pass() -> None:
    # Given a backend that resolves no channels (or none with a sender)
    # Then the sender's environment is refused, naming the parameter
    with pytest.raises(ValueError, match="campaigns-sender sends messages: pass messaging="):
        _environment(SENDER)
    with pytest.raises(ValueError, match="messaging="):
        _environment(SENDER, messaging={"EMAIL_CONFIGURATION_SET": "dangol-dev"})


def test_without_a_configuration_set_the_variable_is_left_out() -> None:
    # Given channels with no configuration set
    channels = messaging_environment(sender="a@b.example", configuration_set=None, push_applications={})
    # Then the sender gets no EMAIL_CONFIGURATION_SET (its settings read None) and no push application
    env = _environment(SENDER, messaging=channels)
    assert "EMAIL_CONFIGURATION_SET" not in env
    assert env["PUSH_APPLICATIONS"] == "{}"
