"""Marketing's message templates through the ``campaigns-templates-api`` function on moto: saved
only when their Liquid checks out (a 422 that points at the locale and field otherwise), listed
newest first, versioned (ETag, If-Match, every version readable), and previewed for the sample
customer or for a real one, whose view the campaigns service keeps from the bus and whose name and
usual come from the profile service's contact card (a card source of the test's own)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.campaigns.models.cards import CardPurpose, ContactCard
from services.campaigns.topology import EVENTS, EVENTS_QUEUE, TEMPLATES_API
from shared.events import Envelope, EventPublisher, RecordedEvent
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.conftest import FROZEN_AT, STAGE, QueueDrain

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

USUAL_SMS: dict[str, Any] = {
    "name": "Your usual",
    "channel": "sms",
    "purpose": "marketing",
    "sender": "단골베이커리",
    "opt_out": "무료수신거부 080-123-4567",
    "locales": {
        "ko-KR": {"body": "{{ customer.first_name }}님, {{ customer.usual }} 한 잔 어떠세요?"},
        "en-US": {"body": "{{ customer.first_name }}, your {{ customer.usual }} is waiting"},
    },
}
WELCOME_MAIL: dict[str, Any] = {
    "name": "Welcome",
    "channel": "email",
    "purpose": "marketing",
    "sender": "단골베이커리",
    "locales": {
        "ko-KR": {
            "subject": "{{ customer.first_name }}님, 환영해요",
            "html": "<p>{{ customer.name }}님, {{ customer.tier | default: '일반' }} 회원이에요</p>",
            "text": "{{ customer.name }}님",
        },
        "en-US": {"subject": "Welcome, {{ customer.first_name }}", "html": "<p>Hi</p>", "text": "Hi"},
    },
}


class FakeCards:
    """The profile service's contact cards, as the test says they are (and what was asked)."""

    def __init__(self, cards: dict[str, ContactCard]) -> None:
        self.known = cards
        self.asked: list[tuple[list[str], str]] = []

    def cards(self, customer_ids: Sequence[str], purpose: CardPurpose) -> list[ContactCard]:
        self.asked.append((list(customer_ids), purpose))
        return [self.known.get(c, ContactCard(customer_id=c, status="unknown")) for c in customer_ids]


