"""``dangol templates``: message templates kept as files: a YAML file names the template, its
channel, purpose and sender, and per locale its content; a content value may come from a file
beside it (``html_file: welcome.ko.html`` puts that file's text in ``html``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from console import files, output
from console.client import Client, quote
from console.context import STATE, OutputOption, example, fmt
from console.errors import ConsoleError

app = typer.Typer(help="Message templates: from files, previewed for a customer.", no_args_is_help=True)
TemplateFile = Annotated[
    Path, typer.Option("--file", "-f", help="The template's YAML file", show_default=False)
]
COLUMNS = ("id", "name", "channel", "purpose", "version", "updated_at")
KEYS = ("name", "channel", "purpose", "sender", "opt_out", "locales", "default_locale")
RENDERED = (
    "locale",
    "channel",
    "sender",
    "subject",
    "title",
    "body",
    "text",
    "encoding",
    "length",
    "segments",
)


def _template(template_id: str) -> str:
    return f"/admin/templates/{quote(template_id)}"


def definition(path: Path) -> tuple[files.Document, dict[str, Any]]:
    """A template file: its document and the definition the API takes (``*_file`` values read)."""
    document = files.read(path)
    found = files.mapping(document, "name", "channel", "purpose", "locales")
    unknown = sorted(set(found) - set(KEYS))
    if unknown:
        line = document.line_of([unknown[0]])
        raise ConsoleError(
            f"{path}:{line}: unknown key `{unknown[0]}` ({', '.join(KEYS)})", code="invalid_document"
        )
    if not isinstance(found["locales"], dict):
        line = document.line_of(["locales"])
        raise ConsoleError(
            f"{path}:{line}: `locales` maps each locale to its content", code="invalid_document"
        )
    locales: dict[str, dict[str, str]] = {}
    for locale, content in found["locales"].items():
        if not isinstance(content, dict):
            raise ConsoleError(
                f"{path}:{document.line_of(['locales', locale])}: expected the locale's content",
                code="invalid_document",
            )
        locales[locale] = {}
        for key, value in content.items():
            if key.endswith("_file"):
                source = path.parent / str(value)
                try:
                    locales[locale][key.removesuffix("_file")] = source.read_text(encoding="utf-8")
                except OSError:
                    line = document.line_of(["locales", locale, key])
                    raise ConsoleError(
                        f"{path}:{line}: {source}: no such file", code="file_not_found"
                    ) from None
            else:
                locales[locale][key] = value
    return document, {**{k: v for k, v in found.items() if k != "locales"}, "locales": locales}


def by_name(client: Client, name: str) -> dict[str, Any] | None:
    return next((t for t in client.pages("/admin/templates") if t.get("name") == name), None)


def plan_file(client: Client, path: Path) -> tuple[str, str]:
    """What applying the file would do: (``create``, ``update`` or ``unchanged``, its name)."""
    _, body = definition(path)
    found = by_name(client, body["name"])
    if found is None:
        return "create", body["name"]
    held = client.get(_template(found["id"]))
    return ("unchanged" if all(held.get(k) == v for k, v in body.items()) else "update"), body["name"]


def apply_file(client: Client, path: Path) -> tuple[str, dict[str, Any]]:
    """Create or change the template a file defines (matched by name)."""
    document, body = definition(path)
    found = by_name(client, body["name"])
    try:
        if found is None:
            return "created", client.post("/admin/templates", body)
        held = client.get(_template(found["id"]))
        if all(held.get(k) == v for k, v in body.items()):
            return "unchanged", held
        return "updated", client.versioned("PUT", _template(found["id"]), body)
    except ConsoleError as exc:
        raise document.mistake(exc) from None


@app.command("list", epilog=example("dangol templates list"))
def list_templates(output_format: OutputOption = None) -> None:
    """The templates, newest first."""
    output.rows(STATE.client().pages("/admin/templates"), COLUMNS, fmt(output_format), title="templates")


@app.command(epilog=example("dangol templates apply -f templates/winback.yaml"))
def apply(file: TemplateFile) -> None:
    """Create the template the file defines, or change it to match (by name)."""
    what, template = apply_file(STATE.client(), file)
    output.done(
        f"{template['name']}: {what} (version {template['version']}, {template['id']})",
        fmt(None),
        {"result": what, **template},
    )


@app.command(
    epilog=example(
        "dangol templates preview tpl_01JD... --customer cus_01JF...",
        "dangol templates preview tpl_01JD... --locale en-US",
    )
)
def preview(
    template_id: Annotated[str, typer.Argument(help="The template (tpl_...)")],
    customer: Annotated[
        str | None, typer.Option(help="Render for this customer (default: the sample customer)")
    ] = None,
    locale: Annotated[
        list[str] | None, typer.Option(help="A locale (repeatable; default: each of the template's)")
    ] = None,
    output_format: OutputOption = None,
) -> None:
    """The message a customer would get, in each of the template's locales, on its channel."""
    client, chosen = STATE.client(), fmt(output_format)
    locales = locale or list(client.get(_template(template_id)).get("locales", {}))
    rendered = []
    for each in locales:
        body = {"locale": each, **({"customer_id": customer} if customer else {})}
        found = client.post(f"{_template(template_id)}/preview", body, idempotency_key=None)
        rendered.append({**found.get("message", found), "locale": found.get("locale", each)})
    output.rows(rendered, RENDERED, chosen, title=f"{template_id} for {customer or 'the sample customer'}")
