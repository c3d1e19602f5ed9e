"""Examples of an event as its producer's model can emit it, generated from the model itself.

``examples(Model, domains)`` builds every field of ``Model`` from its annotation and constraints:
required fields always, optional ones absent or present, nested models and lists of them
recursively, literals from their values; text within the field's length bounds or matching its
pattern (the longest it allows among them: a consumer that takes fewer characters fails), numbers
within its bounds, instants naive or aware unless it says aware. Where the model's type is wider
than what its producer can put in it (an ``int`` that the producer's input bounds), ``domains``
narrows it, keyed ``"Model.field"`` or just ``"field"``: each entry is a claim about the producer,
named after the input rule it comes from; it narrows the value, never the field's optionality or
nullability. A field the model constrains needs no domain. Every example is built through
``Model.model_validate``, so a domain that no longer fits the model's type (a retyped field) fails
as loudly as a consumer would.
"""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import hypothesis.strategies as st
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)
Domains = Mapping[str, st.SearchStrategy[Any]]

# An instant as the model takes it: ``AwareDatetime`` only with an offset (within -12:00..+14:00,
# those in use), a plain ``datetime`` with or without one.
OFFSETS = [dt.timedelta(hours=h, minutes=m) for h, m in ((0, 0), (9, 0), (5, 30), (-5, 0), (14, 0), (-12, 0))]
NAIVE_INSTANTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - bounds of the naive part; the zone comes next
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
)
AWARE_INSTANTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([dt.timezone(offset) for offset in OFFSETS]),
)
# Text without a bound is drawn up to this long too (hypothesis keeps text short): a consumer that
# bounds what its producer does not fails.
UNBOUNDED_TEXT = 256
_BOUNDS = ("pattern", "min_length", "max_length", "ge", "gt", "le", "lt")


def examples(model: type[M], domains: Domains | None = None) -> st.SearchStrategy[M]:
    """Instances of ``model`` as its producer can emit them (see the module's docstring)."""
    domains = domains or {}
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        narrowed = domains.get(f"{model.__name__}.{name}", domains.get(name))
        if narrowed is None:
            strategy = for_annotation(info.annotation, domains, info.metadata)
        elif type(None) in get_args(info.annotation):  # a domain narrows the value, never nullability
            strategy = st.none() | narrowed
        else:
            strategy = narrowed
        (required if info.is_required() else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional).map(model.model_validate)


def for_annotation(
    annotation: Any, domains: Domains, constraints: Sequence[Any] = ()
) -> st.SearchStrategy[Any]:
    """Values of one annotation with its constraints (a field's metadata), as a pydantic model
    reads them."""
    origin, args = get_origin(annotation), get_args(annotation)
    bounds = _bounds(constraints)
    if _is_model(annotation):
        return examples(annotation, domains)
    if origin is Annotated:
        return for_annotation(args[0], domains, [*constraints, *args[1:]])
    if origin in (Union, types.UnionType):  # the constraints are each member's (None has none)
        return st.one_of([for_annotation(arg, domains, constraints) for arg in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        low, high = bounds.get("min_length", 0), bounds.get("max_length", 4)
        return st.lists(for_annotation(args[0], domains), min_size=low, max_size=min(high, max(low, 4)))
    if origin is dict:
        return st.dictionaries(for_annotation(args[0], domains), for_annotation(args[1], domains), max_size=6)
    if annotation is type(None):
        return st.none()
    if annotation is AwareDatetime:
        return AWARE_INSTANTS
    if annotation is dt.datetime:
        return NAIVE_INSTANTS | AWARE_INSTANTS
    if annotation is str:
        return _text(bounds)
    if annotation is int:
        low = bounds["ge"] if "ge" in bounds else bounds["gt"] + 1 if "gt" in bounds else None
        high = bounds["le"] if "le" in bounds else bounds["lt"] - 1 if "lt" in bounds else None
        return st.integers(min_value=low, max_value=high)
    return st.from_type(annotation)


def _bounds(constraints: Sequence[Any]) -> dict[str, Any]:
    """The bounds a field's metadata sets (``Field(...)``, ``StringConstraints``, annotated-types)."""
    found: dict[str, Any] = {}
    for constraint in constraints:
        if isinstance(constraint, FieldInfo):
            found |= _bounds(constraint.metadata)
            continue
        found |= {name: v for name in _BOUNDS if (v := getattr(constraint, name, None)) is not None}
    return found


def _text(bounds: Mapping[str, Any]) -> st.SearchStrategy[str]:
    """Text within ``bounds``: short (as hypothesis draws it) and as long as they allow (``max_length``,
    or a pattern's repeats at their longest), with every length between when there is no pattern."""
    low, high = bounds.get("min_length", 0), bounds.get("max_length")
    pattern = bounds.get("pattern")
    if pattern is not None:
        stretched = st.from_regex(_longest(pattern, high), fullmatch=True).map(lambda text: text[:high])
        strings = st.from_regex(pattern, fullmatch=True) | stretched
    else:
        longest = UNBOUNDED_TEXT if high is None else high
        sized = st.integers(low, longest).flatmap(lambda n: st.text(min_size=n, max_size=n))
        strings = st.text(min_size=low, max_size=high) | sized | st.text(min_size=longest, max_size=longest)
    return strings.filter(
        lambda text: (
            low <= len(text)
            and (high is None or len(text) <= high)
            and (pattern is None or re.search(pattern, text) is not None)
        )
    )


def _longest(pattern: str, high: int | None) -> str:
    """``pattern`` with each bounded repeat ``{m,n}`` at its maximum ``{n}`` and, when the text's
    length is bounded (``high``), each ``+`` or ``*`` of a character class at that bound: strings
    of its language (once cut to ``high``, mostly) as long as it allows."""
    stretched = re.sub(r"(?<!\\)\{(\d*),(\d+)\}", r"{\2}", pattern)
    if high is not None:
        stretched = re.sub(r"(?<!\\)\][+*]", f"]{{{high}}}", stretched)
    return stretched


def unused_domains(models: Iterable[type[BaseModel]], domains: Domains) -> set[str]:
    """The domain keys that name no field of ``models`` (or their nested models): a field renamed
    on the producer's side leaves its domain behind."""
    fields: set[str] = set()
    seen: set[type[BaseModel]] = set()
    pending = list(models)
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            fields |= {name, f"{model.__name__}.{name}"}
            pending += [t for t in _types_in(info.annotation) if _is_model(t)]
    return set(domains) - fields


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _types_in(annotation: Any) -> list[Any]:
    return [annotation, *(t for arg in get_args(annotation) for t in _types_in(arg))]
