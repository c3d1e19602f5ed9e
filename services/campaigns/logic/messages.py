"""Message templates as marketing manages them: save (checked), change (a new version), read,
list, read a past version. ``logic.templates`` is the language; ``logic.previews`` the preview.

A template is checked when it is saved, never first when it is sent: its Liquid (every locale,
every field: syntax, variables, tags, filters), then its length, by rendering each locale for the
sample customer with the sample offer as an advertisement in Korea (the longest form: "(광고)",
the sender and the opt-out added). A customer whose name or usual is longer than the sample's can
still make a message too long: the preview and the sender measure each message again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from liquid.exceptions import LiquidError

from services.campaigns.logic import previews, templates
from services.campaigns.logic.previews import SAMPLE_CUSTOMER, SAMPLE_ZONE, CardSource, context_for
from services.campaigns.logic.projection import ViewStore
from services.campaigns.logic.templates import MessageTooLong, Problem, TemplateInvalid
from services.campaigns.models.messages import Preview, PreviewRequest, SampleOffer, Template, TemplateVersion
from services.campaigns.models.templates import TemplateDefinition
from shared.errors import NotFound, PreconditionFailed, Unprocessable
from shared.ids import new_id


class Library(Protocol):
    def page(self, *, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]: ...
    def get(self, template_id: str) -> dict[str, Any] | None: ...
    def version(self, template_id: str, version: int) -> dict[str, Any] | None: ...
    def create(self, item: dict[str, Any]) -> None: ...
    def replace(self, item: dict[str, Any], *, expected: int) -> None: ...


def validate(definition: TemplateDefinition) -> None:
    """422 ``template_invalid`` with one detail per problem, at ``["body", "locales", <locale>,
    <field>]``, its ``type`` the kind of problem (``liquid_syntax``, ``unknown_variable``,
    ``tag_not_allowed``, ``filter_not_allowed``, ``too_long``, ``render_failed``)."""
    try:
        templates.check(definition)
        problems = _measured(definition)
    except TemplateInvalid as invalid:
        problems = invalid.problems
    if problems:
        details = [
            {
                "loc": ["body", "locales", p.locale, *([p.field] if p.field else [])],
                "type": p.kind,
                "msg": p.message,
            }
            for p in problems
        ]
        raise Unprocessable(
            "The template cannot be saved: see details.", code="template_invalid", details=details
        )


def _measured(definition: TemplateDefinition) -> list[Problem]:
    """Each locale rendered for the sample customer, as an advertisement in Korea."""
    context = context_for(dict(SAMPLE_CUSTOMER), SampleOffer(), definition.sender)
    problems: list[Problem] = []
    for locale in definition.locales:
        try:
            templates.render(definition, locale=locale, context=context, time_zone=SAMPLE_ZONE)
        except MessageTooLong as long:
            problems.append(Problem(locale, long.field, str(long), "too_long"))
        except LiquidError as failed:
            message = f"does not render for the sample customer: {str(failed).splitlines()[0]}"
            problems.append(Problem(locale, "", message, "render_failed"))
    return problems


def _definition_json(definition: TemplateDefinition) -> dict[str, Any]:
    dumped: dict[str, Any] = definition.model_dump(mode="json", exclude_none=True)
    return dumped


def _shown(item: dict[str, Any]) -> Template:
    return Template(
        id=item["id"],
        version=int(item["version"]),
        **item["definition"],
        created_at=dt.datetime.fromisoformat(item["created_at"]),
        updated_at=dt.datetime.fromisoformat(item["updated_at"]),
    )


def create(library: Library, definition: TemplateDefinition, *, clock: Callable[[], dt.datetime]) -> Template:
    validate(definition)
    at = clock().isoformat()
    item = {
        "id": new_id("tpl"),
        "version": 1,
        "definition": _definition_json(definition),
        "created_at": at,
        "updated_at": at,
    }
    library.create(item)
    return _shown(item)


def change(
    library: Library,
    template_id: str,
    definition: TemplateDefinition,
    *,
    expected_version: int | None,
    clock: Callable[[], dt.datetime],
) -> Template:
    current = found(library, template_id)
    version = int(current["version"])
    if expected_version is not None and expected_version != version:
        raise PreconditionFailed(f"The template is at version {version}.", code="version_mismatch")
    validate(definition)
    item = {
        **current,
        "definition": _definition_json(definition),
        "version": version + 1,
        "updated_at": clock().isoformat(),
    }
    library.replace(item, expected=version)
    return _shown(item)


def get(library: Library, template_id: str) -> Template:
    return _shown(found(library, template_id))


def listed(library: Library, *, after: str | None, limit: int) -> tuple[list[Template], str | None]:
    items, last = library.page(after=after, limit=limit)
    return [_shown(item) for item in items], last


def version_of(library: Library, template_id: str, version: int) -> TemplateVersion:
    item = library.version(template_id, version)
    if item is None:
        raise NotFound("No such version of this template.", code="template_version_not_found")
    return TemplateVersion(
        id=template_id,
        version=version,
        **item["definition"],
        created_at=dt.datetime.fromisoformat(item["updated_at"]),  # when this version was saved
    )


def preview(
    library: Library, template_id: str, request: PreviewRequest, *, views: ViewStore, cards: CardSource
) -> Preview:
    """The template in force, rendered for the request's customer (``logic.previews``)."""
    item = found(library, template_id)
    return previews.preview(
        TemplateDefinition.model_validate(item["definition"]),
        request,
        template_id=template_id,
        version=int(item["version"]),
        views=views,
        cards=cards,
    )


def found(library: Library, template_id: str) -> dict[str, Any]:
    item = library.get(template_id)
    if item is None:
        raise NotFound("No such template.", code="template_not_found")
    return item
