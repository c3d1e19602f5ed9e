"""What a read prints: a table for people (Rich: colours and widths that degrade to plain text
without a terminal), JSON or CSV for scripts (``--output json|csv``, never coloured, never cut)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


PIPE_WIDTH = 200  # a table written to a file or a pipe: as wide as it needs, up to this


def out() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def pick(item: Mapping[str, Any], path: str) -> Any:
    """``a.b.c`` out of nested objects (None where a step is missing)."""
    value: Any = item
    for step in path.split("."):
        value = value.get(step) if isinstance(value, Mapping) else None
    return value


def rows(
    items: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: Format, *, title: str | None = None
) -> int:
    """A list: one row per item, the columns given (dotted paths); returns how many."""
    items = list(items)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(items, ensure_ascii=False, indent=2) + "\n")
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for item in items:
            writer.writerow([cell(pick(item, c)) for c in columns])
    else:
        if title and items:
            out().print(f"[bold]{title}[/bold]")
        table = Table(header_style="bold")
        for column in columns:
            table.add_column(column.replace("_", " ").replace(".", " "))
        for item in items:
            table.add_row(*(cell(pick(item, c)) for c in columns))
        out().print(table if items else f"[dim]{title or 'nothing'}: none[/dim]")
    return len(items)


def record(item: Mapping[str, Any], fields: Sequence[str], fmt: Format, *, title: str | None = None) -> None:
    """One object: its fields as a two-column table, or the whole object as JSON, or one CSV row."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(item, ensure_ascii=False, indent=2) + "\n")
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(fields)
        writer.writerow([cell(pick(item, f)) for f in fields])
    else:
        if title:
            out().print(f"[bold]{title}[/bold]")
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        for name in fields:
            table.add_row(name.replace("_", " ").replace(".", " "), cell(pick(item, name)))
        out().print(table)


def done(message: str, fmt: Format, answer: Any = None) -> None:
    """What a change did: one line for people; the API's answer for scripts."""
    if fmt is Format.table:
        out().print(message)
    elif answer is not None:
        sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")
