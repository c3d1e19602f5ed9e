"""Event contracts, in the unit tier: every consumer reads what its producer's model emits.

The services never import each other: the rewards service keeps its own copy of the profile, campaigns
and feedback events it acts on (``services.rewards.models.inbound``). Tests sit outside that boundary,
so here both sides meet. For every rule on the bus and every event type it routes:

- the rule names a real event of its source service, by the source the service's publisher uses, and
  the consumer behind the rule's queue handles exactly the types the rule routes;
- examples generated from the PRODUCER's model (``strategies.examples``: every field, optional ones
  absent and present) go the whole way an event goes: written to the outbox, published as a
  PutEvents entry by the producer's publisher, matched by the rule, delivered to the queue as
  EventBridge delivers it, and read by the consumer's own entry point, which must accept it; every
  field the consumer's model declares must come from a field of the producer's, with its value.

So a field renamed or retyped on either side, a type missing from a rule, or a rule with the wrong
source or detail-type fails here, not in the integration tier or in production. The examples follow
the producer's model (its patterns, lengths, aware instants), so the model must say what its consumers
rely on; that it takes all the producer's inputs put in it is checked too, field by field. And every
event each service declares survives the wire back into its own model (what a future consumer's copy
starts from).
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import uuid
import zoneinfo
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import hypothesis.strategies as st
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from hypothesis import HealthCheck, given, reject, settings
from pydantic import BaseModel, ValidationError, create_model

from infra.topology import SYSTEM
from services.campaigns.handlers import env as campaigns_env
from services.campaigns.handlers import events as campaigns_consumer
from services.campaigns.models import events as campaigns_events
from services.campaigns.models import inbound as campaigns_inbound
from services.feedback.handlers import env as feedback_env
from services.feedback.handlers import events as feedback_consumer
from services.feedback.models import events as feedback_events
from services.feedback.models import inbound as feedback_inbound
from services.profile.handlers import deliverability as profile_deliverability
from services.profile.handlers import env as profile_env
from services.profile.handlers import segments as profile_segments
from services.profile.models import behaviour as profile_inputs
from services.profile.models import events as profile_events
from services.profile.models import inbound as profile_inbound
from services.profile.models import profile as profile_accounts
from services.rewards.handlers import env as rewards_env
from services.rewards.handlers import events as rewards_consumer
from services.rewards.models import events as rewards_events
from services.rewards.models import inbound as rewards_inbound
from shared.consumers import BadEvent, eventbridge_event
from shared.events import DomainEvent, EventPublisher
from shared.ids import prefixed_pattern
from shared.outbox import Outbox
from shared.settings import ServiceSettings, load
from shared.topology import Rule, Service
from tests.unit.contracts.strategies import Domains, examples, for_annotation, unused_domains
from tests.unit.fakes import FakeEventBridge, FakeQueryTable

ACCOUNT, REGION = "123456789012", "ap-northeast-2"
AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
CONTRACT_EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WIRE_EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- who declares, publishes and consumes what ---------------------------------------------------

EVENT_MODULES: dict[str, ModuleType] = {
    "profile": profile_events,
    "rewards": rewards_events,
    "campaigns": campaigns_events,
    "feedback": feedback_events,
}
SETTINGS: dict[str, type[ServiceSettings]] = {
    "profile": profile_env.ProfileSettings,
    "rewards": rewards_env.RewardsSettings,
    "campaigns": campaigns_env.CampaignsSettings,
    "feedback": feedback_env.FeedbackSettings,
}
# What each consumer module dispatches on (the event types its entry point accepts).
HANDLED: dict[str, set[str]] = {
    "services.rewards.handlers.events": set(rewards_consumer.HANDLERS),
    "services.profile.handlers.segments": set(profile_segments.TRIGGERS),
    "services.campaigns.handlers.events": set(campaigns_consumer.HANDLERS),
    "services.profile.handlers.deliverability": set(profile_deliverability.HANDLERS),
    "services.campaigns.handlers.launches": {"CampaignLaunchRequested"},
    "services.feedback.handlers.events": set(feedback_consumer.HANDLERS),
}
# Each consumer of another service's events: its module, and its own copy of each event it reads.
CONSUMERS: dict[str, ModuleType] = {
    "services.rewards.handlers.events": rewards_consumer,
    "services.campaigns.handlers.events": campaigns_consumer,
    "services.profile.handlers.deliverability": profile_deliverability,
    "services.feedback.handlers.events": feedback_consumer,
}
INBOUND: dict[str, dict[str, type[BaseModel]]] = {
    "services.rewards.handlers.events": {
        name: getattr(rewards_inbound, name) for name in sorted(rewards_consumer.HANDLERS)
    },
    "services.campaigns.handlers.events": {
        name: getattr(campaigns_inbound, name) for name in sorted(campaigns_consumer.HANDLERS)
    },
    "services.profile.handlers.deliverability": {
        name: getattr(profile_inbound, name) for name in sorted(profile_deliverability.HANDLERS)
    },
    "services.feedback.handlers.events": {
        name: getattr(feedback_inbound, name) for name in sorted(feedback_consumer.HANDLERS)
    },
}


def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.from_regex(prefixed_pattern(prefix), fullmatch=True)


MAX_TOTAL = profile_inputs.MAX_LINES * profile_inputs.MAX_QUANTITY * profile_inputs.MAX_UNIT_PRICE

# What the profile service's own inputs allow into the fields its event models type as plain ``int``
# or leave unbounded (``services.profile.models.behaviour``). Its ids, instants and text are as
# strict in its event models as what it sends: the examples follow the models there.
PROFILE_DOMAINS: dict[str, st.SearchStrategy[Any]] = {
    "PurchaseRecorded.total": st.integers(0, MAX_TOTAL),  # the sum of the lines' amounts
    "PurchaseRefunded.total": st.integers(0, MAX_TOTAL),
    "PurchaseLine.quantity": st.integers(1, profile_inputs.MAX_QUANTITY),
    "PurchaseLine.unit_price": st.integers(0, profile_inputs.MAX_UNIT_PRICE),
    "PurchaseLine.amount": st.integers(0, profile_inputs.MAX_QUANTITY * profile_inputs.MAX_UNIT_PRICE),
    "VisitRecorded.duration_s": st.integers(0, 86_400),  # VisitInput.duration_s: a day at most
}
LINE = examples(profile_events.PurchaseLine, PROFILE_DOMAINS)


def _as_many_lines_as_allowed(line: profile_events.PurchaseLine) -> list[profile_events.PurchaseLine]:
    """MAX_LINES lines of one SKU at distinct prices (equal lines are merged; other prices are not)."""
    prices = [
        (line.unit_price + i) % (profile_inputs.MAX_UNIT_PRICE + 1) for i in range(profile_inputs.MAX_LINES)
    ]
    return [line.model_copy(update={"unit_price": p, "amount": line.quantity * p}) for p in prices]


PROFILE_DOMAINS["PurchaseRecorded.lines"] = st.lists(LINE, min_size=1, max_size=4) | LINE.map(
    _as_many_lines_as_allowed
)  # PurchaseInput.lines: 1..MAX_LINES
# The rewards service warns of what its open lots hold: a positive number of points.
REWARDS_DOMAINS: dict[str, st.SearchStrategy[Any]] = {
    "customer_id": _ids("cus"),
    "PointsExpiring.points": st.integers(1, 10**9),
    # the ledger never goes negative (``_Tx.finish``); its account's version starts at 1
    "PointsBalanceChanged.balance": st.integers(0, 10**9),
    "PointsBalanceChanged.account_version": st.integers(1, 10**9),
}
# The campaigns and feedback services' events type every field as strictly as what they put there.
DOMAINS: dict[str, Domains] = {
    "profile": PROFILE_DOMAINS,
    "rewards": REWARDS_DOMAINS,
    "campaigns": {},
    "feedback": {},
}

# Where the profile service puts a field of its inputs into an event as it came (into the event's
# field of the same name): whatever the input takes, the event must take too, or the request that
# sent it would fail at its event. A domain stands in for an input whose validator takes what
# generated text is not.
P, E = profile_inputs, profile_events
INPUTS_INTO_EVENTS: list[tuple[type[BaseModel], str, type[DomainEvent], st.SearchStrategy[Any] | None]] = [
    (P.PurchaseInput, "external_id", E.PurchaseRecorded, None),
    (P.PurchaseInput, "customer_id", E.PurchaseRecorded, None),
    (P.PurchaseInput, "store_id", E.PurchaseRecorded, None),
    (P.PurchaseInput, "currency", E.PurchaseRecorded, None),
    (P.PurchaseInput, "purchased_at", E.PurchaseRecorded, None),
    (P.PurchaseLineIn, "sku", E.PurchaseLine, None),
    (P.PurchaseLineIn, "category", E.PurchaseLine, None),
    (P.RefundInput, "refund_id", E.PurchaseRefunded, None),
    (P.RefundInput, "refunded_at", E.PurchaseRefunded, None),
    (P.VisitInput, "external_id", E.VisitRecorded, None),
    (P.VisitInput, "customer_id", E.VisitRecorded, None),
    (P.VisitInput, "place", E.VisitRecorded, None),
    (P.VisitInput, "started_at", E.VisitRecorded, None),
    (profile_accounts.Anniversary, "label", E.AnniversaryUpcoming, None),
    (
        profile_accounts.ProfileCreate,
        "time_zone",
        E.CustomerRegistered,
        st.sampled_from(sorted(zoneinfo.available_timezones())),
    ),
]


def declared_events(service: str) -> dict[str, type[DomainEvent]]:
    """The events a service declares in its events module, by detail-type."""
    module = EVENT_MODULES[service]
    return {
        cls.detail_type(): cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, DomainEvent) and cls is not DomainEvent and cls.__module__ == module.__name__
    }


def source_of(service: Service) -> str:
    """The ``source`` of the service's events: what its publishing functions' publisher stamps."""
    sources = set()
    for function in service.functions:
        if function.publishes_to is None:
            continue
        environment = {
            "STAGE": "test",
            "AWS_REGION": REGION,
            "POWERTOOLS_SERVICE_NAME": function.service,
            function.publishes_to.env_var: "dangol-test",
            **{access.table.env_var: f"dangol-test-{access.table.id}" for access in function.tables},
        }
        sources.add(load(SETTINGS[service.name], environment).publisher().source)
    (source,) = sources
    return source


SOURCES = {service.name: source_of(service) for service in SYSTEM.services}
SERVICE_OF_SOURCE = {source: name for name, source in SOURCES.items()}


def rule_pattern(rule: Rule) -> dict[str, list[str]]:
    pattern = json.loads(rule.pattern)
    assert set(pattern) <= {"source", "detail-type"}, f"{rule.id}: teach matches() this pattern: {pattern}"
    assert all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in pattern.values())
    return dict(pattern)


def matches(pattern: dict[str, list[str]], event: dict[str, Any]) -> bool:
    """EventBridge's matching for the patterns we use: each field one of the listed strings."""
    return all(event.get(name) in allowed for name, allowed in pattern.items())


