"""The README and the guides of docs/ stay true to the code: every `uptake …` command line they show
names a command that exists, with options that command has, and every relative link leads to a file
(and heading) of the repository.

The commands are checked against the Click objects of the `uptake` application, without running them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from functools import cache
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote

import pytest
import typer
from markdown_it import MarkdownIt
from markdown_it.token import Token
from typer._click.core import Command, Context
from typer.core import TyperGroup

from uptake.cli import app

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_MARKDOWN = MarkdownIt("commonmark").enable("table")
# What separates two commands on a shell line (pipes, lists, redirections, sub-shells).
_SHELL_OPERATOR = re.compile(r"^[|&;<>()]+$")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPTION = re.compile(r"^--?[A-Za-z]")
# `https:`, `mailto:`…: not a file of the repository.
_URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _tokens(markdown: str) -> Iterator[Token]:
    for token in _MARKDOWN.parse(markdown):
        yield token
        yield from token.children or ()


def _snippets(markdown: str) -> Iterator[str]:
    """The text of each code span, and each line of each code block (continuation lines joined)."""
    for token in _tokens(markdown):
        if token.type == "code_inline":
            yield token.content
        elif token.type in ("fence", "code_block"):
            yield from token.content.replace("\\\n", " ").splitlines()


def _words(snippet: str) -> list[str]:
    lexer = shlex.shlex(snippet, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def documented_commands(markdown: str) -> Iterator[list[str]]:
    """The words after `uptake` of each command line that the Markdown text shows in code."""
    for snippet in _snippets(markdown):
        segment: list[str] = []
        for word in [*_words(snippet), ";"]:
            if not _SHELL_OPERATOR.match(word):
                segment.append(word)
                continue
            # Leading `VAR=value` words set the environment of the command that follows them.
            while segment and _ENV_ASSIGNMENT.match(segment[0]):
                segment.pop(0)
            if segment and (segment[0] == "uptake" or segment[0].endswith("/bin/uptake")):
                yield segment[1:]
            segment = []


@cache
def _root() -> Command:
    return typer.main.get_command(app)


def _option_names(command: Command) -> set[str]:
    return {
        name
        for parameter in command.get_params(Context(command))
        for name in (*parameter.opts, *parameter.secondary_opts)
        if name.startswith("-")
    }


def command_problems(words: list[str]) -> list[str]:
    """What does not exist in the command line `uptake <words>`: a sub-command, or an option.

    Placeholders are values, never checked: `N`, `NOM`, `clé=valeur`, `…`; square brackets mark an
    optional part (`[--jours 90]`) and are ignored.
    """
    words = [word.strip("[]") for word in words]
    command, path = _root(), ["uptake"]
    position = 0
    while isinstance(command, TyperGroup) and position < len(words) and not words[position].startswith("-"):
        name = words[position]
        if name == "…":  # « uptake exchanges … »: some command of the group
            return []
        sub_command = command.get_command(Context(command), name)
        if sub_command is None:
            return [f"`{' '.join(path)}` has no command `{name}`"]
        command, path = sub_command, [*path, name]
        position += 1
    known = _option_names(command)
    return [
        f"`{' '.join(path)}` has no option `{word.split('=', 1)[0]}`"
        for word in words[position:]
        if _OPTION.match(word) and word.split("=", 1)[0] not in known
    ]


def problems_of_commands(markdown: str) -> list[str]:
    try:
        return [problem for words in documented_commands(markdown) for problem in command_problems(words)]
    except ValueError as exc:  # a quote left open: the line is no shell command anybody can copy
        return [f"unreadable command line ({exc})"]


def _walk(command: Command) -> Iterator[Command]:
    yield command
    if isinstance(command, TyperGroup):
        context = Context(command)
        for name in command.list_commands(context):
            sub_command = command.get_command(context, name)
            if sub_command is not None:
                yield from _walk(sub_command)


@cache
def _every_option() -> frozenset[str]:
    return frozenset(name for command in _walk(_root()) for name in _option_names(command))


def problems_of_lone_options(markdown: str) -> list[str]:
    """An option named on its own in the text (`--remplacer`) must be an option of some command."""
    return [
        f"no command has the option `{name}`"
        for token in _tokens(markdown)
        if token.type == "code_inline" and _OPTION.match(token.content)
        for name in [token.content.split()[0].split("=", 1)[0]]
        if name not in _every_option()
    ]


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces made hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors of the headings of a Markdown text (a repeated heading gets `-1`, `-2`…)."""
    found: set[str] = set()
    tokens = _MARKDOWN.parse(markdown)
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open":
            continue
        slug = _slug("".join(child.content for child in inline.children or ()))
        anchor, repeat = slug, 0
        while anchor in found:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        found.add(anchor)
    return found


