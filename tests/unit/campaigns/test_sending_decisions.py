"""The decision for one recipient at send time, and when a campaign's runs start: pure logic."""

from __future__ import annotations

import datetime as dt

import pytest

from services.campaigns.logic.campaigns import first_run_at
from services.campaigns.logic.delivery import Pacer
from services.campaigns.logic.sending import (
    Sending,
    cap_periods,
    decide,
    in_control,
    priority_delay_s,
)
from services.campaigns.models.campaigns import CampaignDefinition
from services.campaigns.models.cards import CardDevice, ContactCard
from shared.errors import Unprocessable
from shared.ids import new_id

NOON_SEOUL = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)
EMAIL = Sending("cmp_X", 1, "email", "marketing", priority=5, control_percent=0)


def card(**overrides: object) -> ContactCard:
    base: dict[str, object] = {
        "customer_id": "cus_A",
        "status": "active",
        "name": "Kim Jisoo",
        "time_zone": "Asia/Seoul",
        "email": "jisoo@example.com",
        "phone": "+821012345678",
        "devices": [CardDevice(device_id="phone-1", platform="ios", token="apns-token-1", verified=True)],
        "consents": {"email.marketing": True, "sms.marketing": True, "push.marketing": True},
    }
    return ContactCard.model_validate({**base, **overrides})


def test_a_consenting_reachable_customer_at_noon_is_sent() -> None:
    # Given the base case: consent, an address, daytime: the message goes (subject to the cap)
    assert decide(EMAIL, card(), NOON_SEOUL).decision is None


@pytest.mark.parametrize(
    ("change", "decision", "reason"),
    [
        ({"status": "erased"}, "erased", "erased"),
        ({"status": "unknown"}, "erased", "unknown"),
        ({"consents": {"email.marketing": False}}, "no_consent", "email.marketing"),
        ({"consents": {}}, "no_consent", "email.marketing"),
        ({"email": None}, "no_address", "email"),
    ],
)
def test_each_reason_not_to_send_is_named(change: dict[str, object], decision: str, reason: str) -> None:
    verdict = decide(EMAIL, card(**change), NOON_SEOUL)
    assert (verdict.decision, verdict.reason) == (decision, reason)


def test_a_transactional_message_needs_consent_for_service_mail_not_marketing() -> None:
    notice = Sending("cmp_X", 1, "email", "service", priority=5, control_percent=0)
    assert decide(notice, card(consents={"email.service": True}), NOON_SEOUL).decision is None
    assert decide(notice, card(consents={"email.marketing": True}), NOON_SEOUL).decision == "no_consent"


def test_quiet_hours_defer_an_advert_to_eight_the_next_morning_and_after_midnight_to_the_same_morning() -> (
    None
):
    # 22:00 in Seoul: to 08:00 tomorrow; 02:00 in Seoul: to 08:00 today
    at_ten = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)
    verdict = decide(EMAIL, card(), at_ten)
    assert (verdict.decision, verdict.reason) == ("deferred", "quiet_hours")
    assert verdict.until == dt.datetime(2026, 12, 2, 23, 0, tzinfo=dt.UTC)
    at_two = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)
    assert decide(EMAIL, card(), at_two).until == dt.datetime(2026, 12, 2, 23, 0, tzinfo=dt.UTC)
    # And 08:00 itself is day again
    assert decide(EMAIL, card(), dt.datetime(2026, 12, 2, 23, 0, tzinfo=dt.UTC)).decision is None


def test_the_separate_night_consent_lets_sms_and_push_through_but_never_email() -> None:
    at_ten = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)
    night = {"email.marketing": True, "sms.marketing": True, "sms.night": True, "email.night": True}
    sms = Sending("cmp_X", 1, "sms", "marketing", priority=5, control_percent=0)
    assert decide(sms, card(consents=night), at_ten).decision is None
    assert decide(sms, card(consents={"sms.marketing": True}), at_ten).decision == "deferred"
    assert decide(EMAIL, card(consents=night), at_ten).decision == "deferred"
    # And a transactional message is never held for the night
    notice = Sending("cmp_X", 1, "sms", "service", priority=5, control_percent=0)
    assert decide(notice, card(consents={"sms.service": True}), at_ten).decision is None


def test_a_local_time_campaign_waits_for_its_hour_in_the_customers_zone() -> None:
    at_nine = Sending(
        "cmp_X",
        1,
        "email",
        "marketing",
        priority=5,
        control_percent=0,
        local_time=(dt.date(2026, 12, 2), dt.time(13)),
    )
    verdict = decide(at_nine, card(time_zone="Asia/Bangkok"), NOON_SEOUL)  # 10:00 in Bangkok
    assert (verdict.decision, verdict.reason) == ("deferred", "local_time")
    assert verdict.until == dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)
    assert decide(at_nine, card(), dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)).decision is None