def consumer_module(rule: Rule) -> str:
    (consumer,) = [c for c in SYSTEM.consumers if c.queue == rule.target]
    return consumer.function.handler.rsplit(".", 1)[0]


def routes() -> Iterator[tuple[Rule, str, str]]:
    """(rule, producing service, detail-type) for every type every rule routes."""
    for rule in SYSTEM.rules:
        pattern = rule_pattern(rule)
        for source in pattern["source"]:
            for detail_type in pattern["detail-type"]:
                yield rule, SERVICE_OF_SOURCE.get(source, source), detail_type


def owner(rule: Rule) -> str:
    (service,) = [s.name for s in SYSTEM.services if rule in s.rules]
    return service


CROSS_SERVICE = [
    pytest.param(rule, producer, detail_type, id=f"{rule.id}:{detail_type}")
    for rule, producer, detail_type in routes()
    if producer != owner(rule)
]
SAME_SERVICE = [
    pytest.param(rule, producer, detail_type, id=f"{rule.id}:{detail_type}")
    for rule, producer, detail_type in routes()
    if producer == owner(rule)
]
ALL_EVENTS = [
    pytest.param(service, cls, id=f"{service}:{name}")
    for service in EVENT_MODULES
    for name, cls in declared_events(service).items()
]


# -- the wire -------------------------------------------------------------------------------------


