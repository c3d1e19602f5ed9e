"""A draft rule's preview, a job over every customer view with its progress readable (a count and a
sample, nothing kept), and deleting a segment (out of the list at once, its members let go by the
segmenter, refused while a campaign still uses it, its versions kept)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from services.campaigns.dal.campaigns import DynamoCampaigns
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers import segmenter
from services.campaigns.logic import audiences, segment_previews
from services.campaigns.topology import CAMPAIGNS
from shared.ids import new_id
from tests.integration.apigw import ApiResponse
from tests.integration.campaigns.test_view_and_segments import LAPSED_AND_MAILABLE, Campaigns
from tests.integration.conftest import FROZEN_AT, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

MAILABLE = {"field": "consent", "op": "granted", "value": "email.marketing"}


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 2 views (and 2 members) a step, so a handful of customers takes several steps."""
    monkeypatch.setattr(audiences, "PAGE", 2)
    monkeypatch.setattr(segment_previews, "PAGE", 2)
    return 2


def start_preview(campaigns: Campaigns, rule: dict[str, Any], key: str | None = None) -> ApiResponse:
    return campaigns.call(
        "POST",
        "/admin/segment-previews",
        body={"rule": rule},
        headers={"Idempotency-Key": key or new_id("key")},
    )


def preview(campaigns: Campaigns, preview_id: str) -> dict[str, Any]:
    response = campaigns.call("GET", "/admin/segment-previews/{preview_id}", {"preview_id": preview_id})
    assert response.status == 200, response.body
    return dict(response.json())


