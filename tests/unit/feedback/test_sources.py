"""The sources' adapters (``logic.sources``): webhooks refused when unsigned, forged, stale or
signed another way, each with its code; the subscription handshakes; every recorded payload read
into mentions; one unreadable item reported by its code and place, never its text, while the rest
go on; the brand's own posts and non-mention events skipped; Naver's HTML stripped; cursors that
advance and never take an item twice; ratings carried.

Recorded payloads (``payloads/``) follow each source's documented shape; the times in them sit
just before ``NOW``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.feedback.logic.sources import POLLED, WEBHOOKS, PolledAdapter, WebhookAdapter
from services.feedback.logic.sources.base import (
    FAILURE_CODES,
    REPLAY_WINDOW,
    Parsed,
    Polled,
    SeenIds,
    SourceConfigError,
    Watermark,
    clean,
)
from services.feedback.logic.sources.naver import link_id
from services.feedback.models.mention import HANDLE, MAX_TEXT, SOURCES, Mention
from shared.errors import DangolError
from tests.unit.fakes import PROPERTIES

PAYLOADS = Path(__file__).parent / "payloads"
NOW = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)  # Saturday 10:30 in Seoul
SECRETS = {"x": "x-consumer-secret-0123456789", "meta": "meta-app-secret-abcdef"}
VERIFY_TOKEN = "dangol-verify-token-7f3a"
X, META = WEBHOOKS["x"], WEBHOOKS["meta"]
NAVER_BLOG, NAVER_CAFE = POLLED["naver_blog"], POLLED["naver_cafe"]
APP_STORE, GOOGLE_PLAY = POLLED["app_store"], POLLED["google_play"]
SECRET_TEXT = "이 문장은 어디에도 찍히면 안 됩니다"  # put in a broken item: must never be printed


def utc(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 3, 14, hour, minute, second, tzinfo=UTC)


# (adapter, recorded payload, the latest event time it carries)
DELIVERIES = [
    ("x", "x_account_activity", utc(1, 29, 30)),
    ("x", "x_filtered_stream", utc(1, 29, 55)),
    ("meta", "instagram_comments", utc(1, 29, 35)),
    ("meta", "instagram_mentions", utc(1, 29, 30)),
    ("meta", "facebook_feed", utc(1, 29, 30)),
]
every_delivery = pytest.mark.parametrize(
    ("source", "name", "latest"), DELIVERIES, ids=[d[1] for d in DELIVERIES]
)


# -- helpers ------------------------------------------------------------------------------------


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw(name))
    return loaded


def dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def x_signature(body: bytes, secret: str = SECRETS["x"]) -> str:
    """X's scheme, written out here independently of the adapter."""
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def meta_signature(body: bytes, secret: str = SECRETS["meta"]) -> str:
    """Meta's scheme, written out here independently of the adapter."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(source: str, body: bytes, secret: str | None = None) -> dict[str, str]:
    key = SECRETS[source] if secret is None else secret
    if source == "x":
        return {"x-twitter-webhooks-signature": x_signature(body, key)}
    return {"x-hub-signature-256": meta_signature(body, key)}


def refused(call: Callable[[], object], code: str, status: int) -> DangolError:
    with pytest.raises(DangolError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == (code, status)
    return caught.value


def by_id(mentions: tuple[Mention, ...]) -> dict[str, Mention]:
    return {m.external_id: m for m in mentions}


def show(result: Parsed) -> str:
    """Every way a result or its failures may end up in a log line."""
    return " ".join(
        [repr(result), str(result)] + [f"{f!r} {f} {f.model_dump_json()}" for f in result.failures]
    )


# -- the registry -------------------------------------------------------------------------------


def test_the_registry_names_every_source_once() -> None:
    assert set(WEBHOOKS) == {"x", "meta"}
    assert all(isinstance(a, WebhookAdapter) and a.name == key for key, a in WEBHOOKS.items())
    assert set(POLLED) == {"naver_blog", "naver_cafe", "app_store", "google_play"}
    assert all(isinstance(a, PolledAdapter) and a.source == key for key, a in POLLED.items())
    pushed = {"x", "instagram", "facebook"}  # x through /webhooks/x, the other two through /webhooks/meta
    assert pushed | set(POLLED) == set(SOURCES)
    assert not pushed & set(POLLED)


def test_the_adapters_are_pure_logic() -> None:
    for module in (Path(__file__).parents[3] / "services/feedback/logic/sources").glob("*.py"):
        text = module.read_text(encoding="utf-8")
        for forbidden in (
            "boto3",
            "botocore",
            "shared.aws",
            "urllib.request",
            "logging",
            "datetime.now",
            "time.time",
        ):
            assert forbidden not in text, f"{module.name} mentions {forbidden}"


# -- verifying a webhook delivery ---------------------------------------------------------------


@every_delivery
def test_given_a_signed_fresh_delivery_when_verified_then_it_is_accepted(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    WEBHOOKS[source].verify(signed(source, body), body, SECRETS[source], NOW)  # no error: accepted


@every_delivery
def test_given_the_signature_header_in_any_case_then_it_is_found(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    ((header, value),) = signed(source, body).items()
    for spelled in (header.upper(), header.title()):
        WEBHOOKS[source].verify(
            {spelled: value, "content-type": "application/json"}, body, SECRETS[source], NOW
        )


@every_delivery
def test_given_no_signature_header_then_it_is_refused_as_unsigned(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    adapter = WEBHOOKS[source]
    refused(
        lambda: adapter.verify({"content-type": "application/json"}, body, SECRETS[source], NOW),
        "webhook_unsigned",
        401,
    )
    ((header, _),) = signed(source, body).items()
    refused(lambda: adapter.verify({header: ""}, body, SECRETS[source], NOW), "webhook_unsigned", 401)


@every_delivery
def test_given_one_byte_of_the_body_changed_then_the_signature_does_not_match(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    headers = signed(source, body)
    middle = len(body) // 2
    changed = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]
    refused(
        lambda: WEBHOOKS[source].verify(headers, changed, SECRETS[source], NOW), "webhook_bad_signature", 401
    )


@every_delivery
def test_given_a_signature_made_with_another_secret_then_it_does_not_match(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    headers = signed(source, body, secret="someone-elses-secret")
    refused(
        lambda: WEBHOOKS[source].verify(headers, body, SECRETS[source], NOW), "webhook_bad_signature", 401
    )


@every_delivery
def test_given_a_signature_of_another_scheme_then_it_does_not_match(
    source: str, name: str, latest: datetime
) -> None:
    body, secret = raw(name), SECRETS[source]
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    header = next(iter(signed(source, body)))
    others = [
        "sha256="
        + (digest.hex() if source == "x" else base64.b64encode(digest).decode()),  # the other source's
        "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        digest.hex(),  # no prefix
        "sha256=" + digest.hex().upper(),
        f"sha256={base64.urlsafe_b64encode(digest).decode()}",
        signed(source, body)[header] + " ",
    ]
    for value in others:
        if value == signed(source, body)[header]:
            continue
        refused(
            partial(WEBHOOKS[source].verify, {header: value}, body, secret, NOW),
            "webhook_bad_signature",
            401,
        )


def test_given_meta_s_legacy_sha1_header_alone_then_the_delivery_is_unsigned() -> None:
    body = raw("instagram_comments")
    legacy = {"x-hub-signature": "sha1=" + hmac.new(SECRETS["meta"].encode(), body, hashlib.sha1).hexdigest()}
    refused(lambda: META.verify(legacy, body, SECRETS["meta"], NOW), "webhook_unsigned", 401)


def test_given_a_signature_header_that_is_not_ascii_then_it_is_a_mismatch_not_a_crash() -> None:
    body = raw("x_account_activity")
    headers = {"x-twitter-webhooks-signature": "sha256=서명\udcff"}
    refused(lambda: X.verify(headers, body, SECRETS["x"], NOW), "webhook_bad_signature", 401)


@given(data=st.data())
@PROPERTIES
def test_any_change_to_the_body_breaks_the_signature(data: st.DataObject) -> None:
    source, name, _ = data.draw(st.sampled_from(DELIVERIES))
    body = raw(name)
    headers = signed(source, body)
    index = data.draw(st.integers(0, len(body) - 1))
    edit = data.draw(st.sampled_from(["flip", "drop", "insert", "other"]))
    if edit == "flip":
        changed = body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
    elif edit == "drop":
        changed = body[:index] + body[index + 1 :]
    elif edit == "insert":
        changed = body[:index] + data.draw(st.binary(min_size=1, max_size=8)) + body[index:]
    else:
        changed = data.draw(st.binary(max_size=256))
    assume(changed != body)
    refused(
        lambda: WEBHOOKS[source].verify(headers, changed, SECRETS[source], NOW), "webhook_bad_signature", 401
    )


@every_delivery
def test_given_a_delivery_six_minutes_old_then_it_is_stale(source: str, name: str, latest: datetime) -> None:
    body = raw(name)
    now = latest + timedelta(minutes=6)
    refused(
        lambda: WEBHOOKS[source].verify(signed(source, body), body, SECRETS[source], now),
        "webhook_stale",
        401,
    )


@every_delivery
def test_given_a_delivery_six_minutes_in_the_future_then_it_is_stale(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    now = latest - timedelta(minutes=6)
    refused(
        lambda: WEBHOOKS[source].verify(signed(source, body), body, SECRETS[source], now),
        "webhook_stale",
        401,
    )


@every_delivery
def test_given_a_delivery_exactly_at_the_window_s_edges_then_it_is_accepted_and_just_past_them_refused(
    source: str, name: str, latest: datetime
) -> None:
    body = raw(name)
    adapter, headers = WEBHOOKS[source], signed(source, body)
    assert timedelta(minutes=5) == REPLAY_WINDOW
    for now in (latest + REPLAY_WINDOW, latest - REPLAY_WINDOW):
        adapter.verify(headers, body, SECRETS[source], now)
    for now in (
        latest + REPLAY_WINDOW + timedelta(milliseconds=1),
        latest - REPLAY_WINDOW - timedelta(milliseconds=1),
    ):
        refused(partial(adapter.verify, headers, body, SECRETS[source], now), "webhook_stale", 401)


def test_given_events_of_different_ages_then_the_latest_decides() -> None:
    tweets = payload("x_account_activity")
    tweets["tweet_create_events"][0]["timestamp_ms"] = str(int((NOW - timedelta(hours=2)).timestamp() * 1000))
    body = dump(tweets)
    X.verify(signed("x", body), body, SECRETS["x"], NOW)  # the newest tweet is 30 s old


@pytest.mark.parametrize(
    ("source", "body"),
    [
        pytest.param(
            "x",
            {"for_user_id": "1", "tweet_create_events": [{"id_str": "1", "text": "빵"}]},
            id="x-no-timestamp",
        ),
        pytest.param("x", {"for_user_id": "1"}, id="x-no-events"),
        pytest.param("x", {"data": {"id": "1", "text": "빵"}}, id="x-stream-no-created-at"),
        pytest.param(
            "x", {"data": {"id": "1", "text": "빵", "created_at": "2026-03-14T01:29:55"}}, id="x-naive-time"
        ),
        pytest.param("meta", {"object": "page", "entry": [{"id": "1", "changes": []}]}, id="meta-no-time"),
        pytest.param(
            "meta",
            {"object": "page", "entry": [{"id": "1", "time": "yesterday"}]},
            id="meta-time-not-a-number",
        ),
        pytest.param("meta", {"object": "page", "entry": []}, id="meta-no-entry"),
        pytest.param("meta", [1, 2, 3], id="meta-not-an-object"),
    ],
)
def test_given_a_delivery_with_no_event_time_then_it_is_stale(source: str, body: object) -> None:
    data = dump(body)
    refused(
        lambda: WEBHOOKS[source].verify(signed(source, data), data, SECRETS[source], NOW),
        "webhook_stale",
        401,
    )


def test_given_event_times_in_milliseconds_or_seconds_then_both_are_read() -> None:
    for time in (int(NOW.timestamp()), int(NOW.timestamp() * 1000)):
        body = dump({"object": "page", "entry": [{"id": "1", "time": time, "changes": []}]})
        META.verify(signed("meta", body), body, SECRETS["meta"], NOW)


@pytest.mark.parametrize("source", ["x", "meta"])
@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe\x00", b"[" * 100_000, b""])
def test_given_a_signed_body_that_is_not_json_then_it_is_a_malformed_payload(
    source: str, body: bytes
) -> None:
    refused(
        lambda: WEBHOOKS[source].verify(signed(source, body), body, SECRETS[source], NOW),
        "malformed_payload",
        400,
    )
    refused(lambda: WEBHOOKS[source].parse(body, NOW), "malformed_payload", 400)


@pytest.mark.parametrize("source", ["x", "meta"])
def test_given_a_json_body_that_is_not_an_object_then_parse_calls_it_malformed(source: str) -> None:
    for body in (b"[]", b"42", b'"text"', b"null"):
        refused(partial(WEBHOOKS[source].parse, body, NOW), "malformed_payload", 400)


@pytest.mark.parametrize("source", ["x", "meta"])
def test_given_our_secret_is_not_configured_then_nothing_is_accepted(source: str) -> None:
    body = raw("x_account_activity" if source == "x" else "facebook_feed")
    anyone_could = signed(source, body, secret="")  # what anyone can compute with an empty key
    refused(lambda: WEBHOOKS[source].verify(anyone_could, body, "", NOW), "webhook_not_configured", 503)


def test_given_now_without_a_time_zone_then_it_is_a_programming_error() -> None:
    body = raw("x_account_activity")
    with pytest.raises(ValueError, match="aware"):
        X.verify(signed("x", body), body, SECRETS["x"], NOW.replace(tzinfo=None))


# -- the subscription handshakes ----------------------------------------------------------------


def test_given_x_s_crc_token_then_the_response_token_is_its_hmac_in_base64() -> None:
    token = "9b4507b3-9040-4669-9ca3-6b94edb50553"
    answer = X.challenge({"crc_token": token}, SECRETS["x"], None)
    assert answer == {"response_token": x_signature(token.encode())}
    assert answer != X.challenge({"crc_token": token}, "another-secret", None)


@pytest.mark.parametrize(
    "query",
    [{}, {"crc_token": ""}, {"crc_token": "a" * 513}, {"crc_token": "토큰"}, {"crc_token": "token\n"}],
)
def test_given_a_crc_check_without_a_usable_token_then_it_is_malformed(query: dict[str, str]) -> None:
    refused(lambda: X.challenge(query, SECRETS["x"], None), "malformed_challenge", 400)


def test_given_meta_s_subscription_check_with_our_token_then_the_challenge_is_echoed_as_text() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert META.challenge(query, SECRETS["meta"], VERIFY_TOKEN) == "1158201444"


@pytest.mark.parametrize("token", ["wrong-token", "", VERIFY_TOKEN + "x", VERIFY_TOKEN.upper(), "토큰"])
def test_given_meta_s_subscription_check_with_another_token_then_it_is_refused(token: str) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    refused(lambda: META.challenge(query, SECRETS["meta"], VERIFY_TOKEN), "webhook_bad_verify_token", 401)
    del query["hub.verify_token"]
    refused(lambda: META.challenge(query, SECRETS["meta"], VERIFY_TOKEN), "webhook_bad_verify_token", 401)


@pytest.mark.parametrize(
    "query",
    [
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
        {
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "<script>alert(1)</script>",
        },
        {
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444\nX-Injected: 1",
        },
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444\n"},
    ],
)
def test_given_a_subscription_check_that_is_not_one_then_it_is_malformed(query: dict[str, str]) -> None:
    refused(lambda: META.challenge(query, SECRETS["meta"], VERIFY_TOKEN), "malformed_challenge", 400)


@pytest.mark.parametrize("ours", [None, ""])
def test_given_no_verify_token_of_ours_then_no_subscription_is_confirmed(ours: str | None) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1158201444"}
    refused(lambda: META.challenge(query, SECRETS["meta"], ours), "webhook_not_configured", 503)


# -- X ------------------------------------------------------------------------------------------


def test_given_x_account_activity_then_each_customer_tweet_is_a_mention() -> None:
    parsed = X.parse(raw("x_account_activity"), NOW)
    assert (len(parsed.mentions), parsed.failures, parsed.skipped) == (2, (), 1)
    complaint = by_id(parsed.mentions)["1900000000000000101"]
    assert complaint.source == "x"
    assert complaint.author_handle == "minji_eats"
    assert complaint.author_id == "1234567890"
    assert complaint.url == "https://x.com/minji_eats/status/1900000000000000101"
    assert complaint.posted_at == datetime(2026, 3, 14, 1, 28, 10, tzinfo=UTC)
    assert complaint.reach == 1520
    assert complaint.in_reply_to == "1899999999999999001"
    # the full text of a long tweet, with X's HTML escapes undone
    assert complaint.text.endswith("확인해 주세요 <3 https://t.co/abc123")
    assert "친절했지만 & 너무" in complaint.text
    assert "&amp;" not in complaint.text


def test_given_the_brand_s_own_tweet_then_it_is_skipped() -> None:
    parsed = X.parse(raw("x_account_activity"), NOW)
    assert "1900000000000000102" not in by_id(parsed.mentions)
    assert parsed.skipped == 1
    assert all(m.author_id != "1480000000000000001" for m in parsed.mentions)


def test_given_other_account_activity_events_then_they_are_skipped_not_failed() -> None:
    at = str(int(NOW.timestamp() * 1000))
    body = dump(
        {
            "for_user_id": "1480000000000000001",
            "favorite_events": [{"id": "a1", "timestamp_ms": int(at), "favorited_status": {"id_str": "9"}}],
            "follow_events": [
                {"type": "follow", "created_timestamp": at},
                {"type": "follow", "created_timestamp": at},
            ],
            "user_event": {"revoke": {"date_time": "2026-03-14T01:29:00+0000"}},
        }
    )
    X.verify(signed("x", body), body, SECRETS["x"], NOW)
    parsed = X.parse(body, NOW)
    assert (parsed.mentions, parsed.failures, parsed.skipped) == ((), (), 4)


def test_given_a_retweet_then_it_is_skipped_and_a_quote_tweet_is_kept() -> None:
    body = payload("x_account_activity")
    retweet, quote = (
        copy.deepcopy(body["tweet_create_events"][2]),
        copy.deepcopy(body["tweet_create_events"][2]),
    )
    retweet |= {
        "id_str": "1900000000000000104",
        "text": "RT @minji_eats: ...",
        "retweeted_status": {"id_str": "1"},
    }
    quote |= {"id_str": "1900000000000000105", "text": "이거 나도 겪음", "quoted_status": {"id_str": "1"}}
    body["tweet_create_events"] += [retweet, quote]
    parsed = X.parse(dump(body), NOW)
    assert set(by_id(parsed.mentions)) == {
        "1900000000000000101",
        "1900000000000000103",
        "1900000000000000105",
    }
    assert parsed.skipped == 2


def test_given_a_tweet_without_timestamp_ms_then_created_at_dates_it() -> None:
    body = payload("x_account_activity")
    del body["tweet_create_events"][2]["timestamp_ms"]
    parsed = X.parse(dump(body), NOW)
    assert by_id(parsed.mentions)["1900000000000000103"].posted_at == datetime(
        2026, 3, 14, 1, 29, 30, tzinfo=UTC
    )


def test_given_a_filtered_stream_post_then_it_is_a_mention_with_its_author_from_includes() -> None:
    parsed = X.parse(raw("x_filtered_stream"), NOW)
    assert (parsed.failures, parsed.skipped) == ((), 0)
    (post,) = parsed.mentions
    assert post.external_id == "1900000000000000201"
    assert post.author_handle == "hongdae_worker"
    assert post.author_id == "2244994945"
    assert post.reach == 3021
    assert post.url == "https://x.com/hongdae_worker/status/1900000000000000201"
    assert post.posted_at == datetime(2026, 3, 14, 1, 29, 55, tzinfo=UTC)
    assert post.in_reply_to == "1899999999999999002"
    assert "안 돼요 >< 계산대" in post.text


def test_given_a_stream_post_whose_author_is_not_included_then_it_has_no_handle_and_a_plain_url() -> None:
    body = payload("x_filtered_stream")
    body["includes"] = {}
    (post,) = X.parse(dump(body), NOW).mentions
    assert (post.author_handle, post.author_id, post.reach) == (None, "2244994945", 0)
    assert post.url == "https://x.com/i/web/status/1900000000000000201"


def test_given_a_stream_retweet_then_it_is_skipped() -> None:
    body = payload("x_filtered_stream")
    body["data"]["referenced_tweets"] = [{"type": "retweeted", "id": "1"}]
    parsed = X.parse(dump(body), NOW)
    assert (parsed.mentions, parsed.skipped) == ((), 1)


def test_given_a_body_of_no_known_x_shape_then_it_is_one_unsupported_event() -> None:
    parsed = X.parse(dump({"errors": [{"title": "ConnectionException"}]}), NOW)
    assert [(f.code, f.index) for f in parsed.failures] == [("unsupported_event", None)]


# -- Meta ---------------------------------------------------------------------------------------


def test_given_instagram_comments_then_each_customer_comment_is_a_mention_and_the_brand_s_reply_skipped() -> (
    None
):
    parsed = META.parse(raw("instagram_comments"), NOW)
    assert (len(parsed.mentions), parsed.failures, parsed.skipped) == (2, (), 1)
    found = by_id(parsed.mentions)
    first, reply = found["17919700000000001"], found["17919700000000002"]
    assert first.source == reply.source == "instagram"
    assert (first.author_handle, first.author_id) == ("seoul.breadlover", "2105700000000001")
    assert first.in_reply_to == "18170000000000001"  # the media it comments on
    assert reply.in_reply_to == "17919700000000001"  # the comment it answers
    assert first.posted_at == datetime(2026, 3, 14, 1, 29, 30, tzinfo=UTC)  # the entry's time
    assert first.text == "성수점 딸기 케이크 품절이라 너무 아쉬워요ㅠㅠ 주말에 더 만들어 주세요!"
    assert "17919700000000003" not in found


def test_given_an_instagram_mention_then_it_needs_a_fetch_and_is_not_an_error() -> None:
    parsed = META.parse(raw("instagram_mentions"), NOW)
    assert parsed.mentions == ()
    assert [(f.code, f.index, f.external_id) for f in parsed.failures] == [
        ("needs_fetch", 0, "17920000000000012")
    ]


def test_given_a_page_feed_then_only_added_words_of_others_are_mentions() -> None:
    parsed = META.parse(raw("facebook_feed"), NOW)
    assert parsed.failures == ()
    assert parsed.skipped == 3  # the edit, the reaction, the Page's own comment
    found = by_id(parsed.mentions)
    assert set(found) == {"900000000000001_300000000000001", "104000000000001_900000000000002"}
    comment, status = found["900000000000001_300000000000001"], found["104000000000001_900000000000002"]
    assert comment.source == status.source == "facebook"
    assert comment.author_handle is None  # Facebook gives a display name only
    assert comment.author_id == "6100000000000001"
    assert comment.in_reply_to == "104000000000001_900000000000001"
    assert comment.url == "https://www.facebook.com/104000000000001_900000000000001"
    assert comment.posted_at == datetime(2026, 3, 14, 1, 29, 20, tzinfo=UTC)  # its created_time
    assert comment.text == "어제 산 식빵에서 머리카락이 나왔습니다. 매장에 전화해도 안 받으시네요."
    assert status.in_reply_to is None


@pytest.mark.parametrize(
    "value",
    [
        {"item": "photo", "verb": "add", "post_id": "1_2", "from": {"id": "9"}},
        {"item": "post", "verb": "add", "post_id": "1_2", "from": {"id": "9"}},  # no message: a photo alone
        {"item": "post", "verb": "remove", "post_id": "1_2", "message": "지움"},
        {"item": "like", "verb": "add", "post_id": "1_2"},
        {"item": "share", "verb": "add", "post_id": "1_2", "message": "공유"},
    ],
)
def test_given_feed_changes_that_are_not_added_words_then_they_are_skipped(value: dict[str, Any]) -> None:
    body = dump(
        {
            "object": "page",
            "entry": [{"id": "1", "time": 1773451770, "changes": [{"field": "feed", "value": value}]}],
        }
    )
    parsed = META.parse(body, NOW)
    assert (parsed.mentions, parsed.failures, parsed.skipped) == ((), (), 1)


def test_given_other_fields_and_messenger_events_then_they_are_skipped() -> None:
    body = payload("instagram_comments")
    body["entry"][0]["changes"].append({"field": "story_insights", "value": {"media_id": "1", "reach": 3}})
    body["entry"][0]["messaging"] = [{"sender": {"id": "1"}, "message": {"text": "DM"}}]
    parsed = META.parse(dump(body), NOW)
    assert (len(parsed.mentions), parsed.skipped) == (2, 3)


def test_given_an_object_meta_sends_that_we_do_not_read_then_it_is_one_unsupported_event() -> None:
    body = dump(
        {"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1773451770, "changes": []}]}
    )
    parsed = META.parse(body, NOW)
    assert [(f.code, f.index) for f in parsed.failures] == [("unsupported_event", None)]


def test_given_several_entries_then_a_failure_s_index_counts_every_change_in_order() -> None:
    body = payload("instagram_comments")
    del body["entry"][1]["changes"][0]["value"]["id"]  # the 2nd change of the delivery
    body["entry"].insert(1, "not an entry")  # counts as one
    parsed = META.parse(dump(body), NOW)
    assert [(f.code, f.index) for f in parsed.failures] == [("malformed_item", 1), ("malformed_item", 2)]
    assert set(by_id(parsed.mentions)) == {"17919700000000001"}


# -- one unreadable item in a batch ---------------------------------------------------------------


DROP = object()  # an edit that removes the key


class Broken(NamedTuple):
    """One item of a recorded batch broken one way, and the one failure expected for it."""

    source: str
    name: str
    path: tuple[str | int, ...]  # to the object edited
    edit: dict[str, Any]  # key -> new value, or DROP
    failure: tuple[str, int, str | None]  # code, index, external id
    left: int  # mentions the rest of the batch still gives

    def body(self) -> bytes:
        body = payload(self.name)
        item: Any = body
        for step in self.path:
            item = item[step]
        for key, value in self.edit.items():
            if value is DROP:
                del item[key]
            else:
                item[key] = value
        return dump(body)

    def read(self) -> Parsed:
        if self.source in WEBHOOKS:
            return WEBHOOKS[self.source].parse(self.body(), NOW)
        return POLLED[self.source].parse(self.body(), None, NOW)  # type: ignore[index]


TWEET, TWEET_0 = ("tweet_create_events", 2), ("tweet_create_events", 0)
IG_0, IG_1 = ("entry", 0, "changes", 0, "value"), ("entry", 1, "changes", 0, "value")
BROKEN = {
    "x-tweet-without-id": Broken(
        "x",
        "x_account_activity",
        TWEET,
        {"text": SECRET_TEXT, "id_str": DROP, "id": DROP},
        ("malformed_item", 2, None),
        1,
    ),
    "x-tweet-without-text": Broken(
        "x",
        "x_account_activity",
        TWEET_0,
        {"extended_tweet": DROP, "text": "  "},
        ("missing_text", 0, "1900000000000000101"),
        1,
    ),
    "x-tweet-without-time": Broken(
        "x",
        "x_account_activity",
        TWEET,
        {"text": SECRET_TEXT, "timestamp_ms": DROP, "created_at": "어제"},
        ("malformed_item", 2, "1900000000000000103"),
        1,
    ),
    "x-tweet-user-of-the-wrong-type": Broken(
        "x",
        "x_account_activity",
        TWEET,
        {"text": SECRET_TEXT, "user": [SECRET_TEXT]},
        ("malformed_item", 2, "1900000000000000103"),
        1,
    ),
    "instagram-comment-without-id": Broken(
        "meta", "instagram_comments", IG_0, {"text": SECRET_TEXT, "id": DROP}, ("malformed_item", 0, None), 1
    ),
    "instagram-comment-without-text": Broken(
        "meta", "instagram_comments", IG_1, {"text": DROP}, ("missing_text", 1, "17919700000000002"), 1
    ),
    "facebook-post-with-a-bad-id": Broken(
        "meta",
        "facebook_feed",
        ("entry", 0, "changes", 1, "value"),
        {"message": SECRET_TEXT, "post_id": SECRET_TEXT},
        ("malformed_item", 1, None),
        1,
    ),
    "naver-blog-bad-date": Broken(
        "naver_blog",
        "naver_blog",
        ("items", 1),
        {"description": SECRET_TEXT, "postdate": "2026-03-13"},
        ("malformed_item", 1, "blog.naver.com/mom_of_two/224179000002"),
        2,
    ),
    "naver-blog-without-link": Broken(
        "naver_blog",
        "naver_blog",
        ("items", 0),
        {"description": SECRET_TEXT, "link": DROP},
        ("malformed_item", 0, None),
        2,
    ),
    "naver-cafe-only-markup": Broken(
        "naver_cafe",
        "naver_cafe",
        ("items", 0),
        {"title": "<b></b>", "description": " &nbsp; "},
        ("missing_text", 0, "cafe.naver.com/mapomom/1234567"),
        1,
    ),
    "app-store-review-without-date": Broken(
        "app_store",
        "app_store_reviews",
        ("data", 1, "attributes"),
        {"body": SECRET_TEXT, "createdDate": DROP},
        ("malformed_item", 1, None),
        2,
    ),
    "app-store-review-without-words": Broken(
        "app_store",
        "app_store_reviews",
        ("data", 0, "attributes"),
        {"title": None, "body": ""},
        ("missing_text", 0, "00000091-8a2b-0014-7f1e-fbd500000003"),
        2,
    ),
    "google-play-review-without-time": Broken(
        "google_play",
        "google_play_reviews",
        ("reviews", 1, "comments", 0, "userComment"),
        {"text": SECRET_TEXT, "lastModified": {"seconds": SECRET_TEXT}},
        ("malformed_item", 1, None),
        1,
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_given_a_batch_with_one_unreadable_item_then_the_others_go_on_and_the_failure_names_no_text(
    case: Broken,
) -> None:
    result = case.read()
    assert [(f.code, f.index, f.external_id) for f in result.failures] == [case.failure]
    assert case.failure[0] in FAILURE_CODES
    assert len(result.mentions) == case.left
    printed = show(result)
    assert SECRET_TEXT not in printed
    for mention in result.mentions:  # the mentions themselves are not printed either
        assert mention.text not in printed


def test_given_a_result_then_its_repr_counts_mentions_and_prints_no_text() -> None:
    parsed = X.parse(raw("x_account_activity"), NOW)
    assert repr(parsed) == "Parsed(mentions=2, failures=[], skipped=1)"
    polled = NAVER_CAFE.parse(raw("naver_cafe"), None, NOW)
    assert repr(polled).startswith("Polled(mentions=2, failures=[], skipped=0, cursor=")
    assert "쿠폰" not in repr(polled)


# -- handles and text ---------------------------------------------------------------------------


def _every_recorded_mention() -> list[Mention]:
    found: list[Mention] = []
    for source, name, _ in DELIVERIES:
        found += WEBHOOKS[source].parse(raw(name), NOW).mentions
    for source, name in [
        ("naver_blog", "naver_blog"),
        ("naver_cafe", "naver_cafe"),
        ("app_store", "app_store_reviews"),
        ("google_play", "google_play_reviews"),
    ]:
        found += POLLED[source].parse(raw(name), None, NOW).mentions  # type: ignore[index]
    return found


def test_handles_are_account_handles_and_never_display_names() -> None:
    mentions = _every_recorded_mention()
    assert {m.source for m in mentions} == set(SOURCES)
    for mention in mentions:
        if mention.source in ("x", "instagram"):
            assert mention.author_handle is not None
            assert re.fullmatch(HANDLE, mention.author_handle)
        else:
            assert mention.author_handle is None, mention.source
    display_names = {
        "김서연",
        "Park Jiho",
        "빵지순례 일기",
        "빵덕후",
        "morning_latte",
        "김민수",
        "Sophie",
        "민지 🥐",
    }
    assert not {m.author_handle for m in mentions} & display_names
    assert not {m.author_id for m in mentions} & display_names


@pytest.mark.parametrize(
    "screen_name", ["민지", "has space", "@" * 3, "a" * 65, "", "minji_eats\n", None, 42]
)
def test_given_a_handle_the_model_cannot_keep_then_the_mention_has_none_rather_than_failing(
    screen_name: object,
) -> None:
    body = payload("x_account_activity")
    body["tweet_create_events"][2]["user"]["screen_name"] = screen_name
    mention = by_id(X.parse(dump(body), NOW).mentions)["1900000000000000103"]
    assert mention.author_handle is None
    assert mention.url == "https://x.com/i/web/status/1900000000000000103"


def test_given_a_text_longer_than_the_model_allows_then_it_is_cut_not_refused() -> None:
    body = payload("x_account_activity")
    long_text = "빵" * (MAX_TEXT - 1) + "👩\u200d🍳" + "끝" * 100  # a joined emoji across the limit
    body["tweet_create_events"][2]["text"] = long_text
    mention = by_id(X.parse(dump(body), NOW).mentions)["1900000000000000103"]
    assert mention.text == "빵" * (MAX_TEXT - 1)  # the cook is not split from her hat
    assert len(mention.text) <= MAX_TEXT


@given(st.text(min_size=0, max_size=MAX_TEXT + 50))
@PROPERTIES
def test_cleaned_text_fits_the_model_and_is_the_start_of_what_was_said(text: str) -> None:
    cleaned = clean(text)
    assert len(cleaned) <= MAX_TEXT
    kept = re.sub("[\ud800-\udfff]", "\ufffd", text).strip()
    assert kept.startswith(cleaned)
    cleaned.encode("utf-8")  # storable: no lone surrogates


def test_given_lone_surrogates_in_a_comment_then_they_are_replaced_so_it_can_be_stored() -> None:
    comments = payload("instagram_comments")
    comments["entry"][0]["changes"][0]["value"]["text"] = "좋아요 \ud83d"
    body = json.dumps(comments).encode()  # ensure_ascii: the lone surrogate travels as \\ud83d
    mention = by_id(META.parse(body, NOW).mentions)["17919700000000001"]
    assert mention.text == "좋아요 \ufffd"


# -- Naver --------------------------------------------------------------------------------------


NAVER_CONFIG = {
    "query": "단골 베이커리",
    "client_id": "naver-client-id",
    "client_secret": "naver-client-secret",
}


@pytest.mark.parametrize(("adapter", "endpoint"), [(NAVER_BLOG, "blog"), (NAVER_CAFE, "cafearticle")])
def test_given_naver_s_config_then_the_request_asks_for_the_newest_first(
    adapter: PolledAdapter, endpoint: str
) -> None:
    asked = adapter.request(None, NAVER_CONFIG)
    assert asked.url == f"https://openapi.naver.com/v1/search/{endpoint}.json"
    assert dict(asked.headers) == {
        "X-Naver-Client-Id": "naver-client-id",
        "X-Naver-Client-Secret": "naver-client-secret",
    }
    assert dict(asked.params) == {"query": "단골 베이커리", "display": 100, "start": 1, "sort": "date"}
    assert "naver-client-secret" not in repr(asked)
    assert adapter.request("whatever", NAVER_CONFIG) == asked  # the cursor filters answers, not requests
    assert adapter.request(None, {**NAVER_CONFIG, "display": 500}).params["display"] == 100
    assert adapter.request(None, {**NAVER_CONFIG, "display": "20"}).params["display"] == 20


@pytest.mark.parametrize("missing", ["query", "client_id", "client_secret"])
def test_given_naver_config_without_a_key_then_it_is_a_config_error_naming_no_value(missing: str) -> None:
    config = {**NAVER_CONFIG, missing: " "}
    with pytest.raises(SourceConfigError) as caught:
        NAVER_BLOG.request(None, config)
    assert "naver-client-secret" not in str(caught.value)
    with pytest.raises(SourceConfigError):
        NAVER_BLOG.request(None, {**NAVER_CONFIG, "display": "many"})


def test_given_naver_results_then_html_tags_and_entities_are_gone() -> None:
    polled = NAVER_BLOG.parse(raw("naver_blog"), None, NOW)
    first = by_id(polled.mentions)["blog.naver.com/breadtrip_kr/224180000001"]
    assert first.text == (
        "[성수 카페] 단골 베이커리 성수점 소금빵 & 라떼 후기\n"
        '주말 오전에 방문한 단골 베이커리 성수점. 소금빵이 "겉바속촉" 그 자체였고 웨이팅은 20분 정도... '
        "가격은 조금 <비싼> 편이에요."
    )
    for mention in polled.mentions + NAVER_CAFE.parse(raw("naver_cafe"), None, NOW).mentions:
        assert "<b>" not in mention.text
        assert not re.search(r"&(#\d+|[a-z]+);", mention.text)


def test_given_a_blog_post_then_it_is_dated_midnight_in_seoul_and_keeps_the_blog_not_the_name() -> None:
    polled = NAVER_BLOG.parse(raw("naver_blog"), None, NOW)
    assert (len(polled.mentions), polled.failures, polled.skipped) == (3, (), 0)
    post = by_id(polled.mentions)["blog.naver.com/breadtrip_kr/224180000001"]
    assert post.source == "naver_blog"
    assert post.posted_at == datetime(2026, 3, 13, 15, 0, tzinfo=UTC)  # 14 March, 00:00 in Seoul
    assert (post.author_handle, post.author_id) == (None, "blog.naver.com/breadtrip_kr")
    assert post.url == "https://blog.naver.com/breadtrip_kr/224180000001"


def test_given_cafe_articles_then_they_are_dated_now_with_no_author() -> None:
    polled = NAVER_CAFE.parse(raw("naver_cafe"), None, NOW)
    assert {m.external_id for m in polled.mentions} == {
        "cafe.naver.com/mapomom/1234567",
        "cafe.naver.com/mangwonlife/98765",
    }
    assert all(
        m.source == "naver_cafe" and m.posted_at == NOW and m.author_id is None for m in polled.mentions
    )
    assert "…" in by_id(polled.mentions)["cafe.naver.com/mapomom/1234567"].text  # &hellip;


@pytest.mark.parametrize(
    "link",
    [
        "https://blog.naver.com/mom_of_two/224179000002",
        "http://blog.naver.com/mom_of_two/224179000002/",
        "https://m.blog.naver.com/mom_of_two/224179000002",
        "https://blog.naver.com/PostView.naver?blogId=mom_of_two&logNo=224179000002",
        "https://m.blog.naver.com/PostView.naver?blogId=mom_of_two&logNo=224179000002&proxyReferer=x",
        "blog.naver.com/mom_of_two/224179000002",
    ],
)
def test_the_external_id_of_a_naver_link_is_the_same_however_the_link_is_spelled(link: str) -> None:
    assert link_id(link) == "blog.naver.com/mom_of_two/224179000002"


def test_given_a_link_that_is_no_valid_id_then_a_stable_digest_stands_for_it() -> None:
    link = "https://cafe.naver.com/ca-fe/ArticleRead.nhn?clubid=1&articleid=2&query=%EB%B9%B5"
    first, again = link_id(link), link_id(link)
    assert first == again
    assert first == "cafe.naver.com/ca-fe/ArticleRead.nhn"
    odd = "https://blog.naver.com/빵순이/1"
    assert link_id(odd) == link_id(odd)
    assert str(link_id(odd)).startswith("naver:")


def test_given_the_same_naver_page_twice_then_nothing_is_taken_twice() -> None:
    first = NAVER_BLOG.parse(raw("naver_blog"), None, NOW)
    again = NAVER_BLOG.parse(raw("naver_blog"), first.cursor, NOW + timedelta(minutes=10))
    assert (again.mentions, again.skipped, again.cursor) == ((), 3, first.cursor)


def test_given_a_new_post_on_top_of_the_page_then_only_it_is_taken() -> None:
    first = NAVER_BLOG.parse(raw("naver_blog"), None, NOW)
    body = payload("naver_blog")
    new = dict(body["items"][0], link="https://blog.naver.com/new_reviewer/224190000009", title="새 글")
    body["items"] = [new, *body["items"][:2]]  # the oldest fell off the page
    later = NAVER_BLOG.parse(dump(body), first.cursor, NOW + timedelta(minutes=10))
    assert [m.external_id for m in later.mentions] == ["blog.naver.com/new_reviewer/224190000009"]
    assert later.skipped == 2
    assert SeenIds.decode(later.cursor).ids[0] == "blog.naver.com/new_reviewer/224190000009"


@pytest.mark.parametrize("cursor", ["not json", "[1,2]", '{"seen": "x"}', ""])
def test_given_an_unreadable_naver_cursor_then_it_starts_afresh(cursor: str) -> None:
    polled = NAVER_CAFE.parse(raw("naver_cafe"), cursor, NOW)
    assert len(polled.mentions) == 2


def test_given_a_naver_answer_without_items_then_it_is_unsupported_and_the_cursor_stays() -> None:
    first = NAVER_CAFE.parse(raw("naver_cafe"), None, NOW)
    odd = NAVER_CAFE.parse(
        dump({"errorMessage": "Incorrect query request", "errorCode": "SE01"}), first.cursor, NOW
    )
    assert [f.code for f in odd.failures] == ["unsupported_event"]
    assert odd.cursor == first.cursor


# -- the app stores -----------------------------------------------------------------------------


def test_given_app_store_config_then_the_request_lists_the_newest_reviews_with_the_token() -> None:
    asked = APP_STORE.request(None, {"app_id": "1600000001", "token": "eyJhbGciOiJFUzI1NiJ9.jwt"})
    assert asked.url == "https://api.appstoreconnect.apple.com/v1/apps/1600000001/customerReviews"
    assert dict(asked.headers) == {"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.jwt"}
    assert dict(asked.params) == {"sort": "-createdDate", "limit": 100}
    assert "eyJ" not in repr(asked)


def test_given_google_play_config_then_the_request_lists_the_package_s_reviews_with_the_token() -> None:
    asked = GOOGLE_PLAY.request(None, {"package_name": "kr.dangol.app", "token": "ya29.token"})
    assert (
        asked.url
        == "https://androidpublisher.googleapis.com/androidpublisher/v3/applications/kr.dangol.app/reviews"
    )
    assert dict(asked.headers) == {"Authorization": "Bearer ya29.token"}
    assert dict(asked.params) == {"maxResults": 100}
    assert "ya29" not in repr(asked)


@pytest.mark.parametrize(
    ("adapter", "config"),
    [
        (APP_STORE, {"app_id": "../../v1/users", "token": "t"}),
        (APP_STORE, {"app_id": "1600000001"}),
        (GOOGLE_PLAY, {"package_name": "kr.dangol.app/../x", "token": "t"}),
        (GOOGLE_PLAY, {"package_name": "dangol", "token": "t"}),
        (GOOGLE_PLAY, {"package_name": "kr.dangol.app", "token": "t", "max_results": 1.5}),
    ],
)
def test_given_an_app_store_config_that_is_not_usable_then_it_is_a_config_error(
    adapter: PolledAdapter, config: dict[str, Any]
) -> None:
    with pytest.raises(SourceConfigError):
        adapter.request(None, config)


def test_given_app_store_reviews_then_their_stars_and_words_are_carried() -> None:
    polled = APP_STORE.parse(raw("app_store_reviews"), None, NOW)
    assert (polled.failures, polled.skipped) == ((), 0)
    ratings = {m.external_id: m.rating for m in polled.mentions}
    assert ratings == {
        "00000091-8a2b-0014-7f1e-fbd500000003": 1,
        "00000091-8a2b-0014-7f1e-fbd500000002": 5,
        "00000091-8a2b-0014-7f1e-fbd500000001": 3,
    }
    worst = by_id(polled.mentions)["00000091-8a2b-0014-7f1e-fbd500000003"]
    assert worst.source == "app_store"
    assert worst.text == (
        "스탬프가 자꾸 사라져요\n"
        "업데이트 이후로 적립한 스탬프가 두 번이나 사라졌습니다. 고객센터 답변도 없네요."
    )
    assert worst.posted_at == datetime(2026, 3, 14, 6, 41, 7, tzinfo=UTC)
    assert (worst.author_handle, worst.author_id, worst.url) == (None, None, None)


def test_given_google_play_reviews_then_the_user_s_comment_and_stars_are_carried() -> None:
    polled = GOOGLE_PLAY.parse(raw("google_play_reviews"), None, NOW)
    assert (polled.failures, polled.skipped) == ((), 0)
    assert sorted(m.rating or 0 for m in polled.mentions) == [1, 5]
    crash = next(m for m in polled.mentions if m.rating == 1)
    assert crash.source == "google_play"
    assert (
        crash.text == "주문하면 앱이 튕겨요. 결제는 됐는데 주문 내역이 없어요."
    )  # not the developer's reply
    assert crash.posted_at == datetime(2026, 3, 14, 0, 45, 0, 512000, tzinfo=UTC)
    assert crash.author_handle is None


@pytest.mark.parametrize("rating", [0, 6, "5", True, None])
def test_given_a_rating_out_of_the_stars_then_the_review_is_kept_without_one(rating: object) -> None:
    body = payload("app_store_reviews")
    body["data"][1]["attributes"]["rating"] = rating
    polled = APP_STORE.parse(dump(body), None, NOW)
    assert by_id(polled.mentions)["00000091-8a2b-0014-7f1e-fbd500000002"].rating is None


def test_given_the_same_reviews_twice_then_nothing_is_taken_twice() -> None:
    for adapter, name in [(APP_STORE, "app_store_reviews"), (GOOGLE_PLAY, "google_play_reviews")]:
        first = adapter.parse(raw(name), None, NOW)
        again = adapter.parse(raw(name), first.cursor, NOW + timedelta(minutes=10))
        assert (again.mentions, again.skipped, again.cursor) == ((), len(first.mentions), first.cursor)


def test_given_a_new_review_in_the_same_second_as_the_watermark_then_it_is_taken() -> None:
    first = APP_STORE.parse(raw("app_store_reviews"), None, NOW)
    body = payload("app_store_reviews")
    twin = copy.deepcopy(body["data"][0]) | {"id": "00000091-8a2b-0014-7f1e-fbd500000004"}
    older = copy.deepcopy(body["data"][2]) | {"id": "00000091-8a2b-0014-7f1e-fbd500000000"}
    body["data"] = [twin, *body["data"], older]
    later = APP_STORE.parse(dump(body), first.cursor, NOW)
    assert [m.external_id for m in later.mentions] == ["00000091-8a2b-0014-7f1e-fbd500000004"]
    assert later.skipped == 4  # the three already taken, and one older than the watermark
    assert Watermark.decode(later.cursor).ids == {
        "00000091-8a2b-0014-7f1e-fbd500000003",
        "00000091-8a2b-0014-7f1e-fbd500000004",
    }


def test_given_a_google_play_review_edited_later_then_it_comes_round_again_under_the_same_id() -> None:
    first = GOOGLE_PLAY.parse(raw("google_play_reviews"), None, NOW)
    body = payload("google_play_reviews")
    body["reviews"][1]["comments"][0]["userComment"] |= {
        "text": "수정: 쿠폰이 사라졌어요",
        "lastModified": {"seconds": "1773451000"},
    }
    later = GOOGLE_PLAY.parse(dump(body), first.cursor, NOW)
    assert [(m.external_id, m.rating) for m in later.mentions] == [
        ("gp:AOqpTOEm9Zk8Yj7Xh6Wg5Vf4Ue3Td2Sc1Rb0Qa", 5)
    ]


def test_given_an_empty_answer_then_nothing_is_taken_and_the_cursor_stays() -> None:
    first = GOOGLE_PLAY.parse(raw("google_play_reviews"), None, NOW)
    for body in (b"{}", b'{"reviews": []}'):
        polled = GOOGLE_PLAY.parse(body, first.cursor, NOW)
        assert (polled.mentions, polled.failures, polled.cursor) == ((), (), first.cursor)
    assert GOOGLE_PLAY.parse(b"{}", None, NOW).cursor is None
    assert [f.code for f in APP_STORE.parse(b'{"data": {}}', None, NOW).failures] == ["unsupported_event"]
    refused(lambda: APP_STORE.parse(b"<html>", None, NOW), "malformed_payload", 400)


# -- cursors, over any history ------------------------------------------------------------------


def _naver_page(ids: list[int], display: int) -> bytes:
    items = [
        {
            "title": f"글 {i}",
            "link": f"https://cafe.naver.com/dangolfans/{i}",
            "description": "단골 베이커리 후기",
        }
        for i in sorted(ids, reverse=True)[:display]
    ]
    return dump({"items": items})


@given(arrivals=st.lists(st.integers(0, 40), min_size=1, max_size=12), display=st.integers(1, 30))
@PROPERTIES
def test_naver_s_cursor_takes_every_shown_article_exactly_once(arrivals: list[int], display: int) -> None:
    published: list[int] = []
    cursor: str | None = None
    taken: list[str] = []
    shown: set[str] = set()
    for count in arrivals:  # between two polls, ``count`` new articles appear on top
        published += range(len(published), len(published) + count)
        body = _naver_page(published, display)
        shown |= {f"cafe.naver.com/dangolfans/{i}" for i in sorted(published, reverse=True)[:display]}
        polled: Polled = NAVER_CAFE.parse(body, cursor, NOW)
        taken += [m.external_id for m in polled.mentions]
        cursor = polled.cursor or cursor
    assert len(taken) == len(set(taken))
    assert set(taken) == shown


def _review_page(reviews: list[tuple[int, int]], limit: int) -> bytes:
    """App Store reviews, newest first; each is (second it was written, its number)."""
    data = [
        {
            "type": "customerReviews",
            "id": f"review-{number}",
            "attributes": {
                "rating": 1 + number % 5,
                "title": "후기",
                "body": f"{number}번째 리뷰",
                "createdDate": (NOW + timedelta(seconds=at)).isoformat(),
            },
        }
        for at, number in sorted(reviews, reverse=True)[:limit]
    ]
    return dump({"data": data})


@given(
    arrivals=st.lists(st.lists(st.integers(0, 3), max_size=6), min_size=1, max_size=10),
    limit=st.integers(1, 20),
)
@PROPERTIES
def test_the_review_watermark_takes_every_shown_review_exactly_once(
    arrivals: list[list[int]], limit: int
) -> None:
    reviews: list[tuple[int, int]] = []
    clock = 0
    cursor: str | None = None
    taken: list[str] = []
    shown: set[str] = set()
    for batch in arrivals:  # reviews written between two polls, several in the same second at times
        for step in batch:
            clock += step
            reviews.append((clock, len(reviews)))
        body = _review_page(reviews, limit)
        shown |= {f"review-{n}" for _, n in sorted(reviews, reverse=True)[:limit]}
        polled = APP_STORE.parse(body, cursor, NOW)
        taken += [m.external_id for m in polled.mentions]
        cursor = polled.cursor or cursor
    assert len(taken) == len(set(taken))
    assert set(taken) == shown