def delivered(event: DomainEvent, source: str) -> dict[str, Any]:
    """The event as EventBridge hands it to a rule's queue: written to the outbox, published by the
    producer's publisher, then enveloped by EventBridge (``detail`` is the entry's ``Detail``)."""
    bus = FakeEventBridge()
    outbox = Outbox(FakeQueryTable(), partition_key="pk", sort_key="sk", ttl_attribute="ttl")  # type: ignore[arg-type]
    outbox.flush(EventPublisher("dangol-test", source, client=bus), [outbox.item(outbox.envelope(event, AT))])  # type: ignore[arg-type]
    ((entry,),) = bus.calls
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": AT.isoformat(),
        "region": REGION,
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def sqs_record(body: dict[str, Any]) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "r",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dangol-test-queue",
            "awsRegion": REGION,
        }
    )


def read_as_produced(consumer: BaseModel, producer: BaseModel, where: str = "") -> None:
    """Every field the consumer's model declares comes from the producer's field of that name, with its
    value (an optional consumer field that the producer lacks would silently read its default)."""
    for name in type(consumer).model_fields:
        assert name in type(producer).model_fields, f"{where}{name}: the producer emits no such field"
        mine, theirs = getattr(consumer, name), getattr(producer, name)
        if isinstance(mine, BaseModel):
            read_as_produced(mine, theirs, f"{where}{name}.")
        elif isinstance(mine, list) and all(isinstance(item, BaseModel) for item in mine):
            assert len(mine) == len(theirs), f"{where}{name}"
            for index, (item, produced) in enumerate(zip(mine, theirs, strict=True)):
                read_as_produced(item, produced, f"{where}{name}[{index}].")
        else:
            assert mine == theirs, f"{where}{name}: {mine!r} != {theirs!r}"


