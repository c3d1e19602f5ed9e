"""A campaign's dry run through the ``campaigns-api`` function on moto: the audience, the control
group and the sender's decision for a sample, the same decisions a launch then makes, and nothing
written; the refusals (404, 409, 422)."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime
from typing import Any

import pytest

from services.campaigns.logic.sending import in_control
from services.campaigns.topology import API, CAMPAIGNS
from tests.integration.apigw import ApiResponse
from tests.integration.campaigns.test_sending import World
from tests.integration.conftest import table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

DRY_RUN = "/admin/campaigns/{campaign_id}/dry-run"


@pytest.fixture
def dry(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The sending world, its API's dry runs reading the test's cards (as its sender does)."""
    module = __import__(API.module, fromlist=["dependencies"])
    real = module.dependencies()
    sources = dataclasses.replace(real.dry_runs, cards=world.cards)
    monkeypatch.setattr(
        module, "dependencies", functools.cache(lambda: dataclasses.replace(real, dry_runs=sources))
    )
    return world


def dry_run(world: World, campaign_id: str, body: Any = None) -> ApiResponse:
    return world.call("POST", DRY_RUN, {"campaign_id": campaign_id}, body={} if body is None else body)


def every_item() -> list[dict[str, Any]]:
    """The campaigns table, item by item (a scan: only tests do this)."""
    campaigns = table(CAMPAIGNS)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": campaigns.name}
    while True:
        page = campaigns.client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (str(i["pk"]), str(i["sk"])))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_dry_run_shows_the_senders_decisions_writes_nothing_and_a_launch_then_agrees(dry: World) -> None:
    # Given 20 customers who allow marketing e-mail, one who does not, one without an address and
    # one in New York (23:00 there: quiet hours), in a segment
    mailable = [dry.customer() for _ in range(20)]
    silent = dry.customer(consents={"email.marketing": False})
    unreachable = dry.customer(email_address=None)
    night = dry.customer(zone="America/New_York", locale="en-US")
    everyone = [*mailable, silent, unreachable, night]
    segment = dry.segment(everyone)
    # And a draft campaign holding out 30% of them
    campaign = dry.campaign(segment, dry.template(), control_percent=30)
    before = every_item()
    # When it is dry-run for a sample of all 23
    answer = dry_run(dry, campaign["id"], {"sample": 23})
    # Then it answers the audience and the sender's own control group over it
    assert answer.status == 200, answer.body
    found = answer.json()
    held = {c for c in everyone if in_control(campaign["id"], c, 30)}
    assert found["audience"] == {"kind": "segment", "count": 23, "segment_id": segment, "trigger": None}
    assert (found["control"], found["control_percent"], found["control_exact"]) == (len(held), 30, True)
    assert (found["status"], found["channel"], found["purpose"]) == ("draft", "email", "marketing")
    # And each line is the decision the sender would make: its reason, the address masked
    lines = {line["customer_id"]: line for line in found["sample"]}
    assert set(lines) == set(everyone)
    assert (lines[silent]["decision"], lines[silent]["reason"]) == ("no_consent", "email.marketing")
    assert (lines[unreachable]["decision"], lines[unreachable]["reason"]) == ("no_address", "email")
    if night in held:  # the holdout comes before quiet hours, as in the sender
        assert (lines[night]["decision"], lines[night]["until"]) == ("control", None)
    else:
        assert (lines[night]["decision"], lines[night]["reason"]) == ("deferred", "quiet_hours")
        assert datetime.fromisoformat(lines[night]["until"]) == datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
        assert lines[night]["preview"] == f"We miss you, Kim {night[-4:]}"  # New York: no Korean mark
    for customer_id in mailable:
        line = lines[customer_id]
        assert line["decision"] == ("control" if customer_id in held else "send"), customer_id
        assert line["address"] == f"{customer_id.lower()[0]}***@example.com"
        if line["decision"] == "send":
            assert line["preview"] == f"(광고) Kim {customer_id[-4:]}님, 다시 만나요"
            assert line["locale"] == "ko-KR"
    assert sum(found["summary"].values()) == 23
    assert found["summary"]["send"] == len([c for c in mailable if c not in held])
    # And no address appears in full anywhere in the answer
    assert "@example.com" in answer.body
    assert not any(f"{c.lower()}@example.com" in answer.body for c in everyone)
    # And nothing was written: no log line, claim, cap, counter or run
    assert every_item() == before
    # When it is launched for real and the queues drain
    dry.launch(campaign["id"])
    dry.run()
    # Then the sender decided exactly what the dry run said (send became sent)
    log = {line["customer_id"]: line for line in dry.log(campaign["id"])}
    for customer_id, line in lines.items():
        expected = "sent" if line["decision"] == "send" else line["decision"]
        assert (log[customer_id]["decision"], log[customer_id]["reason"]) == (expected, line["reason"])


