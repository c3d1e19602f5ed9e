"""Files a user gives the console (YAML, JSON): read with the line of every value kept, so a
mistake (in the file, or one the API finds in it) is reported as ``file:line: what``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from console.errors import ERROR, ConsoleError


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no types
    """YAML as the API reads JSON: a date or a time stays the text it is (the API parses it with
    its zone), never a Python ``datetime`` that JSON cannot carry."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    path: Path
    data: Any
    root: yaml.Node

    def line_of(self, loc: Sequence[Any]) -> int:
        """The line (1-based) of the value at ``loc`` (keys and indexes), or of its nearest parent.
        A step the file does not have (a validator's name for a union's member) is passed over."""
        node: yaml.Node = self.root
        for step in loc:
            found: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                found = next((v for k, v in node.value if getattr(k, "value", None) == str(step)), None)
            elif isinstance(node, yaml.SequenceNode) and str(step).isdigit():  # 1 or "1"
                found = node.value[int(step)] if int(step) < len(node.value) else None
            if found is not None:
                node = found
        return int(node.start_mark.line) + 1

    def mistake(self, exc: ConsoleError) -> ConsoleError:
        """The API's refusal of what this file holds (a request body with the file's keys), pointed
        at the line of the first value it refused."""
        for detail in exc.details:
            loc = [p for p in detail.get("loc", []) if p != "body"]
            if loc:
                exc.message = f"{self.path}:{self.line_of(loc)}: {exc.message}"
                return exc
        exc.message = f"{self.path}: {exc.message}"
        return exc


def read(path: Path) -> Document:
    """A YAML (or JSON) file; a missing file or a syntax error is exit 1 with ``file:line``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConsoleError(f"{path}: no such file", exit_code=ERROR, code="file_not_found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsoleError(f"{path}: {exc}", exit_code=ERROR, code="file_unreadable") from None
    try:
        root = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConsoleError(f"{where}: {exc.problem or exc.context}", code="invalid_yaml") from None
    except yaml.YAMLError as exc:
        raise ConsoleError(f"{path}: {exc}", code="invalid_yaml") from None
    if root is None:
        raise ConsoleError(f"{path}: the file is empty", code="invalid_yaml")
    return Document(path, data, root)


def mapping(document: Document, *required: str) -> dict[str, Any]:
    """The document as a mapping with these keys, or exit 1 naming the first missing one."""
    if not isinstance(document.data, dict):
        raise ConsoleError(f"{document.path}:1: expected a mapping (key: value)", code="invalid_document")
    for key in required:
        if key not in document.data:
            raise ConsoleError(f"{document.path}:1: `{key}` is missing", code="invalid_document")
    return dict(document.data)