def test_the_control_group_is_deterministic_and_about_its_share() -> None:
    ids = [new_id("cus") for _ in range(20_000)]
    held = [c for c in ids if in_control("cmp_A", c, 10)]
    assert 0.09 < len(held) / len(ids) < 0.11
    assert held == [c for c in ids if in_control("cmp_A", c, 10)]  # the same answer every time
    other = {c for c in ids if in_control("cmp_B", c, 10)}
    assert len(other & set(held)) < len(held) * 0.2  # each campaign draws its own
    assert not any(in_control("cmp_A", c, 0) for c in ids[:1000])


def test_control_comes_after_eligibility() -> None:
    # Given a campaign holding everyone out: a customer without consent is still no_consent
    everyone = Sending("cmp_X", 1, "email", "marketing", priority=5, control_percent=50)
    ids = [new_id("cus") for _ in range(200)]
    held = next(c for c in ids if in_control("cmp_X", c, 50))
    assert decide(everyone, card(customer_id=held), NOON_SEOUL).decision == "control"
    assert decide(everyone, card(customer_id=held, consents={}), NOON_SEOUL).decision == "no_consent"


def test_caps_count_the_customers_local_day_and_iso_week() -> None:
    # 23:30 UTC on Sunday is Monday 08:30 in Seoul: a new day and a new week there
    late_sunday = dt.datetime(2026, 12, 6, 23, 30, tzinfo=dt.UTC)
    assert cap_periods(card(), late_sunday) == ("2026-12-07", "2026-W50")
    assert cap_periods(card(time_zone="America/New_York"), late_sunday) == ("2026-12-06", "2026-W49")


def test_priority_orders_batches_by_delay() -> None:
    assert priority_delay_s(10, step_s=2) == 0
    assert priority_delay_s(1, step_s=2) == 18
    assert priority_delay_s(1, step_s=200) == 900  # SQS's limit


def _definition(schedule: dict[str, object]) -> CampaignDefinition:
    return CampaignDefinition.model_validate(
        {
            "name": "x",
            "segment_id": "seg_01JD6Y8A4D1N9V2Q7Y3G5K8M0P",
            "template_id": "tpl_01JD6Y8A4D1N9V2Q7Y3G5K8M0P",
            "channel": "email",
            "schedule": schedule,
        }
    )


def test_a_local_time_run_starts_when_its_hour_reaches_the_first_zone() -> None:
    # 09:00 on 2026-12-03 reaches Kiritimati (UTC+14) at 19:00 UTC on the 2nd
    tomorrow = _definition({"kind": "local_time", "date": "2026-12-03", "time": "09:00"})
    assert first_run_at(tomorrow, NOON_SEOUL) == dt.datetime(2026, 12, 2, 19, 0, tzinfo=dt.UTC)
    # Today's 13:00 has reached the east already: it runs at once
    today = _definition({"kind": "local_time", "date": "2026-12-02", "time": "13:00"})
    assert first_run_at(today, NOON_SEOUL) is None
    # Yesterday's 09:00 has passed everywhere
    with pytest.raises(Unprocessable) as refused:
        first_run_at(_definition({"kind": "local_time", "date": "2026-11-30", "time": "09:00"}), NOON_SEOUL)
    assert refused.value.code == "schedule_in_past"


def test_a_recurring_campaign_runs_on_its_cron_in_its_zone() -> None:
    mondays = _definition({"kind": "recurring", "cron": "cron(0 9 ? * MON *)", "zone": "Asia/Seoul"})
    assert first_run_at(mondays, NOON_SEOUL) == dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)
    ended = _definition(
        {
            "kind": "recurring",
            "cron": "cron(0 9 ? * MON *)",
            "zone": "Asia/Seoul",
            "until": "2026-12-05T00:00:00Z",
        }
    )
    with pytest.raises(Unprocessable) as refused:
        first_run_at(ended, NOON_SEOUL)
    assert refused.value.code == "schedule_never_fires"


def test_a_year_ahead_is_the_furthest() -> None:
    with pytest.raises(Unprocessable) as refused:
        first_run_at(_definition({"kind": "at", "at": "2028-01-01T00:00:00Z"}), NOON_SEOUL)
    assert refused.value.code == "schedule_too_far"


def test_the_pacer_keeps_a_sender_under_its_rate() -> None:
    # Given a sender allowed 4 sends a second, on a clock the test moves
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pace = Pacer(4, monotonic=lambda: now[0], sleep=sleep)
    # When it sends 5 messages at once: the first goes at once, each next a quarter second later
    for _ in range(5):
        pace()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    # And after a pause longer than the interval, the next goes at once
    now[0] += 10
    pace()
    assert len(slept) == 4
