"""YAML reading that keeps positions, so that every error points into the file (line:column)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml


class LocatedStr(str):
    """A YAML string that remembers where its text starts in the file (1-based line and column)."""

    line: int
    column: int
    block: bool  # literal/folded block: the text starts on the line after the indicator

    __slots__ = ("block", "column", "line")


class LocatedDict(dict[str, Any]):
    """A YAML mapping that remembers where it starts in the file."""

    line: int = 1
    column: int = 1


class _Loader(yaml.SafeLoader):
    """Safe loader (no Python objects) whose strings and mappings carry their marks."""


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> LocatedStr:
    value = LocatedStr(loader.construct_scalar(node))
    quoted = node.style in ("'", '"')
    value.block = node.style in ("|", ">")
    value.line = node.start_mark.line + 1 + (1 if value.block else 0)
    value.column = node.start_mark.column + 1 + (1 if quoted else 0)
    if value.block:
        value.column = node.start_mark.column + 1
    return value


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LocatedDict]:
    data = LocatedDict()
    data.line, data.column = node.start_mark.line + 1, node.start_mark.column + 1
    yield data
    data.update(loader.construct_mapping(node))  # type: ignore[arg-type]  # keys may be ints (tables)


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def read_yaml(path: Path) -> Any:
    """The YAML document of `path`, with positions on strings and mappings."""
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def position(value: object, fallback: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Line and column of a loaded value, or `fallback` for values without a mark (numbers)."""
    line, column = getattr(value, "line", None), getattr(value, "column", None)
    if isinstance(line, int) and isinstance(column, int):
        return line, column
    return fallback


def expression_position(text: object, line: int, column: int, fallback: tuple[int, int]) -> tuple[int, int]:
    """Position in the file of (line, column) inside the expression `text` (both 1-based)."""
    start_line, start_column = position(text, fallback)
    if line == 1 and not getattr(text, "block", False):
        return start_line, start_column + column - 1
    if getattr(text, "block", False):
        return start_line + line - 1, start_column + column + 1
    return start_line + line - 1, column
