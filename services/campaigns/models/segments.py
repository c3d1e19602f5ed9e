"""The segment rule language: JSON rules over a ``CustomerView`` that marketing writes.

A rule node is ``{"all": [node, ...]}`` or ``{"any": [node, ...]}`` (1..20 children),
``{"not": node}``, or a condition ``{"field": ..., "op": ..., <operands>}``:

- ``locale``, ``time_zone``, ``value_segment``, ``tier``: ``eq`` / ``ne`` ``value``; ``in`` /
  ``not_in`` ``values``; ``exists`` / ``missing``. A customer without a value (no tier, not
  assessed yet) is ``ne`` and ``not_in`` anything, and never ``eq`` or ``in``;
- ``groups``: ``contains`` ``value``; ``contains_any`` / ``contains_all`` ``values``; ``empty`` /
  ``not_empty``;
- ``consent``: ``granted`` / ``not_granted`` ``value`` (``<email|sms|push>.<marketing|service>``,
  ``sms.night``, ``push.night``); a consent never given is not granted;
- ``registered_at``, ``last_purchase_at``, ``last_visit_at``: ``within_days`` ``value`` (at or
  after now minus that many days); ``not_within_days`` ``value`` (before that, or never:
  "no purchase for 60 days" includes those who never bought); ``before`` / ``after`` ``date``
  (``yyyy-mm-dd``, against the instant's date in the customer's own time zone, strictly);
  ``exists`` / ``missing``;
- ``purchase_count`` (with ``window_days``) and ``spend`` (with ``window_days`` and
  ``currency``, in minor units) over the last 7, 30, 90 or 365 local days including today;
  ``browsing_s`` and ``points_expiring``: ``eq``, ``ne``, ``gt``, ``gte``, ``lt``, ``lte``
  ``value``, or ``between`` ``min`` and ``max`` (inclusive).

Everything is strict (``extra="forbid"``, ``"60"`` is no number): a bad rule is a 422 whose
``loc`` walks to the bad part, e.g. ``("rule", "all", 1, "last_purchase_at", "not_within_days",
"value")``: the index path through ``all`` / ``any`` / ``not``, then the condition's field, its
operator and the operand. A rule nests at most ``MAX_DEPTH`` nodes deep and holds at most
``MAX_NODES`` nodes. ``logic.segments.compile_rule`` turns a rule into a predicate.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    RootModel,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from services.campaigns.models.view import WINDOWS

MAX_DEPTH = 6  # nodes on the longest path from the root to a condition
MAX_NODES = 100  # conditions and all / any / not nodes together
MAX_CHILDREN = 20  # children of one all / any


class _Input(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, serialize_by_alias=True)


Text = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Texts = Annotated[list[Text], Field(min_length=1, max_length=100)]
# Counts, seconds, points and minor units: bounded, so a rule is a number DynamoDB stores as is.
MAX_AMOUNT = 10**15
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
Days = Annotated[StrictInt, Field(ge=1, le=3650)]
Currency = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Z]{3}$")]
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


def _known_window(days: int) -> int:
    if days not in WINDOWS:
        raise ValueError(f"window_days must be one of {', '.join(map(str, WINDOWS))}")
    return days


Window = Annotated[StrictInt, AfterValidator(_known_window), Field(json_schema_extra={"enum": list(WINDOWS)})]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # already parsed (a model built in code)
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "a date is a string in the form yyyy-mm-dd")
    return value


LocalDate = Annotated[dt.date, BeforeValidator(_iso_date), Field(examples=["2025-01-01"])]


# -- strings: locale, time_zone, value_segment, tier ------------------------------------------------

TextField = Literal["locale", "time_zone", "value_segment", "tier"]
TEXT_FIELDS: tuple[TextField, ...] = ("locale", "time_zone", "value_segment", "tier")


class TextIs(_Input):
    """``eq`` / ``ne`` one value."""

    field: TextField
    op: Literal["eq", "ne"]
    value: Text


class TextIn(_Input):
    """``in`` / ``not_in`` a list of values."""

    field: TextField
    op: Literal["in", "not_in"]
    values: Texts


class TextPresence(_Input):
    """``exists`` / ``missing``: the customer has a value (a tier, a value segment) or not."""

    field: TextField
    op: Literal["exists", "missing"]


TextCondition = Annotated[TextIs | TextIn | TextPresence, Field(discriminator="op")]


# -- groups -------------------------------------------------------------------------------------------


class GroupsContain(_Input):
    field: Literal["groups"]
    op: Literal["contains"]
    value: Text


class GroupsContainSome(_Input):
    """``contains_any``: in at least one of the groups; ``contains_all``: in every one."""

    field: Literal["groups"]
    op: Literal["contains_any", "contains_all"]
    values: Texts


class GroupsEmptiness(_Input):
    field: Literal["groups"]
    op: Literal["empty", "not_empty"]


GroupsCondition = Annotated[GroupsContain | GroupsContainSome | GroupsEmptiness, Field(discriminator="op")]


# -- consent ------------------------------------------------------------------------------------------

ConsentKey = Literal[
    "email.marketing",
    "email.service",  # no email.night: e-mail needs no night-time consent (the profile has none)
    "sms.marketing",
    "sms.service",
    "sms.night",
    "push.marketing",
    "push.service",
    "push.night",
]


class ConsentCondition(_Input):
    """``granted`` / ``not_granted`` a consent (``<channel>.<purpose>``); never given: not granted."""

    field: Literal["consent"]
    op: Literal["granted", "not_granted"]
    value: ConsentKey


# -- instants: registered_at, last_purchase_at, last_visit_at ---------------------------------------

InstantField = Literal["registered_at", "last_purchase_at", "last_visit_at"]
INSTANT_FIELDS: tuple[InstantField, ...] = ("registered_at", "last_purchase_at", "last_visit_at")


class InstantWithin(_Input):
    """``within_days``: at or after now minus ``value`` days; ``not_within_days``: before that,
    or never (no such instant)."""

    field: InstantField
    op: Literal["within_days", "not_within_days"]
    value: Days


class InstantDate(_Input):
    """``before`` / ``after`` a date: the instant's date in the customer's time zone is strictly
    earlier / later. Never (no such instant) is neither."""

    field: InstantField
    op: Literal["before", "after"]
    date: LocalDate


class InstantPresence(_Input):
    field: InstantField
    op: Literal["exists", "missing"]


InstantCondition = Annotated[InstantWithin | InstantDate | InstantPresence, Field(discriminator="op")]


# -- numbers: purchase_count, spend, browsing_s, points_expiring --------------------------------------


def _check_range(low: int, high: int) -> None:
    if low > high:
        raise ValueError("between takes min <= max")


class PurchaseCountIs(_Input):
    """Purchases over the last ``window_days`` local days (today included) compared with ``value``."""

    field: Literal["purchase_count"]
    window_days: Window
    op: Comparison
    value: Amount


class PurchaseCountBetween(_Input):
    """Purchases over the window ``between`` ``min`` and ``max``, both inclusive."""

    field: Literal["purchase_count"]
    window_days: Window
    op: Literal["between"]
    min: Amount
    max: Amount

    @model_validator(mode="after")
    def _min_le_max(self) -> PurchaseCountBetween:
        _check_range(self.min, self.max)
        return self


class SpendIs(_Input):
    """Net spend in ``currency`` (minor units) over the last ``window_days`` local days."""

    field: Literal["spend"]
    window_days: Window
    currency: Currency
    op: Comparison
    value: Amount


class SpendBetween(_Input):
    field: Literal["spend"]
    window_days: Window
    currency: Currency
    op: Literal["between"]
    min: Amount
    max: Amount

    @model_validator(mode="after")
    def _min_le_max(self) -> SpendBetween:
        _check_range(self.min, self.max)
        return self


NumberField = Literal["browsing_s", "points_expiring"]


class NumberIs(_Input):
    """``browsing_s`` (seconds on visits since the last purchase) or ``points_expiring``."""

    field: NumberField
    op: Comparison
    value: Amount


class NumberBetween(_Input):
    field: NumberField
    op: Literal["between"]
    min: Amount
    max: Amount

    @model_validator(mode="after")
    def _min_le_max(self) -> NumberBetween:
        _check_range(self.min, self.max)
        return self


PurchaseCountCondition = Annotated[PurchaseCountIs | PurchaseCountBetween, Field(discriminator="op")]
SpendCondition = Annotated[SpendIs | SpendBetween, Field(discriminator="op")]
NumberCondition = Annotated[NumberIs | NumberBetween, Field(discriminator="op")]

Condition = (
    TextIs
    | TextIn
    | TextPresence
    | GroupsContain
    | GroupsContainSome
    | GroupsEmptiness
    | ConsentCondition
    | InstantWithin
    | InstantDate
    | InstantPresence
    | PurchaseCountIs
    | PurchaseCountBetween
    | SpendIs
    | SpendBetween
    | NumberIs
    | NumberBetween
)
FIELDS: tuple[str, ...] = (
    *TEXT_FIELDS,
    "groups",
    "consent",
    *INSTANT_FIELDS,
    "purchase_count",
    "spend",
    "browsing_s",
    "points_expiring",
)


# -- all, any, not --------------------------------------------------------------------------------


class AllOf(_Input):
    """Every child holds."""

    key: ClassVar[str] = "all"
    all: list[Node] = Field(min_length=1, max_length=MAX_CHILDREN)


class AnyOf(_Input):
    """At least one child holds."""

    key: ClassVar[str] = "any"
    any: list[Node] = Field(min_length=1, max_length=MAX_CHILDREN)


class Not(_Input):
    """The child does not hold."""

    key: ClassVar[str] = "not"
    not_: Node = Field(alias="not")


_LOGICAL = ("all", "any", "not")
_KNOWN_FIELDS = frozenset(FIELDS)


def _node_tag(node: Any) -> str | None:
    """``all`` / ``any`` / ``not`` by key, else the condition's field (None: no such node)."""
    if isinstance(node, dict):
        for key in _LOGICAL:
            if key in node:
                return key
        field = node.get("field")
        return field if isinstance(field, str) and field in _KNOWN_FIELDS else None
    if isinstance(node, AllOf | AnyOf | Not):
        return node.key
    field = getattr(node, "field", None)  # a condition being serialized
    return field if isinstance(field, str) else None