class Reached(Exception):
    """The consumer accepted the event and began acting on it."""


class Unwired:
    """A consumer's dependencies that stop it at its first use of them."""

    def __getattr__(self, name: str) -> Any:
        raise Reached(name)


# -- the topology: rules, sources, types and handlers agree ---------------------------------------


def test_every_rule_routes_events_its_source_service_declares_to_a_consumer_that_handles_them() -> None:
    # Given every rule on the bus
    for rule in SYSTEM.rules:
        pattern = rule_pattern(rule)
        # Then its sources are services' publishers, and its types are events those services declare
        for source in pattern["source"]:
            assert source in SERVICE_OF_SOURCE, f"{rule.id}: no service publishes as {source}"
            declared = declared_events(SERVICE_OF_SOURCE[source])
            assert set(pattern["detail-type"]) <= set(declared), f"{rule.id}: {pattern['detail-type']}"
        importlib.import_module(consumer_module(rule))
    # And the consumer behind each queue handles exactly the types its rules route to it
    routed: dict[str, set[str]] = {}
    for rule in SYSTEM.rules:
        routed.setdefault(consumer_module(rule), set()).update(rule_pattern(rule)["detail-type"])
    assert routed == {module: HANDLED[module] for module in routed}


@pytest.mark.parametrize("module", sorted(CONSUMERS))
def test_every_event_a_consumer_acts_on_from_another_service_has_its_inbound_copy(module: str) -> None:
    # Given the types the rules route from other services to the consumer
    routed = {
        detail_type
        for rule, producer, detail_type in routes()
        if producer != owner(rule) and consumer_module(rule) == module
    }
    # Then each has an inbound model, and no inbound model is left without a route
    assert set(INBOUND[module]) == routed


def test_each_domain_narrows_a_field_the_producer_still_has() -> None:
    # Given the producers' domains (claims about what they put in their fields)
    for service, domains in DOMAINS.items():
        # Then each names a field of one of the service's events: a rename leaves none behind
        assert unused_domains(declared_events(service).values(), domains) == set(), service


@pytest.mark.parametrize(
    ("source", "name", "event", "domain"),
    [pytest.param(*flow, id=f"{flow[0].__name__}.{flow[1]}") for flow in INPUTS_INTO_EVENTS],
)
def test_what_the_profile_service_takes_in_its_events_take_too(
    source: type[BaseModel], name: str, event: type[DomainEvent], domain: st.SearchStrategy[Any] | None
) -> None:
    # Given the input's field and the event's, each alone in a model
    def alone(model: type[BaseModel]) -> type[BaseModel]:
        field = model.model_fields[name]
        return create_model(f"{model.__name__}_{name}", value=(field.annotation, field))

    taken, sent = alone(source), alone(event)
    info = source.model_fields[name]

    @WIRE_EXAMPLES
    @given(value=for_annotation(info.annotation, {}, info.metadata) if domain is None else domain)
    def check(value: Any) -> None:
        # When the input takes a value (as it reads it: stripped, parsed)
        try:
            accepted = taken.model_validate({"value": value}).value
        except ValidationError:
            reject()
        if accepted is None:
            reject()  # absent: the service puts its own value in the event (now, for an instant)
        # Then the event's field takes it as it is
        assert sent.model_validate({"value": accepted}).value == accepted

    check()


