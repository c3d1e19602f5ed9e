"""Personal data never reaches a log line."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from shared.observability import MASK, make_logger, redact


def test_redact_masks_personal_keys_at_any_depth() -> None:
    # Given a structure with personal keys at the top, nested in maps and inside lists
    value = {
        "customer_id": "cus_1",
        "email": "a@b.c",
        "profile": {"display_name": "Minji", "locale": "ko-KR", "contact": {"Phone": "+821012345678"}},
        "history": [{"note": "called about a refund", "points": 5}, "plain"],
    }

    # When it is redacted
    safe = redact(value)

    # Then personal values (any key case) are masked and everything else is untouched
    assert safe == {
        "customer_id": "cus_1",
        "email": MASK,
        "profile": {"display_name": MASK, "locale": "ko-KR", "contact": {"Phone": MASK}},
        "history": [{"note": MASK, "points": 5}, "plain"],
    }


def test_redact_masks_a_whole_personal_subtree() -> None:
    # Given a personal key whose value is itself a structure
    value = {"address": {"city": "Seoul", "street": "Teheran-ro 1"}}

    # When it is redacted
    safe = redact(value)

    # Then the whole value is masked
    assert safe == {"address": MASK}


def test_redact_does_not_change_its_input() -> None:
    # Given a structure with personal data
    value: dict[str, Any] = {"email": "a@b.c", "items": [{"token": "t"}]}

    # When it is redacted
    redact(value)

    # Then the original still holds its values (the caller may still need them)
    assert value == {"email": "a@b.c", "items": [{"token": "t"}]}


def _fresh_logger() -> Logger:
    """A logger of a new service, made inside the test so its handler writes to captured stdout
    (Powertools configures a service's handler once, on the stream current at that time)."""
    return make_logger(f"t-{uuid.uuid4().hex[:8]}")


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def test_a_logged_email_in_extra_never_reaches_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a logger
    logger = _fresh_logger()

    # When a line is logged with an e-mail and a customer id as extra keys
    logger.info("x", extra={"email": "a@b.c", "customer_id": "cus_1"})

    # Then the JSON line keeps the id but not the e-mail
    (line,) = _lines(capsys)
    assert line["message"] == "x"
    assert line["customer_id"] == "cus_1"
    assert line["email"] == MASK
    assert "a@b.c" not in json.dumps(line)


def test_a_logged_dict_message_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a logger
    logger = _fresh_logger()

    # When a dict with personal keys is logged as the message
    logger.info({"phone": "+821012345678", "action": "signup"})

    # Then the phone number is masked
    (line,) = _lines(capsys)
    assert line["message"] == {"phone": MASK, "action": "signup"}


def test_personal_keys_nested_in_extra_never_reach_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a logger
    logger = _fresh_logger()

    # When a line is logged with an e-mail nested inside an extra value
    logger.info("x", extra={"customer": {"id": "cus_1", "email": "a@b.c"}})

    # Then the e-mail is not in the output
    (line,) = _lines(capsys)
    assert "a@b.c" not in json.dumps(line)


def test_a_personal_extra_key_in_another_case_never_reaches_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a logger
    logger = _fresh_logger()

    # When a line is logged with a capitalised personal key
    logger.info("x", extra={"Email": "a@b.c"})

    # Then the e-mail is not in the output
    (line,) = _lines(capsys)
    assert "a@b.c" not in json.dumps(line)


def test_the_log_record_keeps_its_logger_name(caplog: pytest.LogCaptureFixture) -> None:
    # Given a logger of a service
    logger = _fresh_logger()

    # When a line without personal data is logged
    logger.info("x", extra={"customer_id": "cus_1"})

    # Then the record still names the logger it came from
    (record,) = caplog.records
    assert record.name == logger.name
