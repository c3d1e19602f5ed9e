"""What customers and staff can do with profiles, against an in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.profile.logic import profiles
from services.profile.models.profile import Profile, ProfileCreate, ProfileUpdate
from shared.errors import Conflict, NotFound, PreconditionFailed
from tests.unit.fakes import FakeClock, FakeProfileStore

SUBJECT = "cognito-sub-1"
CUSTOMER_ID = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
OTHER_ID = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W3Z"


@pytest.fixture
def store() -> FakeProfileStore:
    return FakeProfileStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _register(
    store: FakeProfileStore, clock: FakeClock, subject: str = SUBJECT, customer_id: str = CUSTOMER_ID
) -> Profile:
    data = ProfileCreate(display_name="김민지", email="minji@example.com", phone="+821012345678")
    return profiles.register(store, subject, data, clock=clock, new_id=lambda: customer_id)


def test_register_creates_version_1_at_the_clocks_time_with_the_new_id(
    store: FakeProfileStore, clock: FakeClock
) -> None:
    # Given a customer without a profile
    data = ProfileCreate(display_name="  김민지 ", email="minji@example.com", locale="en-US", time_zone="UTC")

    # When they register
    profile = profiles.register(store, SUBJECT, data, clock=clock, new_id=lambda: CUSTOMER_ID)

    # Then the profile has the new id, version 1, the clock's time, and the data given
    assert profile.customer_id == CUSTOMER_ID
    assert profile.version == 1
    assert profile.created_at == profile.updated_at == clock.now
    assert (profile.display_name, profile.email, profile.phone) == ("김민지", "minji@example.com", None)
    assert (profile.locale, profile.time_zone) == ("en-US", "UTC")
    # ... and it is stored, linked to the caller
    assert store.customer_id_of(SUBJECT) == CUSTOMER_ID
    assert store.get(CUSTOMER_ID) == profile


def test_register_applies_the_default_locale_and_time_zone(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given registration data with only a name
    data = ProfileCreate(display_name="Minji")

    # When the customer registers
    profile = profiles.register(store, SUBJECT, data, clock=clock, new_id=lambda: CUSTOMER_ID)

    # Then the Korean defaults apply
    assert (profile.locale, profile.time_zone) == ("ko-KR", "Asia/Seoul")


def test_registering_twice_is_a_409_profile_exists(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given a customer who already registered
    _register(store, clock)

    # When they register again (a new id would be made)
    with pytest.raises(Conflict) as raised:
        _register(store, clock, customer_id=OTHER_ID)

    # Then it is a 409 profile_exists and the first profile stays the only one
    assert raised.value.status == 409
    assert raised.value.code == "profile_exists"
    assert list(store.profiles) == [CUSTOMER_ID]


def test_my_profile_is_the_callers_own(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given two registered customers
    mine = _register(store, clock)
    _register(store, clock, subject="cognito-sub-2", customer_id=OTHER_ID)

    # When the first asks for their profile
    profile = profiles.my_profile(store, SUBJECT)

    # Then it is theirs
    assert profile == mine


def test_my_profile_without_a_profile_is_a_404_profile_not_found(store: FakeProfileStore) -> None:
    # Given a caller who never registered
    # When they ask for their profile
    with pytest.raises(NotFound) as raised:
        profiles.my_profile(store, SUBJECT)

    # Then it is a 404 profile_not_found
    assert raised.value.code == "profile_not_found"


def test_my_profile_whose_link_points_nowhere_is_a_404(store: FakeProfileStore) -> None:
    # Given an identity link whose profile is gone
    store.identities[SUBJECT] = CUSTOMER_ID

    # When the caller asks for their profile
    # Then it is a 404 profile_not_found
    with pytest.raises(NotFound, match="No profile"):
        profiles.my_profile(store, SUBJECT)


def test_update_mine_changes_only_the_fields_given_and_returns_the_new_version(
    store: FakeProfileStore, clock: FakeClock
) -> None:
    # Given a registered customer, later
    before = _register(store, clock)
    clock.now += timedelta(hours=1)

    # When they change only their display name
    after = profiles.update_mine(
        store, SUBJECT, ProfileUpdate(display_name="Minji Kim"), expected_version=None, clock=clock
    )

    # Then only that field was sent to the store, at the clock's time, and the new version is returned
    (call,) = store.updates
    assert call.changes == {"display_name": "Minji Kim"}
    assert call.at == clock.now
    assert after.display_name == "Minji Kim"
    assert (after.email, after.phone, after.locale) == (before.email, before.phone, before.locale)
    assert after.version == before.version + 1
    assert after.updated_at == clock.now
    assert after.created_at == before.created_at


def test_update_mine_clears_the_email_with_null(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given a registered customer with an e-mail
    before = _register(store, clock)
    assert before.email is not None

    # When they send email: null
    after = profiles.update_mine(
        store, SUBJECT, ProfileUpdate.model_validate({"email": None}), expected_version=1, clock=clock
    )

    # Then the e-mail is gone and the phone kept
    assert store.updates[0].changes == {"email": None}
    assert after.email is None
    assert after.phone == before.phone
    assert after.version == 2


def test_update_mine_with_the_current_version_succeeds(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given a profile at version 2
    _register(store, clock)
    profiles.update_mine(store, SUBJECT, ProfileUpdate(locale="en-US"), expected_version=1, clock=clock)

    # When the customer updates with If-Match 2
    after = profiles.update_mine(
        store, SUBJECT, ProfileUpdate(locale="ko-KR"), expected_version=2, clock=clock
    )

    # Then the change is applied on top of version 2, and a ProfileUpdated for version 3 is recorded
    assert after.locale == "ko-KR"
    assert after.version == 3
    assert store.updates[-1].seen_version == 2
    assert store.events[-1].model_dump() == {"customer_id": CUSTOMER_ID, "changed": ["locale"], "version": 3}


def test_update_mine_with_a_stale_version_is_a_412(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given a profile that moved to version 2
    _register(store, clock)
    profiles.update_mine(store, SUBJECT, ProfileUpdate(locale="en-US"), expected_version=None, clock=clock)

    # When the customer updates holding version 1
    with pytest.raises(PreconditionFailed) as raised:
        profiles.update_mine(store, SUBJECT, ProfileUpdate(locale="ja-JP"), expected_version=1, clock=clock)

    # Then it is a 412 and nothing changed
    assert raised.value.status == 412
    assert store.get(CUSTOMER_ID).locale == "en-US"  # type: ignore[union-attr]


def test_update_mine_without_a_profile_is_a_404(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given a caller who never registered
    # When they try to update
    with pytest.raises(NotFound) as raised:
        profiles.update_mine(
            store, SUBJECT, ProfileUpdate(locale="en-US"), expected_version=None, clock=clock
        )

    # Then it is a 404 and the store was never asked to update
    assert raised.value.code == "profile_not_found"
    assert store.updates == []


@pytest.mark.parametrize("expected_version", [None, 1])
def test_update_mine_of_a_profile_gone_behind_its_link_is_a_404(
    store: FakeProfileStore, clock: FakeClock, expected_version: int | None
) -> None:
    # Given an identity link whose profile is gone
    store.identities[SUBJECT] = CUSTOMER_ID

    # When the caller updates, with or without If-Match
    # Then it is a 404 (not a 412: there is no version to mismatch)
    with pytest.raises(NotFound) as raised:
        profiles.update_mine(
            store, SUBJECT, ProfileUpdate(locale="en-US"), expected_version=expected_version, clock=clock
        )
    assert raised.value.code == "profile_not_found"


def test_staff_read_a_customer_by_id(store: FakeProfileStore, clock: FakeClock) -> None:
    # Given two registered customers
    _register(store, clock)
    other = _register(store, clock, subject="cognito-sub-2", customer_id=OTHER_ID)

    # When staff read one by id
    profile = profiles.customer(store, OTHER_ID)

    # Then it is that customer's profile
    assert profile == other


def test_staff_reading_an_unknown_customer_get_a_404(store: FakeProfileStore) -> None:
    # Given no such customer
    # When staff read it
    with pytest.raises(NotFound) as raised:
        profiles.customer(store, CUSTOMER_ID)

    # Then it is a 404 profile_not_found
    assert raised.value.code == "profile_not_found"