@dataclasses.dataclass
class Templates:
    api: Invoker
    events: QueueDrain
    bus: str
    cards: FakeCards

    def call(
        self, method: str, resource: str, params: dict[str, str] | None = None, **kw: Any
    ) -> ApiResponse:
        return self.api(
            api_event(
                "profile_get_me",
                method=method,
                resource=resource,
                path_parameters=params,
                path=None if params else resource,
                groups=kw.pop("groups", "marketing"),
                sub="staff-1",
                headers=kw.pop("headers", None),
                **kw,
            )
        )

    def create(self, body: dict[str, Any], key: str | None = None) -> ApiResponse:
        return self.call(
            "POST", "/admin/templates", body=body, headers={"Idempotency-Key": key or new_id("k")}
        )

    def created(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.create(body)
        assert response.status == 201, response.body
        return dict(response.json())

    def preview(self, template_id: str, body: dict[str, Any]) -> ApiResponse:
        return self.call(
            "POST", "/admin/templates/{template_id}/preview", {"template_id": template_id}, body=body
        )

    def publish(self, source: str, detail_type: str, data: dict[str, Any]) -> None:
        event = RecordedEvent(detail_type, "1", data)
        EventPublisher(self.bus, f"dangol.{source}").publish([Envelope(event, occurred_at=FROZEN_AT)])

    def customer(self, *, locale: str = "ko-KR", zone: str = "Asia/Seoul", tier: str | None = None) -> str:
        """A customer registered (and tiered) on the bus, their view kept by the campaigns service."""
        customer_id = new_id("cus")
        self.publish(
            "profile",
            "CustomerRegistered",
            {
                "customer_id": customer_id,
                "subject": f"sub-{customer_id}",
                "locale": locale,
                "time_zone": zone,
            },
        )
        if tier is not None:
            self.publish("rewards", "TierChanged", {"customer_id": customer_id, "tier": tier})
        self.events()
        return customer_id


@pytest.fixture
def templates(
    moto: None,
    bus: str,
    lambda_function: Callable[[Function], Invoker],
    frozen_clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Templates:
    """The templates function on moto, with the campaigns' events function to keep the views, and
    a card source of the test's own in place of the profile service's contacts function."""
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    events = QueueDrain(lambda_function(EVENTS), messaging, EVENTS_QUEUE)
    api = lambda_function(TEMPLATES_API)
    cards = FakeCards({})
    module = __import__(TEMPLATES_API.module, fromlist=["dependencies"])
    real = module.dependencies
    monkeypatch.setattr(
        module, "dependencies", functools.cache(lambda: dataclasses.replace(real(), cards=cards))
    )
    return Templates(api=api, events=events, bus=bus, cards=cards)


def test_a_template_is_saved_read_with_its_etag_and_listed_newest_first(templates: Templates) -> None:
    # Given an SMS template and an e-mail template saved one after the other
    sms = templates.created(USUAL_SMS)
    mail = templates.created(WELCOME_MAIL)
    # Then each is version 1 with an id of its own, stamped with the functions' clock
    assert sms["id"].startswith("tpl_")
    assert (sms["version"], datetime.fromisoformat(sms["created_at"]), sms["locales"]) == (
        1,
        FROZEN_AT,
        USUAL_SMS["locales"],
    )
    # When one is read
    read = templates.call("GET", "/admin/templates/{template_id}", {"template_id": sms["id"]})
    # Then it is as saved, with its version as ETag
    assert (read.status, read.header("ETag"), read.json()) == (200, '"1"', sms)
    # When the list is paged one at a time
    first = templates.call("GET", "/admin/templates", query={"limit": "1"})
    assert first.status == 200, first.body
    cursor = first.json()["next_cursor"]
    second = templates.call("GET", "/admin/templates", query={"limit": "1", "cursor": cursor})
    # Then the newest comes first, and the list ends after the second
    assert [t["id"] for t in first.json()["items"] + second.json()["items"]] == [mail["id"], sms["id"]]
    last = second.json().get("next_cursor")
    if last:
        assert templates.call("GET", "/admin/templates", query={"cursor": last}).json()["items"] == []


def test_a_retry_with_the_same_key_saves_one_template(templates: Templates) -> None:
    # Given a template saved with an Idempotency-Key
    first = templates.create(USUAL_SMS, key="save-usual-1")
    # When the client retries with the same key
    again = templates.create(USUAL_SMS, key="save-usual-1")
    # Then it gets the first answer, and there is one template
    assert (again.status, again.json()["id"]) == (201, first.json()["id"])
    assert again.header("Idempotent-Replayed") == "true"
    assert len(templates.call("GET", "/admin/templates").json()["items"]) == 1
    # And without a key it is refused before anything is saved
    bare = templates.call("POST", "/admin/templates", body=USUAL_SMS, headers={"Idempotency-Key": None})
    assert (bare.status, bare.error["code"]) == (428, "idempotency_key_required")


@pytest.mark.parametrize(
    ("locale", "field", "source", "kind"),
    [
        ("en-US", "subject", "Hi {{ customer.email }}", "unknown_variable"),
        ("ko-KR", "html", "{% if customer.tier %}gold", "liquid_syntax"),
        ("ko-KR", "text", "{% include 'footer' %}", "tag_not_allowed"),
        ("en-US", "html", "{{ customer.name | safe }}", "filter_not_allowed"),
        ("en-US", "subject", "x" * 151, "too_long"),
    ],
)
def test_a_template_that_cannot_be_sent_is_refused_at_the_locale_and_field(
    templates: Templates, locale: str, field: str, source: str, kind: str
) -> None:
    # Given an e-mail template with one field that breaks one rule
    body = {**WELCOME_MAIL, "locales": {**WELCOME_MAIL["locales"]}}
    body["locales"][locale] = {**body["locales"][locale], field: source}
    # When it is saved
    response = templates.create(body)
    # Then it is 422 template_invalid, its one problem at that locale and field, of that kind
    assert (response.status, response.error["code"]) == (422, "template_invalid"), response.body
    assert [(d["loc"], d["type"]) for d in response.error["details"]] == [
        (["body", "locales", locale, field], kind)
    ]
    # And nothing was saved
    assert templates.call("GET", "/admin/templates").json()["items"] == []


def test_an_advertising_sms_or_push_too_long_for_its_channel_is_refused(templates: Templates) -> None:
    # Given an SMS of 420 Korean characters (7 parts with its marking) and a push title of 70
    sms = {**USUAL_SMS, "locales": {"ko-KR": {"body": "가" * 420}}}
    push = {
        **USUAL_SMS,
        "channel": "push",
        "locales": {"ko-KR": {"title": "나" * 70, "body": "{{ customer.usual }}"}},
    }
    # When they are saved
    # Then each is refused at its field
    for body, field in ((sms, "body"), (push, "title")):
        response = templates.create(body)
        assert response.status == 422, response.body
        assert [(d["loc"], d["type"]) for d in response.error["details"]] == [
            (["body", "locales", "ko-KR", field], "too_long")
        ]


def test_a_change_is_a_new_version_and_a_stale_if_match_is_refused(templates: Templates) -> None:
    # Given a template at version 1
    created = templates.created(USUAL_SMS)
    params = {"template_id": created["id"]}
    # When marketing changes its Korean text with If-Match 1
    changed_body = {
        **USUAL_SMS,
        "locales": {"ko-KR": {"body": "{{ customer.first_name }}님, 오늘도 {{ customer.usual }}?"}},
    }
    changed = templates.call(
        "PUT", "/admin/templates/{template_id}", params, body=changed_body, headers={"If-Match": '"1"'}
    )
    # Then it is version 2, in force
    assert (changed.status, changed.header("ETag"), changed.json()["version"]) == (200, '"2"', 2), (
        changed.body
    )
    read = templates.call("GET", "/admin/templates/{template_id}", params)
    assert read.json()["locales"] == changed_body["locales"]
    # And version 1 is still readable as it was
    first = templates.call(
        "GET", "/admin/templates/{template_id}/versions/{version}", {**params, "version": "1"}
    )
    assert (first.status, first.json()["locales"]) == (200, USUAL_SMS["locales"])
    missing = templates.call(
        "GET", "/admin/templates/{template_id}/versions/{version}", {**params, "version": "3"}
    )
    assert (missing.status, missing.error["code"]) == (404, "template_version_not_found")
    # When a change is sent with the old version
    stale = templates.call(
        "PUT", "/admin/templates/{template_id}", params, body=USUAL_SMS, headers={"If-Match": '"1"'}
    )
    # Then it is refused, and version 2 stands
    assert (stale.status, stale.error["code"]) == (412, "version_mismatch")
    assert templates.call("GET", "/admin/templates/{template_id}", params).header("ETag") == '"2"'
    # And a change that breaks the Liquid is refused like a new template
    broken = {**USUAL_SMS, "locales": {"ko-KR": {"body": "{{ customer.phone }}"}}}
    refused = templates.call("PUT", "/admin/templates/{template_id}", params, body=broken)
    assert (refused.status, refused.error["details"][0]["loc"]) == (422, ["body", "locales", "ko-KR", "body"])
    # And an unknown template is 404
    unknown = templates.call("GET", "/admin/templates/{template_id}", {"template_id": new_id("tpl")})
    assert (unknown.status, unknown.error["code"]) == (404, "template_not_found")


def test_the_preview_without_a_customer_uses_the_sample_customer(templates: Templates) -> None:
    # Given an advertising SMS template
    created = templates.created(USUAL_SMS)
    # When it is previewed without a customer
    response = templates.preview(created["id"], {})
    # Then it is rendered for the sample customer in Korea: marked, measured, night rule applies
    assert response.status == 200, response.body
    preview = response.json()
    assert (preview["sample"], preview["locale"], preview["version"]) == (True, "ko-KR", 1)
    message = preview["message"]
    assert (
        message["body"] == "(광고)단골베이커리\n민지님, 아메리카노 한 잔 어떠세요?\n무료수신거부 080-123-4567"
    )
    assert (message["encoding"], message["segments"], message["length"]) == ("UCS-2", 1, len(message["body"]))
    assert (preview["advertisement_marked"], preview["night_rule"]) == (True, True)
    # And nobody's card was asked for
    assert templates.cards.asked == []
    # When it is previewed in a locale it does not have, of a language it has
    english = templates.preview(created["id"], {"locale": "en-GB"}).json()
    # Then the same language's locale is used
    assert (english["locale"], english["message"]["body"].splitlines()[1]) == (
        "en-US",
        "민지, your 아메리카노 is waiting",
    )


def test_the_preview_for_a_customer_reads_their_view_and_their_card(templates: Templates) -> None:
    # Given a gold customer in Seoul whose view the campaigns service keeps, and their contact card
    customer_id = templates.customer(tier="gold")
    templates.cards.known[customer_id] = ContactCard(
        customer_id=customer_id, status="active", name="박서준", locale="ko-KR", usual="<라떼>"
    )
    created = templates.created(WELCOME_MAIL)
    # When the e-mail template is previewed for them
    response = templates.preview(created["id"], {"customer_id": customer_id})
    # Then it is their message: their name, their tier, the HTML escaped, marked as an advertisement
    assert response.status == 200, response.body
    preview = response.json()
    assert (preview["sample"], preview["customer_id"], preview["locale"]) == (False, customer_id, "ko-KR")
    message = preview["message"]
    assert message["subject"] == "(광고) 서준님, 환영해요"
    assert message["html"].startswith("<p>박서준님, gold 회원이에요</p>")
    assert "수신거부" in message["text"]
    # And e-mail is outside the night rule
    assert (preview["advertisement_marked"], preview["night_rule"]) == (True, False)
    # And their card was asked for a preview only
    assert templates.cards.asked == [([customer_id], "preview")]


def test_a_customer_abroad_gets_no_marking_and_unknown_or_erased_customers_are_404(
    templates: Templates,
) -> None:
    # Given a customer in Paris (English) and an SMS template
    abroad = templates.customer(locale="en-US", zone="Europe/Paris")
    templates.cards.known[abroad] = ContactCard(
        customer_id=abroad, status="active", name="Jane Doe", usual="flat white"
    )
    created = templates.created(USUAL_SMS)
    # When it is previewed for them
    preview = templates.preview(created["id"], {"customer_id": abroad}).json()
    # Then it is in English, unmarked, outside Korea's night rule
    assert preview["message"]["body"] == "Jane, your flat white is waiting"
    assert (preview["message"]["encoding"], preview["advertisement_marked"], preview["night_rule"]) == (
        "GSM-7",
        False,
        False,
    )
    # When it is previewed for a customer nobody knows, one whose card is gone, and one erased
    stranger = new_id("cus")
    no_card = templates.customer()
    erased = templates.customer()
    templates.cards.known[erased] = ContactCard(customer_id=erased, status="active", name="김하나")
    templates.publish("profile", "CustomerErased", {"customer_id": erased})
    templates.events()
    # Then each is 404 customer_not_found
    for customer_id in (stranger, no_card, erased):
        response = templates.preview(created["id"], {"customer_id": customer_id})
        assert (response.status, response.error["code"]) == (404, "customer_not_found"), customer_id
    # And a template nobody saved is 404 too
    response = templates.preview(new_id("tpl"), {})
    assert (response.status, response.error["code"]) == (404, "template_not_found")