Node = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[TextCondition, Tag("locale")]
    | Annotated[TextCondition, Tag("time_zone")]
    | Annotated[TextCondition, Tag("value_segment")]
    | Annotated[TextCondition, Tag("tier")]
    | Annotated[GroupsCondition, Tag("groups")]
    | Annotated[ConsentCondition, Tag("consent")]
    | Annotated[InstantCondition, Tag("registered_at")]
    | Annotated[InstantCondition, Tag("last_purchase_at")]
    | Annotated[InstantCondition, Tag("last_visit_at")]
    | Annotated[PurchaseCountCondition, Tag("purchase_count")]
    | Annotated[SpendCondition, Tag("spend")]
    | Annotated[NumberCondition, Tag("browsing_s")]
    | Annotated[NumberCondition, Tag("points_expiring")],
    Discriminator(
        _node_tag,
        custom_error_type="rule_node",
        custom_error_message=(
            "A rule node is an object with all, any or not, or a condition whose field is one of "
            + ", ".join(FIELDS)
        ),
    ),
]


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly under ``node`` (none under a condition)."""
    if isinstance(node, AllOf):
        return tuple(node.all)
    if isinstance(node, AnyOf):
        return tuple(node.any)
    if isinstance(node, Not):
        return (node.not_,)
    return ()


def conditions(node: Node) -> Iterator[Condition]:
    """Every condition in the tree, depth first (iteratively: no recursion limit to meet)."""
    stack = [node]
    while stack:
        here = stack.pop()
        if isinstance(here, AllOf | AnyOf | Not):
            stack.extend(reversed(children(here)))
        else:
            yield here


def _shape(node: Node) -> tuple[int, int]:
    """(depth, nodes) of a tree; the walk stops counting depth once it is past ``MAX_DEPTH``."""
    depth = nodes = 0
    stack = [(node, 1)]
    while stack:
        here, level = stack.pop()
        nodes += 1
        depth = max(depth, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in children(here))
    return depth, nodes


def _readable(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop the union's tag before an ``all`` / ``any`` / ``not`` key: ``("all", "all", 1)`` is
    the tag and then the key; ``("all", 1)`` reads as the rule does."""
    out: list[int | str] = []
    for i, part in enumerate(loc):
        if part in _LOGICAL and i + 1 < len(loc) and loc[i + 1] == part:
            continue
        out.append(part)
    return tuple(out)


