"""Examples of an event as its producer's model can emit it, generated from the model itself.

``examples(Model, domains)`` builds every field of ``Model`` from its annotation: required fields
always, optional ones absent or present, nested models and lists of them recursively, literals from
their values. Where the model's type is wider than what its producer can put in it (a ``str`` that is
always an id of ours, an ``int`` that the producer's input bounds), ``domains`` narrows it, keyed
``"Model.field"`` or just ``"field"``: each entry is a claim about the producer, named after the
input rule it comes from; it narrows the value, never the field's optionality or nullability. Every
example is built through ``Model.model_validate``, so a domain that no longer fits the model's type
(a retyped field) fails as loudly as a consumer would.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import hypothesis.strategies as st
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
Domains = Mapping[str, st.SearchStrategy[Any]]

# Every instant our events carry is aware: what clients send is ``shared.types.Timestamp`` (an
# offset is required, within -12:00..+14:00) and what a service stamps comes from ``shared.clock``
# (UTC). The event models only say ``datetime``; this is the producers' promise made explicit.
OFFSETS = [dt.timedelta(hours=h, minutes=m) for h, m in ((0, 0), (9, 0), (5, 30), (-5, 0), (14, 0), (-12, 0))]
AWARE_INSTANTS = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 - bounds of the naive part; the zone comes next
    max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([dt.timezone(offset) for offset in OFFSETS]),
)


def examples(model: type[M], domains: Domains | None = None) -> st.SearchStrategy[M]:
    """Instances of ``model`` as its producer can emit them (see the module's docstring)."""
    domains = domains or {}
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        narrowed = domains.get(f"{model.__name__}.{name}", domains.get(name))
        if narrowed is None:
            strategy = for_annotation(info.annotation, domains)
        elif type(None) in get_args(info.annotation):  # a domain narrows the value, never nullability
            strategy = st.none() | narrowed
        else:
            strategy = narrowed
        (required if info.is_required() else optional)[name] = strategy
    return st.fixed_dictionaries(required, optional=optional).map(model.model_validate)


def for_annotation(annotation: Any, domains: Domains) -> st.SearchStrategy[Any]:
    """Values of one annotation, the way a pydantic model reads it."""
    origin, args = get_origin(annotation), get_args(annotation)
    if _is_model(annotation):
        return examples(annotation, domains)
    if origin is Annotated:
        return for_annotation(args[0], domains)  # constraints left to model_validate (or a domain)
    if origin in (Union, types.UnionType):
        return st.one_of([for_annotation(arg, domains) for arg in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(for_annotation(args[0], domains), max_size=4)
    if origin is dict:
        return st.dictionaries(for_annotation(args[0], domains), for_annotation(args[1], domains), max_size=6)
    if annotation is type(None):
        return st.none()
    if annotation is dt.datetime:
        return AWARE_INSTANTS
    return st.from_type(annotation)


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