# -- the contracts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "producer", "detail_type"), CROSS_SERVICE)
def test_the_consumer_reads_what_the_producer_emits(
    rule: Rule, producer: str, detail_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the consumer, stopped as soon as it acts, and its copy of the event
    module = consumer_module(rule)
    consumer = CONSUMERS[module]
    monkeypatch.setattr(consumer, "dependencies", Unwired)
    inbound = INBOUND[module][detail_type]

    @CONTRACT_EXAMPLES
    @given(event=examples(declared_events(producer)[detail_type], DOMAINS[producer]))
    def check(event: DomainEvent) -> None:
        # When the producer's event travels to the consumer's queue
        message = delivered(event, SOURCES[producer])
        # Then the rule routes it
        assert matches(rule_pattern(rule), message)
        # And the consumer's entry point accepts it (it gets as far as acting on it)
        with pytest.raises(Reached):
            consumer.handle(sqs_record(message))
        # And its copy of the event reads every field as the producer wrote it
        read_as_produced(inbound.model_validate(message["detail"]["data"]), event)

    check()


@pytest.mark.parametrize(("rule", "producer", "detail_type"), SAME_SERVICE)
def test_a_service_reads_its_own_events_through_its_rules(
    rule: Rule, producer: str, detail_type: str
) -> None:
    # Given the profile segmenter, fed by a rule on the profile service's own events, or the
    # campaigns launcher, fed by a rule on a launch asked for on the bus
    module = consumer_module(rule)
    assert module in {"services.profile.handlers.segments", "services.campaigns.handlers.launches"}

    @WIRE_EXAMPLES  # one model on both sides: the rule and the routing are what is checked here
    @given(event=examples(declared_events(producer)[detail_type], DOMAINS[producer]))
    def check(event: DomainEvent) -> None:
        # When the event travels to its queue
        message = delivered(event, SOURCES[producer])
        # Then the rule routes it, and the consumer finds what it is about
        assert matches(rule_pattern(rule), message)
        if module == "services.profile.handlers.segments":
            assert profile_segments.customer_of(sqs_record(message)) == event.customer_id  # type: ignore[attr-defined]
        else:
            _, read = eventbridge_event(sqs_record(message), type(event))
            assert read == event

    check()


@pytest.mark.parametrize(("service", "model"), ALL_EVENTS)
def test_every_event_survives_the_wire(service: str, model: type[DomainEvent]) -> None:
    @WIRE_EXAMPLES
    @given(event=examples(model, DOMAINS[service]))
    def check(event: DomainEvent) -> None:
        # When an event goes through the outbox and the publisher
        message = delivered(event, SOURCES[service])
        # Then it arrives with its type and source, and reads back as it was
        assert (message["detail-type"], message["source"]) == (model.detail_type(), SOURCES[service])
        assert message["detail"]["metadata"]["schema_version"] == model.schema_version
        assert model.model_validate(message["detail"]["data"]) == event

    check()


def test_a_contract_break_is_a_bad_event_for_the_consumer() -> None:
    # Given a purchase event whose producer renamed a field the rewards service reads
    event = profile_events.PurchaseRefunded(
        purchase_id="pur_01JD5Z8Q6M3X7N2P4R9T0V1W2Y",
        external_id="pos-1",
        refund_id="r-1",
        customer_id="cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y",
        store_id="gangnam-01",
        currency="KRW",
        total=1000,
        refunded_at=AT,
    )
    message = delivered(event, SOURCES["profile"])
    message["detail"]["data"]["refund_ref"] = message["detail"]["data"].pop("refund_id")
    # When the consumer reads it
    # Then it refuses it as a bad event (the test above would fail the same way, generated)
    with pytest.raises(BadEvent):
        rewards_consumer.handle(sqs_record(message))
