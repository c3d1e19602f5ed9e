"""What a client may send as a profile, and what it may change."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.profile.models.profile import ProfileCreate, ProfileUpdate


def _errors(model: type[ProfileCreate | ProfileUpdate], data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return [dict(e) for e in raised.value.errors()]


def _fields(errors: list[dict[str, Any]]) -> set[str]:
    return {str(e["loc"][0]) for e in errors if e["loc"]}


def test_a_complete_valid_profile_is_accepted() -> None:
    # Given every field, valid, with padding around the name and e-mail
    data = {
        "display_name": "  김민지  ",
        "email": " minji@example.com ",
        "phone": "+821012345678",
        "locale": "ko-KR",
        "time_zone": "Asia/Seoul",
    }

    # When it is validated
    profile = ProfileCreate.model_validate(data)

    # Then it is kept, trimmed
    assert profile.display_name == "김민지"
    assert profile.email == "minji@example.com"
    assert profile.phone == "+821012345678"


@pytest.mark.parametrize("extra", [{"version": 7}, {"customer_id": "cus_x"}, {"is_admin": True}])
def test_unknown_fields_are_refused(extra: dict[str, Any]) -> None:
    # Given a valid profile with a field clients may not set
    data = {"display_name": "Minji", **extra}

    # When it is validated
    errors = _errors(ProfileCreate, data)

    # Then the extra field is refused by name
    assert [e["type"] for e in errors] == ["extra_forbidden"]
    assert _fields(errors) == set(extra)


@pytest.mark.parametrize(
    "zone",
    ["Mars/Olympus", "../etc/passwd", "/etc/localtime", "Asia/Seoul/..", "asia/seoul ", "", "x" * 65],
)
def test_an_unknown_or_path_like_time_zone_is_refused(zone: str) -> None:
    # Given a time zone that is not an IANA zone name
    data = {"display_name": "Minji", "time_zone": zone}

    # When it is validated
    errors = _errors(ProfileCreate, data)

    # Then the time zone is refused
    assert _fields(errors) == {"time_zone"}


@pytest.mark.parametrize("zone", ["Asia/Seoul", "UTC", "America/Argentina/Buenos_Aires"])
def test_an_iana_time_zone_is_accepted(zone: str) -> None:
    # Given a real IANA zone
    # When it is validated
    profile = ProfileCreate.model_validate({"display_name": "Minji", "time_zone": zone})

    # Then it is kept
    assert profile.time_zone == zone


@pytest.mark.parametrize(
    "phone",
    [
        "010-1234-5678",
        "01012345678",
        "+0101234567",
        "+82",
        "+8210123456789012",
        "+82 10 1234 5678",
        "+8210abc5678",
    ],
    ids=["local dashes", "no plus", "leading zero", "too short", "too long", "spaces", "letters"],
)
def test_a_phone_that_is_not_e164_is_refused(phone: str) -> None:
    # Given a phone number not in E.164
    # When it is validated
    errors = _errors(ProfileCreate, {"display_name": "Minji", "phone": phone})

    # Then the phone is refused
    assert _fields(errors) == {"phone"}


@pytest.mark.parametrize("email", ["minji", "minji@", "@example.com", "min ji@example.com", "minji@example"])
def test_a_malformed_email_is_refused(email: str) -> None:
    # Given an address that is not an e-mail address
    # When it is validated
    errors = _errors(ProfileCreate, {"display_name": "Minji", "email": email})

    # Then the e-mail is refused
    assert _fields(errors) == {"email"}


@pytest.mark.parametrize("name", ["x" * 101, "", "   "], ids=["101 chars", "empty", "blank"])
def test_an_overlong_or_blank_display_name_is_refused(name: str) -> None:
    # Given a display name over 100 characters or with nothing in it
    # When it is validated
    errors = _errors(ProfileCreate, {"display_name": name})

    # Then the name is refused
    assert _fields(errors) == {"display_name"}


def test_a_display_name_of_exactly_100_characters_is_accepted() -> None:
    # Given a name at the limit, in Hangul
    name = "가" * 100

    # When it is validated
    profile = ProfileCreate.model_validate({"display_name": name})

    # Then it is kept
    assert profile.display_name == name


def test_a_display_name_is_required_to_register() -> None:
    # Given registration data without a name
    # When it is validated
    errors = _errors(ProfileCreate, {"email": "minji@example.com"})

    # Then the missing name is reported
    assert [(e["type"], e["loc"]) for e in errors] == [("missing", ("display_name",))]


def test_an_empty_update_is_refused() -> None:
    # Given an update with no fields
    # When it is validated
    errors = _errors(ProfileUpdate, {})

    # Then it is refused: at least one field must be given
    assert "at least one field" in errors[0]["msg"]


@pytest.mark.parametrize("field", ["display_name", "locale", "time_zone"])
def test_an_update_cannot_null_a_required_field(field: str) -> None:
    # Given an update setting a required field to null
    # When it is validated
    errors = _errors(ProfileUpdate, {field: None})

    # Then it is refused, naming the field
    assert f"{field} cannot be null" in errors[0]["msg"]


@pytest.mark.parametrize("field", ["email", "phone"])
def test_an_update_can_clear_an_optional_contact_point(field: str) -> None:
    # Given an update setting an optional contact point to null
    # When it is validated
    update = ProfileUpdate.model_validate({field: None})

    # Then the change is "clear that field", and nothing else
    assert update.changes() == {field: None}


def test_an_update_lists_only_the_fields_sent() -> None:
    # Given an update of two fields
    # When it is validated
    update = ProfileUpdate.model_validate({"time_zone": "Europe/Paris", "display_name": " Minji "})

    # Then exactly those fields are the changes, validated and trimmed
    assert update.changes() == {"display_name": "Minji", "time_zone": "Europe/Paris"}


@pytest.mark.parametrize(
    "data",
    [{"time_zone": "Mars/Olympus"}, {"phone": "010"}, {"nickname": "M"}],
    ids=["bad zone", "bad phone", "unknown field"],
)
def test_an_update_validates_its_fields_like_a_registration(data: dict[str, Any]) -> None:
    # Given an update with an invalid or unknown field
    # When it is validated
    errors = _errors(ProfileUpdate, data)

    # Then that field is refused
    assert _fields(errors) == set(data)