def one_step(campaigns: Campaigns) -> dict[str, Any]:
    """The segmenter takes the next message of its queue (and it is deleted): the message."""
    sqs = boto3.client("sqs")
    (message,) = sqs.receive_message(
        QueueUrl=campaigns.jobs.url, MaxNumberOfMessages=1, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert campaigns.jobs.deliver([message]) == []
    sqs.delete_message(QueueUrl=campaigns.jobs.url, ReceiptHandle=message["ReceiptHandle"])
    return dict(message)


def mailable_customers(campaigns: Campaigns, mailable: int, other: int) -> list[str]:
    """``mailable`` customers who allow marketing e-mail and ``other`` who do not: the mailable ids."""
    yes = [campaigns.register() for _ in range(mailable)]
    no = [campaigns.register() for _ in range(other)]
    for customer_id in yes + no:
        campaigns.consent(customer_id, email=customer_id in yes)
    campaigns.events()
    return yes


def delete(campaigns: Campaigns, segment_id: str, **kw: Any) -> ApiResponse:
    return campaigns.call("DELETE", "/admin/segments/{segment_id}", {"segment_id": segment_id}, **kw)


def member_items(segment_id: str) -> list[str]:
    """Every member and count item of the segment left in the table (a scan: the test's own eyes)."""
    items = table(CAMPAIGNS).client.scan(TableName=table(CAMPAIGNS).name)["Items"]
    return sorted(
        i["pk"]["S"] + " " + i["sk"]["S"]
        for i in items
        if i["pk"]["S"].startswith((f"SEGM#{segment_id}#", f"SEG#{segment_id}"))
        and i["sk"]["S"].startswith(("cus_", "COUNT#"))
    )


# --- the preview -------------------------------------------------------------------------------


def test_a_preview_counts_what_the_same_rule_as_a_segment_counts_and_keeps_nothing(
    campaigns: Campaigns,
) -> None:
    # Given five mailable customers, three who are not, and a standing segment of the mailable ones
    mailable = mailable_customers(campaigns, 5, 3)
    standing = campaigns.segment(MAILABLE, "mailable")
    before = campaigns.members(standing["id"])
    # When marketing previews the story rule (lapsed and mailable: every mailable customer here)
    started = start_preview(campaigns, LAPSED_AND_MAILABLE)
    # Then it is a job, running, that has looked at nothing yet
    assert started.status == 202, started.body
    job = started.json()
    assert job["id"].startswith("spv_")
    assert (job["status"], job["looked_at"], job["count"], job["sample"]) == ("running", 0, 0, [])
    # When the segmenter runs it, and the same rule is also defined as a segment
    campaigns.jobs()
    segment = campaigns.segment(LAPSED_AND_MAILABLE, "lapsed")
    # Then the preview counted exactly what the segment holds, and shows them as its sample
    done = preview(campaigns, job["id"])
    assert (done["status"], done["looked_at"], done["count"]) == ("done", 8, 5)
    assert sorted(done["sample"]) == sorted(mailable) == campaigns.members(segment["id"])
    assert done["rule"] == LAPSED_AND_MAILABLE
    # And no segment's members changed, and no segment was made by the preview
    assert campaigns.members(standing["id"]) == before
    listed = campaigns.call("GET", "/admin/segments").json()["items"]
    assert sorted(s["id"] for s in listed) == sorted([standing["id"], segment["id"]])
    # And the job is forgotten a day later
    stored = table(CAMPAIGNS).get({"pk": f"SEGPREV#{job['id']}", "sk": "JOB"})
    assert stored is not None
    assert int(stored["expires_ttl"]) == int(FROZEN_AT.timestamp()) + 24 * 3600


def test_a_previews_progress_shows_between_steps_and_a_redelivered_step_counts_nothing_twice(
    campaigns: Campaigns, small_pages: int
) -> None:
    # Given five customers, three of them mailable, looked at two a step
    mailable = mailable_customers(campaigns, 3, 2)
    started = start_preview(campaigns, MAILABLE).json()
    # When the first step runs
    first = one_step(campaigns)
    # Then the job shows two customers looked at, and is still running
    shown = preview(campaigns, started["id"])
    assert (shown["status"], shown["looked_at"]) == ("running", 2)
    counted = shown["count"]
    # When the first step is delivered again (SQS delivers at least once)
    assert campaigns.jobs.deliver([first]) == []
    # Then nothing was counted twice, and no second next step was sent
    again = preview(campaigns, started["id"])
    assert (again["looked_at"], again["count"]) == (2, counted)
    # When the rest runs, the second step being delivered twice
    second = one_step(campaigns)
    assert campaigns.jobs.deliver([second]) == []
    steps = campaigns.jobs()
    # Then the count is exact, every step ran once more at most, and the job is done
    done = preview(campaigns, started["id"])
    assert (done["status"], done["looked_at"], done["count"]) == ("done", 5, 3)
    assert sorted(done["sample"]) == sorted(mailable)
    assert steps == 1  # the third and last page: the redeliveries sent no step of their own


def test_a_step_that_recorded_its_progress_but_died_before_sending_the_next_is_resent(
    campaigns: Campaigns, small_pages: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a preview over four mailable customers, two a step
    mailable_customers(campaigns, 4, 0)
    started = start_preview(campaigns, MAILABLE).json()
    # When its first step records its progress and the function dies before the next is queued
    sqs = boto3.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=campaigns.jobs.url, MaxNumberOfMessages=1)["Messages"]
    sqs.delete_message(QueueUrl=campaigns.jobs.url, ReceiptHandle=message["ReceiptHandle"])
    queued = segmenter.dependencies().jobs

    def dies(*args: Any, **kw: Any) -> None:
        raise RuntimeError("the function stopped")

    with monkeypatch.context() as patched:
        patched.setattr(queued, "preview", dies)
        assert len(campaigns.jobs.deliver([message])) == 1
    assert preview(campaigns, started["id"])["looked_at"] == 2
    # When SQS brings the message back
    assert campaigns.jobs.deliver([message]) == []
    campaigns.jobs()
    # Then the next step was sent after all, and everyone counted once
    done = preview(campaigns, started["id"])
    assert (done["status"], done["looked_at"], done["count"]) == ("done", 4, 4)


def test_a_preview_keeps_at_most_twenty_customers_as_its_sample(campaigns: Campaigns) -> None:
    # Given 23 mailable customers
    mailable = mailable_customers(campaigns, 23, 0)
    # When their preview runs
    job = start_preview(campaigns, MAILABLE).json()
    campaigns.jobs()
    # Then all 23 are counted and the sample is the first 20 found, in id order
    done = preview(campaigns, job["id"])
    assert (done["count"], done["sample"]) == (23, sorted(mailable)[:20])


def test_a_preview_is_idempotent_a_bad_rule_is_a_422_at_the_bad_part_and_an_unknown_one_is_404(
    campaigns: Campaigns,
) -> None:
    # Given a preview started with a key
    first = start_preview(campaigns, MAILABLE, key="preview-1")
    # When the same request comes again with the same key
    again = start_preview(campaigns, MAILABLE, key="preview-1")
    # Then it is the same job, and one job was queued
    assert (again.status, again.json()["id"]) == (202, first.json()["id"])
    assert campaigns.jobs() == 1
    # When a rule with an unknown operator is previewed
    bad = {"all": [MAILABLE, {"field": "consent", "op": "sometimes", "value": "email.marketing"}]}
    refused = start_preview(campaigns, bad)
    # Then it is the same 422 as for a segment, pointing into the second condition
    assert refused.status == 422, refused.body
    locations = [".".join(str(p) for p in d["loc"]) for d in refused.error["details"]]
    assert any(where.startswith("body.rule.all.1") for where in locations), locations
    # And a job that does not exist is a 404 with its own code
    missing = campaigns.call("GET", "/admin/segment-previews/{preview_id}", {"preview_id": new_id("spv")})
    assert (missing.status, missing.error["code"]) == (404, "segment_preview_not_found")


def test_a_preview_past_its_day_is_gone(campaigns: Campaigns) -> None:
    # Given a preview that ran
    job = start_preview(campaigns, MAILABLE).json()
    campaigns.jobs()
    # When a day passes (DynamoDB's TTL deletes within days, not at once)
    campaigns.clock(FROZEN_AT + timedelta(days=1, seconds=1))
    # Then it is not found
    gone = campaigns.call("GET", "/admin/segment-previews/{preview_id}", {"preview_id": job["id"]})
    assert (gone.status, gone.error["code"]) == (404, "segment_preview_not_found")


# --- deleting a segment ------------------------------------------------------------------------


def campaign_using(segment_id: str, status: str) -> str:
    """A campaign naming the segment, in ``status`` (written as the campaigns' catalog keeps it)."""
    campaign_id = new_id("cmp")
    DynamoCampaigns(table(CAMPAIGNS)).create(
        {"id": campaign_id, "name": "winback", "segment_id": segment_id, "status": status, "version": 1}
    )
    return campaign_id


def test_a_segment_a_live_campaign_uses_cannot_be_deleted(campaigns: Campaigns) -> None:
    # Given a segment that a sending campaign and a draft use, and one done and one cancelled
    segment = campaigns.segment(MAILABLE, "mailable")
    sending = campaign_using(segment["id"], "sending")
    draft = campaign_using(segment["id"], "draft")
    campaign_using(segment["id"], "done")
    campaign_using(segment["id"], "cancelled")
    # When marketing deletes it
    refused = delete(campaigns, segment["id"])
    # Then it is 409 segment_in_use naming the live campaigns, and the segment stays
    assert (refused.status, refused.error["code"]) == (409, "segment_in_use")
    assert refused.error["details"][0]["campaign_ids"] == sorted([sending, draft])
    assert sending in refused.error["message"]
    assert campaigns.get(segment["id"])["id"] == segment["id"]


def test_a_deleted_segment_leaves_the_list_at_once_its_members_go_and_its_versions_stay(
    campaigns: Campaigns, small_pages: int
) -> None:
    # Given a segment with five members (two a purge step), a stale If-Match and a current one
    mailable_customers(campaigns, 5, 1)
    segment = campaigns.segment(MAILABLE, "mailable")
    assert campaigns.get(segment["id"])["count"] == 5
    stale = delete(campaigns, segment["id"], headers={"If-Match": '"2"'})
    assert (stale.status, stale.error["code"]) == (412, "version_mismatch")
    # When marketing deletes it at version 1
    deleted = delete(campaigns, segment["id"], headers={"If-Match": '"1"'})
    # Then it is 204, and the segment is gone from reads and from the list at once
    assert deleted.status == 204, deleted.body
    gone = campaigns.call("GET", "/admin/segments/{segment_id}", {"segment_id": segment["id"]})
    assert (gone.status, gone.error["code"]) == (404, "segment_not_found")
    assert campaigns.call("GET", "/admin/segments").json()["items"] == []
    again = delete(campaigns, segment["id"])
    assert (again.status, again.error["code"]) == (404, "segment_not_found")
    # And its members are still there until the segmenter lets them go
    assert member_items(segment["id"])
    # When the segmenter lets its members go
    campaigns.jobs()
    # Then no member or count of it is left
    assert member_items(segment["id"]) == []
    # And its version is still readable (history)
    first = campaigns.call(
        "GET",
        "/admin/segments/{segment_id}/versions/{version}",
        {"segment_id": segment["id"], "version": "1"},
    )
    assert (first.status, first.json()["rule"]) == (200, MAILABLE)


def test_the_settling_pass_lets_go_of_a_member_added_by_a_function_that_had_not_heard(
    campaigns: Campaigns,
) -> None:
    # Given a deleted segment whose members were let go
    mailable_customers(campaigns, 2, 0)
    segment = campaigns.segment(MAILABLE, "mailable")
    assert delete(campaigns, segment["id"]).status == 204
    campaigns.jobs()
    # When a function that still held it (its cache of standing segments) adds a member after that
    DynamoSegments(table(CAMPAIGNS)).add(segment["id"], new_id("cus"))
    assert member_items(segment["id"])
    # And the settling pass, queued SETTLE_S later, arrives
    delayed = {"deleted_segment_id": segment["id"], "shard": 0, "after": None, "final": True}
    delivered = [{"MessageId": "settle", "ReceiptHandle": "x", "Body": json.dumps(delayed), "Attributes": {}}]
    assert campaigns.jobs.deliver(delivered) == []
    campaigns.jobs()
    # Then nothing of the segment is left
    assert member_items(segment["id"]) == []


def test_a_deleted_segment_frees_its_place_among_the_forty(
    campaigns: Campaigns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given as many segments as are kept at once (three here, the limit lowered to keep it short)
    monkeypatch.setattr(audiences, "MAX_SEGMENTS", 3)
    made = [campaigns.segment(MAILABLE, f"s{i}") for i in range(3)]
    full = campaigns.call("POST", "/admin/segments", body={"name": "one more", "rule": MAILABLE})
    assert (full.status, full.error["code"]) == (409, "segment_limit_reached")
    # When one is deleted
    assert delete(campaigns, made[0]["id"]).status == 204
    # Then one more can be defined
    created = campaigns.call("POST", "/admin/segments", body={"name": "one more", "rule": MAILABLE})
    assert created.status == 201, created.body


def test_a_segment_job_message_is_exactly_one_shape() -> None:
    # Given a message with a segment step's and a preview step's fields together, and one with neither
    both = {"segment_id": new_id("seg"), "version": 1, "preview_id": new_id("spv"), "looked_at": 0}
    neither = {"after": None, "looked_at": 0}
    # Then neither is a job; each shape alone is
    for body in (both, neither):
        with pytest.raises(ValidationError):
            segmenter.Job.model_validate(body)
    assert isinstance(
        segmenter.Job.model_validate({"preview_id": new_id("spv"), "after": None, "looked_at": 0}).root,
        segmenter.PreviewStep,
    )
    assert isinstance(
        segmenter.Job.model_validate({"segment_id": new_id("seg"), "version": 1}).root, segmenter.Step
    )