def problems_of_links(markdown: str, document: Path) -> list[str]:
    problems = []
    for token in _tokens(markdown):
        target = token.attrGet("href") if token.type == "link_open" else token.attrGet("src")
        if not isinstance(target, str) or _URL.match(target) or target.startswith("//"):
            continue
        # markdown-it percent-encodes a link (`#les-r%C3%A9ponses`); the file and heading are plain text.
        path, _, fragment = unquote(target).partition("#")
        if not path:  # a heading of this same text
            if fragment not in anchors(markdown):
                problems.append(f"link to {target}: no such heading in {document.name}")
            continue
        linked = (document.parent / path).resolve()
        if not linked.exists():
            problems.append(f"link to {target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked.read_text("utf-8")):
            problems.append(f"link to {target}: no such heading in {linked.name}")
    return problems


def _name(document: Path) -> str:
    return str(document.relative_to(ROOT))


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_every_command_line_of_the_documentation_names_a_real_command_and_its_real_options(
    document: Path,
) -> None:
    markdown = document.read_text(encoding="utf-8")
    assert list(documented_commands(markdown)), "no `uptake` command found: is the parsing still right?"
    assert problems_of_commands(markdown) == []
    assert problems_of_lone_options(markdown) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=_name)
def test_every_relative_link_of_the_documentation_leads_to_a_file_and_heading_of_the_repository(
    document: Path,
) -> None:
    assert problems_of_links(document.read_text(encoding="utf-8"), document) == []


def test_the_readme_links_to_every_guide() -> None:
    readme = ROOT / "README.md"
    linked = {
        (readme.parent / str(token.attrGet("href"))).resolve()
        for token in _tokens(readme.read_text(encoding="utf-8"))
        if token.type == "link_open"
    }
    assert set(DOCUMENTS[1:]) <= linked


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("`uptake run --extrat extrait.parquet`", "`uptake run` has no option `--extrat`"),
        ("```sh\n.venv/bin/uptake shedule list\n```", "`uptake` has no command `shedule`"),
        (
            "| commande | rôle |\n|---|---|\n| `uptake users disable-dormant [--jour 90]` | comptes |",
            "`uptake users disable-dormant` has no option `--jour`",
        ),
        (
            "```sh\nprintf '%s' \"$X\" | .venv/bin/uptake users add ts1 --role dpo --pasword-stdin\n```",
            "`uptake users add` has no option `--pasword-stdin`",
        ),
        (
            "`uptake campaigns send action-2-2-non-recours --launch N --reprende`",
            "`uptake campaigns send` has no option `--reprende`",
        ),
        (
            '```sh\nuptake schedule add NOM --cron "0 6 * * *" --job purge \\\n  --parm flags_months=12\n```',
            "`uptake schedule add` has no option `--parm`",
        ),
        (
            "`uptake exchanges approve N --dpo …  --avis=…  -x`",
            "`uptake exchanges approve` has no option `-x`",
        ),
        ('`uptake audit verify --cle-publique "dpo.pem`', "unreadable command line (No closing quotation)"),
    ],
    ids=[
        "option",
        "group in a code block",
        "option in a table cell",
        "option after a pipe",
        "flag",
        "option on a continuation line",
        "short option",
        "quote left open",
    ],
)
def test_a_misspelt_command_or_option_in_the_documentation_is_caught(markdown: str, problem: str) -> None:
    assert problems_of_commands(markdown) == [problem]


@pytest.mark.parametrize(
    "markdown",
    [
        "`uptake exchanges approve N --dpo … --avis …`",
        '`uptake schedule add NOM --cron "30 7 * * 1-5" --job detection --param clé=valeur`',
        "`uptake users disable-dormant [--jours 90]`",
        "`uptake campaigns followup … --launch N`",
        "`uptake exchanges …`",
        "`uptake subjects oppose --matricule -`",
        "`uptake run -e extrait.parquet --out=sortie/`",
        "```sh\nprintf '%s' \"$SECRET\" | .venv/bin/uptake users add … --password-stdin  # l'accès\n```",
        "```sh\nUPTAKE_HOME=/tmp/x uptake check && uptake --help > aide.txt\n```",
    ],
)
def test_placeholders_and_the_shell_around_a_documented_command_are_understood(markdown: str) -> None:
    assert list(documented_commands(markdown))
    assert problems_of_commands(markdown) == []


def test_an_option_named_alone_in_the_text_must_be_an_option_of_some_command() -> None:
    markdown = "avec `--purger-sorties`, `--param smtp=HOTE:PORT` ou `-n`, mais pas `--purger-sortie`"
    assert problems_of_lone_options(markdown) == ["no command has the option `--purger-sortie`"]


def test_a_word_uptake_that_is_not_the_command_is_not_taken_for_it() -> None:
    markdown = "`createdb -O uptake uptake`, `uptake@<nom de la machine>`, `/srv/uptake/donnees`"
    assert list(documented_commands(markdown)) == []


def test_a_link_to_a_missing_file_or_heading_is_caught(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("# Guide\n\n## La purge : `uptake purge`\n", encoding="utf-8")
    document = tmp_path / "LISEZMOI.md"
    markdown = (
        "[bon](guide.md#la-purge--uptake-purge) [ici](#titre) [web](https://example.org/absent)\n\n"
        "# Titre\n\n[absent](absent.md) [ancre](guide.md#la-purge) [ailleurs](#autre-titre)"
    )
    assert problems_of_links(markdown, document) == [
        "link to absent.md: no such file",
        "link to guide.md#la-purge: no such heading in guide.md",
        "link to #autre-titre: no such heading in LISEZMOI.md",
    ]