def test_a_customer_at_their_cap_today_is_shown_capped(dry: World) -> None:
    # Given two mailable customers, one of whom got a campaign's e-mail today (the daily cap is 1)
    first, second = dry.customer(), dry.customer()
    template = dry.template()
    earlier = dry.campaign(dry.segment([first]), template, control_percent=0)
    dry.launch(earlier["id"])
    dry.run()
    assert [line["decision"] for line in dry.log(earlier["id"])] == ["sent"]
    # When another campaign to both is dry-run
    campaign = dry.campaign(dry.segment([first, second]), template, control_percent=0)
    found = dry_run(dry, campaign["id"]).json()
    # Then the one at the cap would be capped, the other sent to
    lines = {line["customer_id"]: (line["decision"], line["reason"]) for line in found["sample"]}
    assert lines == {first: ("capped", "frequency_cap"), second: ("send", None)}
    assert found["summary"] == {"capped": 1, "send": 1}


def test_the_sample_is_the_size_asked_and_ten_by_default(dry: World) -> None:
    customers = [dry.customer() for _ in range(12)]
    campaign = dry.campaign(dry.segment(customers), dry.template())
    assert len(dry_run(dry, campaign["id"]).json()["sample"]) == 10
    assert len(dry_run(dry, campaign["id"], {"sample": 3}).json()["sample"]) == 3
    assert dry_run(dry, campaign["id"], {"sample": 3}).json()["audience"]["count"] == 12


def test_an_unknown_campaign_is_404(dry: World) -> None:
    answer = dry_run(dry, "cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P")
    assert (answer.status, answer.json()["error"]["code"]) == (404, "campaign_not_found")


def test_a_cancelled_campaign_is_409_with_its_state(dry: World) -> None:
    # Given a cancelled campaign
    campaign = dry.campaign(dry.segment([dry.customer()]), dry.template())
    cancelled = dry.call("POST", "/admin/campaigns/{campaign_id}/cancel", {"campaign_id": campaign["id"]})
    assert cancelled.status == 200, cancelled.body
    # When it is dry-run: a conflict that names its state
    answer = dry_run(dry, campaign["id"])
    assert answer.status == 409, answer.body
    error = answer.json()["error"]
    assert error["code"] == "campaign_ended"
    assert error["details"] == [{"loc": ["status"], "msg": "cancelled", "type": "current_state"}]


@pytest.mark.parametrize("body", [{"sample": 0}, {"sample": 51}, {"sample": "5"}, {"samples": 5}])
def test_a_sample_out_of_range_or_misnamed_is_422(dry: World, body: dict[str, Any]) -> None:
    campaign = dry.campaign(dry.segment([dry.customer()]), dry.template())
    answer = dry_run(dry, campaign["id"], body)
    assert answer.status == 422, answer.body
    assert answer.json()["error"]["details"][0]["loc"][0] == "body"
    assert dry.cards.asked == []  # refused before anything was read


def test_a_triggered_campaign_says_its_audience_is_whoever_the_trigger_finds(dry: World) -> None:
    campaign = dry.campaign(
        None,
        dry.template(),
        schedule={"kind": "trigger", "trigger": {"event": "registration"}},
    )
    found = dry_run(dry, campaign["id"]).json()
    assert found["audience"] == {
        "kind": "trigger",
        "count": None,
        "segment_id": None,
        "trigger": "registration",
    }
    assert (found["control"], found["sample"]) == (None, [])
