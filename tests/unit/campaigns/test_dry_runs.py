"""A campaign's dry run as pure logic, over in-memory fakes that can only be read: the audience,
the control group, the sender's decision for a sample (the same ``decide``, caps and rendering),
addresses masked, and the refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.campaigns.logic import dry_runs
from services.campaigns.logic.delivery import MEMBER_SHARDS, Caps
from services.campaigns.logic.dry_runs import Sources, dry_run, masked, page_members, preview_of
from services.campaigns.logic.sending import in_control
from services.campaigns.models.cards import CardDevice, ContactCard
from services.campaigns.models.templates import Rendered, TemplateDefinition
from shared.errors import Conflict, NotFound

NOON_SEOUL = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul, 19:00 in Los Angeles
CAMPAIGN_ID = "cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P"
TEMPLATE = TemplateDefinition.model_validate(
    {
        "name": "winback",
        "channel": "email",
        "purpose": "marketing",
        "sender": "Dangol Bakery",
        "locales": {
            "en-US": {
                "subject": "We miss you, {{ customer.name }}",
                "html": "<p>Hi {{ customer.name }}</p>",
                "text": "Hi {{ customer.name }}",
            }
        },
        "default_locale": "en-US",
    }
)


def card(customer_id: str, **overrides: Any) -> ContactCard:
    base: dict[str, Any] = {
        "customer_id": customer_id,
        "status": "active",
        "name": "Jisoo",
        "locale": "en-US",
        "time_zone": "Asia/Seoul",
        "email": "jisoo@example.com",
        "phone": "+821012345678",
        "consents": {"email.marketing": True},
    }
    return ContactCard.model_validate({**base, **overrides})


@dataclass
class Shelf:
    """Everything a dry run reads, in memory; it records what was asked and offers no writes."""

    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    shards: dict[int, list[str]] = field(default_factory=dict)
    cards_by_id: dict[str, ContactCard] = field(default_factory=dict)
    full: set[str] = field(default_factory=set)  # customers at their cap
    template: TemplateDefinition | None = TEMPLATE
    asked_cards: list[tuple[list[str], str]] = field(default_factory=list)
    asked_caps: list[dict[str, Any]] = field(default_factory=list)

    # campaigns
    def get(self, item_id: str) -> dict[str, Any] | None:
        if item_id.startswith("tpl_"):
            return {"id": item_id, "version": 1} if self.template else None
        return self.campaigns.get(item_id)

    # members
    def count(self, segment_id: str) -> int:
        return sum(len(ids) for ids in self.shards.values())

    def members(
        self, segment_id: str, *, shard: int, after: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        ids = [c for c in sorted(self.shards.get(shard, [])) if after is None or c > after]
        got = ids[:limit]
        return got, (got[-1] if len(ids) > limit and got else None)

    # cards
    def cards(self, customer_ids: Sequence[str], purpose: str) -> list[ContactCard]:
        self.asked_cards.append((list(customer_ids), purpose))
        return [self.cards_by_id[c] for c in customer_ids if c in self.cards_by_id]

    # templates
    def definition(self, template_id: str, version: int) -> TemplateDefinition | None:
        return self.template

    # facts
    def facts(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {c: {"tier": "gold", "points": 100} for c in customer_ids}

    # caps
    def cap_room(self, wanted: Mapping[str, Sequence[tuple[str, int, int]]]) -> dict[str, bool]:
        self.asked_caps.append(dict(wanted))
        return {c: c not in self.full for c in wanted}

    def sources(self) -> Sources:
        return Sources(campaigns=self, members=self, cards=self, templates=self, facts=self, caps=self)

    def campaign(self, **overrides: Any) -> dict[str, Any]:
        item = {
            "id": CAMPAIGN_ID,
            "status": "draft",
            "segment_id": "seg_1",
            "template_id": "tpl_1",
            "channel": "email",
            "purpose": "marketing",
            "priority": 5,
            "control_percent": 0,
            "schedule": {"kind": "now"},
            "runs": 0,
            **overrides,
        }
        self.campaigns[CAMPAIGN_ID] = item
        return item

    def customers(self, *cards: ContactCard) -> list[str]:
        for i, c in enumerate(cards):
            self.shards.setdefault(i % MEMBER_SHARDS, []).append(c.customer_id)
            self.cards_by_id[c.customer_id] = c
        return [c.customer_id for c in cards]


def run(shelf: Shelf, sample: int = 10) -> Any:
    return dry_run(shelf.sources(), CAMPAIGN_ID, sample=sample, caps=Caps(), now=NOON_SEOUL)


def test_each_customer_of_the_sample_gets_the_decision_the_sender_would_make() -> None:
    # Given a draft e-mail campaign to six customers: one who may be mailed, one without consent,
    # one without an address, one erased, one already at their cap today, and one in New York, where
    # noon in Seoul is 22:00 (quiet hours)
    shelf = Shelf()
    shelf.campaign()
    ids = shelf.customers(
        card("cus_A", email="jisoo@example.com"),
        card("cus_B", consents={"email.marketing": False}),
        card("cus_C", email=None),
        ContactCard(customer_id="cus_D", status="erased"),
        card("cus_E"),
        card("cus_F", time_zone="America/New_York"),
    )
    shelf.full.add("cus_E")
    # When it is dry-run
    found = run(shelf)
    # Then the audience is all six, nobody is held out (0%), and each line says what the sender would do
    assert (found.audience.kind, found.audience.count, found.control, found.control_exact) == (
        "segment",
        6,
        0,
        True,
    )
    lines = {line.customer_id: line for line in found.sample}
    assert set(lines) == set(ids)
    assert (lines["cus_A"].decision, lines["cus_A"].address) == ("send", "j***@example.com")
    assert lines["cus_A"].preview == "(광고) We miss you, Jisoo"  # as sent: Korea marks an advertisement
    assert (lines["cus_B"].decision, lines["cus_B"].reason) == ("no_consent", "email.marketing")
    assert (lines["cus_C"].decision, lines["cus_C"].reason, lines["cus_C"].address) == (
        "no_address",
        "email",
        None,
    )
    assert (lines["cus_D"].decision, lines["cus_D"].address) == ("erased", None)
    assert (lines["cus_E"].decision, lines["cus_E"].reason) == ("capped", "frequency_cap")
    night = lines["cus_F"]
    assert (night.decision, night.reason) == ("deferred", "quiet_hours")
    assert night.until == dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)  # 08:00 in New York
    assert night.preview == "We miss you, Jisoo"  # what they will get in the morning (no Korean mark)
    # And the summary counts the sample's decisions
    assert found.summary == {
        "send": 1,
        "no_consent": 1,
        "no_address": 1,
        "erased": 1,
        "capped": 1,
        "deferred": 1,
    }
    # And the cards were asked for once, for sending; the caps looked at only for who would be sent to
    assert [(sorted(asked), purpose) for asked, purpose in shelf.asked_cards] == [(sorted(ids), "send")]
    assert [set(a) for a in shelf.asked_caps] == [{"cus_A", "cus_E"}]


def test_the_control_group_is_the_senders_own_holdout_over_the_whole_audience() -> None:
    # Given a campaign holding out 30% of 40 mailable customers
    shelf = Shelf()
    shelf.campaign(control_percent=30)
    ids = shelf.customers(*(card(f"cus_{i:03d}") for i in range(40)))
    # When it is dry-run with a sample of 12
    found = run(shelf, sample=12)
    # Then the control count is the sender's in_control over every member, exactly
    held = {c for c in ids if in_control(CAMPAIGN_ID, c, 30)}
    assert 0 < len(held) < 40
    assert (found.control, found.control_percent, found.control_exact) == (len(held), 30, True)
    # And the sample (12 of them) says control exactly for those held out
    assert len(found.sample) == 12
    for line in found.sample:
        assert line.decision == ("control" if line.customer_id in held else "send"), line.customer_id
        assert line.preview is None if line.decision == "control" else line.preview


def test_an_audience_too_large_to_page_counts_its_control_group_by_percent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a campaign holding out 10% of 30 customers, and a dry run that pages at most 20
    monkeypatch.setattr(dry_runs, "EXACT_LIMIT", 20)
    shelf = Shelf()
    shelf.campaign(control_percent=10)
    shelf.customers(*(card(f"cus_{i:03d}") for i in range(30)))
    # When it is dry-run
    found = run(shelf, sample=5)
    # Then the audience is the segment's count and the control group its percent, said to be so
    assert (found.audience.count, found.control, found.control_exact) == (30, 3, False)
    assert len(found.sample) == 5


def test_members_are_paged_shard_by_shard_up_to_the_most_asked() -> None:
    # Given 40 members over the shards
    shelf = Shelf()
    ids = shelf.customers(*(card(f"cus_{i:03d}") for i in range(40)))
    # Then all are found when the most is above them, and the answer says it is all of them
    every, complete = page_members(shelf, "seg_1", most=100)
    assert (sorted(every), complete) == (sorted(ids), True)
    # And no more than the most, with the answer saying there are more
    some, complete = page_members(shelf, "seg_1", most=7)
    assert (len(some), complete) == (7, False)
    exactly, complete = page_members(shelf, "seg_1", most=40)
    assert (len(exactly), complete) == (40, True)


def test_a_service_message_is_never_capped_and_the_caps_are_not_even_read() -> None:
    # Given a transactional campaign to a customer at their marketing cap
    shelf = Shelf()
    shelf.campaign(purpose="service")
    shelf.customers(card("cus_A", consents={"email.service": True}))
    shelf.full.add("cus_A")
    # When it is dry-run
    found = run(shelf)
    # Then it would be sent, and no cap was looked at
    assert [line.decision for line in found.sample] == ["send"]
    assert shelf.asked_caps == []


def test_a_missing_template_would_fail_as_the_sender_logs_it() -> None:
    shelf = Shelf(template=None)
    shelf.campaign()
    shelf.customers(card("cus_A"))
    (line,) = run(shelf).sample
    assert (line.decision, line.reason, line.preview) == ("failed", "template_missing", None)


def test_a_triggered_campaign_has_no_audience_to_count_and_asks_for_no_card() -> None:
    # Given a triggered campaign (an anniversary)
    shelf = Shelf()
    shelf.campaign(
        segment_id=None,
        schedule={"kind": "trigger", "trigger": {"event": "anniversary", "kinds": ["wedding"]}},
    )
    # When it is dry-run
    found = run(shelf)
    # Then it says so: whoever the event concerns, nobody counted, no sample
    assert (found.audience.kind, found.audience.count, found.audience.trigger) == (
        "trigger",
        None,
        "anniversary",
    )
    assert (found.control, found.sample, found.summary) == (None, [], {})
    assert shelf.asked_cards == []


def test_an_empty_segment_asks_for_no_card() -> None:
    shelf = Shelf()
    shelf.campaign()
    found = run(shelf)
    assert (found.audience.count, found.sample, shelf.asked_cards) == (0, [], [])


def test_an_unknown_campaign_is_not_found() -> None:
    with pytest.raises(NotFound) as raised:
        run(Shelf())
    assert raised.value.code == "campaign_not_found"


@pytest.mark.parametrize("status", ["done", "cancelled"])
def test_a_campaign_that_sends_nothing_more_is_a_conflict_naming_its_state(status: str) -> None:
    shelf = Shelf()
    shelf.campaign(status=status)
    with pytest.raises(Conflict) as raised:
        run(shelf)
    assert raised.value.code == "campaign_ended"
    assert raised.value.details == [{"loc": ["status"], "msg": status, "type": "current_state"}]


@pytest.mark.parametrize("status", ["draft", "scheduled", "sending", "paused"])
def test_a_campaign_that_may_still_send_can_be_dry_run(status: str) -> None:
    shelf = Shelf()
    shelf.campaign(status=status, runs=1, template_version=1)
    shelf.customers(card("cus_A"))
    assert run(shelf).status == status


@pytest.mark.parametrize(
    ("channel", "address", "shown"),
    [
        ("email", "jisoo.kim@example.com", "j***@example.com"),
        ("email", "not-an-address", "***"),
        ("sms", "+821012345678", "***5678"),
        ("push", "phone-1", "***ne-1"),
        ("sms", "1234", "***"),
        ("email", None, None),
    ],
)
def test_an_address_is_masked_to_what_recognises_it(
    channel: str, address: str | None, shown: str | None
) -> None:
    assert masked(channel, address) == shown


def test_the_preview_is_the_first_line_a_customer_sees() -> None:
    assert preview_of(Rendered(channel="email", locale="en-US", subject="Hello")) == "Hello"
    assert preview_of(Rendered(channel="push", locale="en-US", title="Hi", body="There")) == "Hi"
    long = Rendered(channel="sms", locale="ko-KR", body="(광고)Dangol\n" + "빵 " * 40)
    shown = preview_of(long)
    assert shown is not None
    assert (len(shown), shown.endswith("…"), "\n" in shown) == (dry_runs.PREVIEW_CHARS, True, False)


def test_a_push_campaign_masks_the_device_it_would_go_to() -> None:
    shelf = Shelf()
    shelf.campaign(channel="push")
    device = CardDevice(device_id="ios-device-42", platform="ios", token="apns-1", verified=True)
    shelf.customers(card("cus_A", consents={"push.marketing": True}, devices=[device]))
    shelf.template = None  # the address is what this test reads
    (line,) = run(shelf).sample
    assert line.address == "***e-42"