class SegmentRule(RootModel[Node]):
    """A whole rule, validated: the node tree within ``MAX_DEPTH`` and ``MAX_NODES``.
    ``model_dump(mode="json", exclude_none=True)`` gives back the JSON it was made from."""

    model_config = ConfigDict(defer_build=True, frozen=True, serialize_by_alias=True)

    @model_validator(mode="wrap")
    @classmethod
    def _within_limits(cls, data: Any, handler: ModelWrapValidatorHandler[SegmentRule]) -> SegmentRule:
        try:
            rule = handler(data)
        except ValidationError as exc:
            details: list[InitErrorDetails] = [
                {
                    "type": PydanticCustomError(e["type"], e["msg"], e.get("ctx")),
                    "loc": _readable(e["loc"]),
                    "input": e["input"],
                }
                for e in exc.errors()
            ]
            raise ValidationError.from_exception_data(exc.title, details) from None
        depth, nodes = _shape(rule.root)
        if depth > MAX_DEPTH:
            raise ValueError(f"depth limit: a rule nests at most {MAX_DEPTH} nodes deep")
        if nodes > MAX_NODES:
            raise ValueError(f"node limit: a rule holds at most {MAX_NODES} nodes, not {nodes}")
        return rule


STORY_RULE: dict[str, Any] = {
    "all": [
        {"field": "last_purchase_at", "op": "not_within_days", "value": 60},
        {"field": "consent", "op": "granted", "value": "email.marketing"},
    ]
}


class SegmentDefinition(_Input):
    """A segment as marketing defines it: a name, an optional description and its rule."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Lapsed e-mail subscribers",
                    "description": "No purchase for 60 days and consented to marketing e-mail",
                    "rule": STORY_RULE,
                },
                {
                    "name": "Seoul regulars",
                    "rule": {
                        "all": [
                            {"field": "purchase_count", "window_days": 30, "op": "gte", "value": 3},
                            {"field": "time_zone", "op": "eq", "value": "Asia/Seoul"},
                            {"not": {"field": "groups", "op": "contains", "value": "staff"}},
                        ]
                    },
                },
            ]
        }
    )

    name: Annotated[
        StrictStr,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
        Field(examples=["Lapsed e-mail subscribers"]),
    ]
    description: Annotated[StrictStr, StringConstraints(max_length=500)] | None = None
    rule: SegmentRule = Field(examples=[STORY_RULE])


class PreviewDefinition(_Input):
    """A draft rule to preview: how many customers it would hold now, and a few of them."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rule": STORY_RULE}]})

    rule: SegmentRule = Field(examples=[STORY_RULE])
