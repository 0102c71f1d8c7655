"""YAML reading that keeps positions, so that every error points into the file (line:column).

Strings remember the file position of each of their source lines, so that a position inside a
multi-line expression (a folded `>-` or literal `|` block) maps back to its line and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Segment = tuple[int, int, int]  # file line, file column, length of the text taken from that line


class LocatedStr(str):
    """A YAML string that remembers where each of its source lines sits in the file (1-based)."""

    line: int
    column: int
    segments: tuple[Segment, ...]

    __slots__ = ("column", "line", "segments")


class LocatedDict(dict[Any, Any]):
    """A YAML mapping that remembers where it starts in the file."""

    line: int = 1
    column: int = 1


class _Loader(yaml.CSafeLoader):
    """Safe loader (no Python objects) whose strings and mappings carry their marks.

    libyaml's loader: the pure-Python one took 90 % of the time of loading the catalogue (0.4 s,
    paid by every run). It keeps no copy of the text, so the text is kept beside it.
    """

    text = ""


def _segments(loader: _Loader, node: yaml.ScalarNode) -> tuple[Segment, ...]:
    start, end = node.start_mark, node.end_mark
    raw = loader.text[start.index : end.index]
    lines = raw.split("\n")
    segments: list[Segment] = []
    block = node.style in ("|", ">")
    quoted = node.style in ("'", '"')
    body = [text for text in lines[1:] if text.strip()]
    # More-indented lines of a block keep their extra spaces in the value.
    base = min((len(t) - len(t.lstrip()) for t in body), default=0) if block else None
    for offset, text in enumerate(lines):
        if block and offset == 0:
            continue  # the `|` or `>` indicator line
        stripped = text.strip()
        if not stripped:
            continue
        column = len(text) - len(text.lstrip()) + 1
        if base is not None:
            column, stripped = base + 1, text[base:].rstrip()
        if offset == 0:
            column = start.column + 1 + (1 if quoted else 0)
            stripped = stripped[1:] if quoted else stripped
        segments.append((start.line + 1 + offset, column, len(stripped)))
    return tuple(segments) or ((start.line + 1, start.column + 1, len(raw)),)


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> LocatedStr:
    value = LocatedStr(loader.construct_scalar(node))
    value.segments = _segments(loader, node)
    value.line, value.column = value.segments[0][0], value.segments[0][1]
    return value


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key written twice in one mapping: YAML would keep the last one without a word (a second
    `conditions:` block, a second `valeur:`), and the rule or the scale would silently change."""

    def __init__(self, key: str, first_line: int, mark: yaml.Mark) -> None:
        super().__init__(None, None, key, mark)
        self.key, self.first_line = key, first_line


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[LocatedDict]:
    data = LocatedDict()
    data.line, data.column = node.start_mark.line + 1, node.start_mark.column + 1
    yield data
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.value in seen:
                raise _DuplicateKey(key_node.value, seen[key_node.value], key_node.start_mark)
            seen[key_node.value] = key_node.start_mark.line + 1
    data.update(loader.construct_mapping(node))


class _ImpossibleDate(yaml.constructor.ConstructorError):
    """A date-shaped value that is no date (2024-13-01): YAML's own error is a bare ValueError."""


class _NotUtf8(yaml.MarkedYAMLError):
    """The file is not UTF-8 text."""


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        raise _ImpossibleDate(None, None, node.value, node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def read_yaml(path: Path) -> Any:
    """The YAML document of `path`, with positions on strings and mappings."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line, column = before.count(b"\n"), exc.start - (before.rfind(b"\n") + 1)
        raise _NotUtf8(problem_mark=yaml.Mark(str(path), exc.start, line, column, "", 0)) from None
    loader = _Loader(text)
    loader.text = text
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def yaml_problem(exc: yaml.MarkedYAMLError) -> tuple[int, int, str, str]:
    """Line, column, French message and hint for a YAML file that does not load."""
    mark = exc.problem_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    if isinstance(exc, _NotUtf8):
        return line, column, "fichier illisible : il n'est pas en UTF-8", "enregistrez-le en UTF-8"
    if isinstance(exc, _DuplicateKey):
        return (
            line,
            column,
            f"`{exc.key}` écrit deux fois au même niveau (déjà ligne {exc.first_line})",
            "gardez-en un seul : YAML ne garderait que le dernier, sans rien dire",
        )
    if isinstance(exc, _ImpossibleDate):
        return line, column, f"date impossible `{exc.problem}`", "écrivez une date qui existe, AAAA-MM-JJ"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return line, column, "YAML illisible : étiquette non permise", "retirez les `!!…` (objets Python)"
    if "tab" in str(exc.problem):  # "found a tab character that violates indentation", "found character '\t'"
        return line, column, "tabulation dans l'indentation", "YAML n'accepte que des espaces : remplacez-la"
    return line, column, "YAML illisible", "vérifiez l'indentation, les deux-points et les guillemets"


def position(value: object, fallback: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Line and column of a loaded value, or `fallback` for values without a mark (numbers)."""
    line, column = getattr(value, "line", None), getattr(value, "column", None)
    if isinstance(line, int) and isinstance(column, int):
        return line, column
    return fallback


def expression_position(text: object, line: int, column: int, fallback: tuple[int, int]) -> tuple[int, int]:
    """Position in the file of (line, column) inside the expression `text` (both 1-based)."""
    segments: tuple[Segment, ...] | None = getattr(text, "segments", None)
    if not segments or not isinstance(text, str):
        return fallback
    # Offset of the position in the value; folded and literal lines are joined by one character.
    offset = sum(len(part) + 1 for part in text.split("\n")[: line - 1]) + column - 1
    for file_line, file_column, length in segments:
        if offset <= length:
            return file_line, file_column + offset
        offset -= length + 1
    last_line, last_column, last_length = segments[-1]
    return last_line, last_column + last_length
