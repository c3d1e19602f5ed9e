"""Opt-out links: signed tokens (``logic/optout.py``), the cards' links and the withdrawal, with fakes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from services.profile.logic import optout
from services.profile.logic.cards import Found, Person, contact_cards, opt_out_links
from services.profile.models.behaviour import UsualItem
from services.profile.models.cards import CardDevice, CardRequest
from services.profile.models.consent import ConsentRecord, ConsentState, ProfileGone
from services.profile.models.events import ConsentChanged
from services.profile.models.profile import VersionMismatch
from tests.unit.fakes import FakeClock

KEY = (b"k" * 40,)
OTHER_KEY = (b"o" * 40,)
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MINJI, JUNHO = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y", "cus_01JK2M3N4P5Q6R7S8T9V0W1X3Z"


def _token(customer_id: str = MINJI, keys: tuple[bytes, ...] = KEY, channel: str = "email") -> str:
    return optout.sign(optout.OptOut(customer_id, channel, "marketing", issued_at=AT), keys)  # type: ignore[arg-type]


def test_a_token_names_the_customer_channel_purpose_and_issue_time() -> None:
    # Given a token signed for Minji's marketing e-mail
    token = _token()
    # When it is verified with the same key
    found = optout.verify(token, KEY)
    # Then it names exactly what was signed, and it is compact and URL-safe
    assert found == optout.OptOut(MINJI, "email", "marketing", issued_at=AT)
    assert len(token) < 120
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


@pytest.mark.parametrize("position", range(0, 90, 7))
def test_a_token_with_one_byte_changed_is_invalid(position: int) -> None:
    # Given a valid token with one character changed (in its payload or its signature)
    token = _token()
    i = position % len(token)
    if token[i] == ".":
        i += 1
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    # When it is verified
    # Then it is not a link of ours
    with pytest.raises(optout.LinkInvalid):
        optout.verify(tampered, KEY)


def test_a_payload_changed_to_another_customer_is_invalid() -> None:
    # Given Minji's token whose payload is rewritten to name Junho, her signature kept
    payload, mac = _token().split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode().replace(MINJI, JUNHO)
    forged = base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode() + "." + mac
    # When it is verified
    # Then it is invalid: the signature covers the customer
    with pytest.raises(optout.LinkInvalid):
        optout.verify(forged, KEY)


def test_a_token_signed_under_another_key_is_invalid_and_old_keys_still_verify() -> None:
    # Given a token signed under another key (another stage's, or a forger's)
    # Then it is invalid under ours
    with pytest.raises(optout.LinkInvalid):
        optout.verify(_token(keys=OTHER_KEY), KEY)
    # And a token signed under a key that was since replaced (kept below the new one) still verifies:
    # an old message's link must keep working
    assert optout.verify(_token(keys=KEY), OTHER_KEY + KEY).customer_id == MINJI
    assert optout.verify(_token(keys=OTHER_KEY + KEY), OTHER_KEY).customer_id == MINJI


@pytest.mark.parametrize(
    "token", ["", "x", "a.b.c", "가.나", "." * 2, "x" * 300 + ".y", "bm90.AA==", "bm90LWEtdG9rZW4.AAAA"]
)
def test_anything_that_is_not_a_token_of_ours_is_invalid(token: str) -> None:
    with pytest.raises(optout.LinkInvalid):
        optout.verify(token, KEY)


def test_the_signing_keys_are_one_per_line_each_long_enough() -> None:
    assert optout.signing_keys("k" * 40 + "\n" + "o" * 40 + "\n") == (b"k" * 40, b"o" * 40)
    for bad in ("", "short", "k" * 40 + "\nshort"):
        with pytest.raises(ValueError, match="key"):
            optout.signing_keys(bad)


class Consents:
    """A consent store in memory, whose profile may be gone."""

    def __init__(self, granted: dict[str, bool], *, gone: bool = False) -> None:
        self.states = {
            MINJI: ConsentState(customer_id=MINJI, consents=ConsentState.complete(granted), version=1)
        }
        self.gone = gone
        self.records: list[ConsentRecord] = []
        self.events: list[ConsentChanged] = []

    def state(self, customer_id: str, *, history: int = 0) -> ConsentState:
        return self.states.get(customer_id, ConsentState(customer_id=customer_id, consents={}))

    def record(
        self, customer_id: str, record: ConsentRecord, seen: ConsentState, events: list[ConsentChanged]
    ) -> None:
        if self.gone:
            raise ProfileGone(customer_id)
        if seen.version != self.state(customer_id).version:
            raise VersionMismatch
        self.records.append(record)
        self.events += events
        after = {**seen.consents, f"{record.channel}.{record.purpose}": record.granted}
        self.states[customer_id] = ConsentState(
            customer_id=customer_id, consents=after, version=seen.version + 1
        )


def test_a_click_withdraws_once_as_the_customers_own_change_from_the_link() -> None:
    # Given Minji's marketing e-mail consent
    store = Consents({"email.marketing": True, "sms.marketing": True})
    # When her link is followed twice
    first = optout.unsubscribe(store, _token(), lambda: KEY, clock=FakeClock(AT))
    again = optout.unsubscribe(store, _token(), lambda: KEY, clock=FakeClock(AT))
    # Then it was withdrawn once, by the customer, from the link; SMS stays as it was
    assert first == again == optout.OptOut(MINJI, "email", "marketing", issued_at=AT)
    assert [(r.channel, r.purpose, r.granted, r.source, r.actor) for r in store.records] == [
        ("email", "marketing", False, "unsubscribe_link", "customer")
    ]
    assert len(store.events) == 1
    assert store.events[0].consents["email.marketing"] is False
    assert store.events[0].consents["sms.marketing"] is True


def test_a_link_of_a_customer_who_is_gone_is_answered_the_same_and_changes_nothing() -> None:
    # Given a customer whose profile is gone (erased) but whose old link is followed
    store = Consents({"email.marketing": True}, gone=True)
    # When it is followed
    answer = optout.unsubscribe(store, _token(), lambda: KEY, clock=FakeClock(AT))
    # Then the answer is a success like any other, and nothing was recorded
    assert answer.customer_id == MINJI
    assert store.records == []


def test_a_malformed_link_is_refused_before_the_key_is_read() -> None:
    def no_key() -> tuple[bytes, ...]:
        raise AssertionError("the key was read")

    with pytest.raises(optout.LinkInvalid):
        optout.unsubscribe(Consents({}), "not-a-token", no_key, clock=FakeClock(AT))


def test_the_page_escapes_and_holds_no_script() -> None:
    page = optout.page(optout.OptOut(MINJI, "email", "marketing", issued_at=AT), done=False)
    assert '<form method="post">' in page
    assert "<script" not in page.lower()
    assert MINJI not in page


class Cards:
    def __init__(self, found: Found) -> None:
        self.found = found

    def find(self, customer_ids: object) -> Found:
        return self.found

    def usual(self, customer_id: str) -> list[UsualItem]:
        return []


def test_a_send_card_carries_a_link_per_consented_reachable_marketing_channel() -> None:
    # Given a customer with an e-mail and a device but no phone, consenting to marketing on all three
    person = Person(
        name="민지",
        locale="ko-KR",
        time_zone="Asia/Seoul",
        email="minji@example.com",
        devices=(CardDevice(device_id="p1", platform="ios", token="t", verified=True),),
    )
    consents = {"email.marketing": True, "sms.marketing": True, "push.marketing": True, "push.service": True}
    found = Found(people={MINJI: person}, consents={MINJI: consents})

    def links(customer_id: str, channel: str) -> str:
        return f"https://api.test/unsubscribe/{customer_id}-{channel}"

    # When the sender asks for her card, and the preview too
    (card,) = contact_cards(Cards(found), CardRequest(customer_ids=[MINJI]), links).cards  # type: ignore[arg-type]
    (preview,) = contact_cards(
        Cards(found), CardRequest(customer_ids=[MINJI], purpose="preview"), links
    ).cards  # type: ignore[arg-type]
    # Then the card links e-mail and push (no phone: no SMS link), the preview none
    assert card.unsubscribe_urls == {
        "email.marketing": f"https://api.test/unsubscribe/{MINJI}-email",
        "push.marketing": f"https://api.test/unsubscribe/{MINJI}-push",
    }
    assert preview.unsubscribe_urls == {}
    assert opt_out_links(MINJI, person, {}, links) == {}
