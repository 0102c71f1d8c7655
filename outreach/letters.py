"""Letters ready to print: every household's letter, rendered from its HTML, in one PDF.

The campaign's letter templates are HTML (editable, and printable from a browser one by one); the
mail room needs one file that prints the whole batch in order, each letter starting on a new page.
xhtml2pdf lays the HTML out with reportlab, without any system library. Letters sharing a template
are laid out as one document, so the font is embedded once per part rather than once per letter.

A TrueType font with wide coverage is embedded when one is installed; otherwise the PDF falls back
on the built-in Helvetica, which knows only Western European characters. A letter holding a
character the font cannot draw (a name in Vietnamese, say) is left out of the PDF rather than
printed with a blank where a letter of the name should be, and named with the characters concerned:
its HTML file still prints from a browser.

No line of a letter breaks inside an amount (`1 048 €`): explanations are written with ordinary
spaces (for SMS), and reportlab breaks lines at the narrow no-break space U+202F as at any space.
Letters are laid out with U+00A0, the no-break space reportlab keeps whole.
"""

from __future__ import annotations

import html
import io
import itertools
import logging
import multiprocessing
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from outreach.errors import OutreachError
from rules.french import unbreakable_numbers

# The PDF libraries are imported where letters are laid out: they take half a second to import,
# which every command that merely names a letter file (attempts, reports) would pay.
if TYPE_CHECKING:
    from xhtml2pdf.config.resources import ResourceAccessPolicy

# xhtml2pdf warns about the CSS it ignores and may quote the surrounding text: a letter's text is
# personal data, which never goes to the logs.
logging.getLogger("xhtml2pdf").setLevel(logging.CRITICAL + 1)

log = logging.getLogger(__name__)

PDF_NAME = "courriers-a-imprimer.pdf"
LEFT_OUT_NAME = "courriers-hors-pdf.txt"
# Letters laid out per document: beyond a few hundred, xhtml2pdf holds a large story in memory.
LETTERS_PER_PART = 400
# From this many letters, parts are laid out side by side, one process per core (up to
# `MAX_LAYOUT_PROCESSES`): xhtml2pdf is pure Python (about 20 ms a letter) and a department's batch
# takes minutes on one core; below, starting the processes (a second or two) would cost more.
PARALLEL_FROM_LETTERS = 400
MAX_LAYOUT_PROCESSES = 8
# No-break spaces reportlab breaks lines at all the same (its list of white space holds them, whatever
# the font draws), replaced by the one it keeps whole. French amounts use the narrow one.
KEPT_WHOLE = {"\u202f": "\u00a0", "\u2007": "\u00a0"}
# A space a font may lack, replaced by the closest one it has.
SPACE_SUBSTITUTES = {"\u2009": " "}
# Fonts looked for, best coverage first (DejaVu draws Latin, Greek, Cyrillic and Vietnamese names).
INSTALLED_FONTS: tuple[tuple[str, Path, dict[str, str]], ...] = (
    (
        "DejaVu Sans",
        Path("/usr/share/fonts/truetype/dejavu"),
        {
            "normal": "DejaVuSans.ttf",
            "bold": "DejaVuSans-Bold.ttf",
            "italic": "DejaVuSans-Oblique.ttf",
            "bold_italic": "DejaVuSans-BoldOblique.ttf",
        },
    ),
    (
        "Liberation Sans",
        Path("/usr/share/fonts/truetype/liberation"),
        {
            "normal": "LiberationSans-Regular.ttf",
            "bold": "LiberationSans-Bold.ttf",
            "italic": "LiberationSans-Italic.ttf",
            "bold_italic": "LiberationSans-BoldItalic.ttf",
        },
    ),
)
_STYLES = {"normal": ("normal", "normal"), "bold": ("bold", "normal"), "italic": ("normal", "italic")}
_STYLES["bold_italic"] = ("bold", "italic")
_BODY = re.compile(r"<body\b[^>]*>(?P<body>.*)</body\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# What is not a letter's text: tags, comments, style sheets and scripts (a style's `100 200` is no
# amount).
_MARKUP = re.compile(r"(<(?:style|script)\b.*?</(?:style|script)\s*>|<!--.*?-->|<[^>]*>)", re.I | re.S)


class LetterNotLaidOut(OutreachError):
    """xhtml2pdf could not lay a letter template out: the template must change."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(
            f"les courriers n'ont pas pu être mis en page en PDF ({cause}) : vérifiez le modèle HTML "
            "du courrier (balises fermées, tableaux peu imbriqués) ; rien n'a été produit"
        )


@dataclass(frozen=True)
class LetterFont:
    """The font embedded in the PDF: TrueType files by style, or none for the built-in Helvetica."""

    name: str
    files: dict[str, Path] = field(default_factory=dict)

    @cached_property
    def _characters(self) -> frozenset[int] | None:
        if not self.files:
            return None
        from reportlab.pdfbase.ttfonts import TTFontFile

        return frozenset(TTFontFile(str(self.files["normal"])).charToGlyph)

    def draws(self, character: str) -> bool:
        """Whether the font has a glyph for `character`."""
        if self._characters is None:
            try:
                character.encode("cp1252")
            except UnicodeEncodeError:
                return False
            return True
        return ord(character) in self._characters

    def css(self) -> str:
        """The style that makes every letter use this font (appended after the template's own)."""
        if not self.files:
            return "body { font-family: Helvetica; }"
        faces = "".join(
            f'@font-face {{ font-family: "uptake-courrier"; font-weight: {weight}; font-style: {style}; '
            f'src: url("{self.files[name]}"); }}\n'
            for name, (weight, style) in _STYLES.items()
            if name in self.files
        )
        return faces + 'body { font-family: "uptake-courrier"; }'


BUILTIN_FONT = LetterFont("Helvetica (intégrée au PDF)")


def installed_font() -> LetterFont:
    """The first font of `INSTALLED_FONTS` with its regular and bold faces installed, else `BUILTIN_FONT`.

    Its italics are optional (Debian's fonts-dejavu-core has none): upright faces stand in for them.
    """
    for name, folder, files in INSTALLED_FONTS:
        paths = {style: folder / file for style, file in files.items() if (folder / file).is_file()}
        if "normal" in paths and "bold" in paths:
            paths.setdefault("italic", paths["normal"])
            paths.setdefault("bold_italic", paths["bold"])
            return LetterFont(name, paths)
    return BUILTIN_FONT


@dataclass(frozen=True)
class LeftOut:
    """A letter not in the PDF, by file name, with the characters the font cannot draw (U+XXXX)."""

    name: str
    characters: tuple[str, ...]


@dataclass(frozen=True)
class PrintedLetters:
    """The PDF of the printable letters (None when there is none), its pages, and the letters left out."""

    pdf: bytes | None
    pages: int
    font: str
    left_out: tuple[LeftOut, ...]

    def left_out_notice(self) -> str:
        """The French note put beside the PDF, naming each letter left out and why."""
        lines = [
            f"{len(self.left_out)} courrier(s) ne sont pas dans {PDF_NAME} : la police {self.font} ne sait "
            "pas imprimer certains de leurs caractères. Imprimez-les depuis leur fichier HTML "
            "(navigateur, Imprimer), ou installez la police DejaVu Sans (paquet Debian fonts-dejavu-core) "
            "et relancez la production des courriers.",
            "",
        ]
        lines += [f"{item.name} : caractères {', '.join(item.characters)}" for item in self.left_out]
        return "\n".join(lines) + "\n"


def print_letters(
    letters: Sequence[tuple[str, str]],
    *,
    assets: Path | None = None,
    font: LetterFont | None = None,
    duplex: bool = True,
) -> PrintedLetters:
    """Lay out `letters` (file name, HTML) in one PDF, in order, each starting on a new page.

    With `duplex`, each letter starts on an odd page (a blank page after a letter of odd length):
    printed on both sides, no letter ever lands on the back of another household's. The letters may
    use files under `assets` (the templates' folder: a logo, say) and nothing else: no other local
    file and nothing from the network, where an address could carry a household's details. Letters
    with characters the font cannot draw are left out and listed; `LetterNotLaidOut` when xhtml2pdf
    cannot lay a template out.
    """
    from pypdf import PdfReader, PdfWriter

    font = font or installed_font()
    printable: list[str] = []
    left_out: list[LeftOut] = []
    for name, page in letters:
        page = _as_laid_out(page, font)
        missing = _missing_characters(page, font)
        if missing:
            left_out.append(LeftOut(name, missing))
        else:
            printable.append(page)
    if left_out:
        log.warning("%d courrier(s) hors du PDF (police %s)", len(left_out), font.name)
    documents = list(_documents(printable, duplex=duplex))
    parts = _lay_out_parts(documents, font, assets, parallel=len(printable) >= PARALLEL_FROM_LETTERS)
    if not parts:
        return PrintedLetters(None, 0, font.name, tuple(left_out))
    writer = PdfWriter()
    for index, part in enumerate(parts):
        writer.append(PdfReader(io.BytesIO(part)))
        # The next part must start on an odd page too.
        if duplex and index < len(parts) - 1 and len(writer.pages) % 2:
            writer.add_blank_page()
    if len(parts) == 1:
        return PrintedLetters(parts[0], len(writer.pages), font.name, tuple(left_out))
    buffer = io.BytesIO()
    writer.write(buffer)
    return PrintedLetters(buffer.getvalue(), len(writer.pages), font.name, tuple(left_out))


def _missing_characters(page: str, font: LetterFont) -> tuple[str, ...]:
    """The characters of the letter's text that `font` cannot draw, as U+XXXX."""
    text = html.unescape(_TAG.sub(" ", page))
    return tuple(f"U+{ord(c):04X}" for c in sorted(set(text)) if not c.isspace() and not font.draws(c))


def amounts_kept_whole(page: str) -> str:
    """A letter's HTML with its text's amounts kept on one line (no-break spaces between digit groups
    and before « € »), its tags, styles and scripts untouched: the HTML files printed from a browser
    and the PDF alike."""
    parts = _MARKUP.split(page)
    return "".join(part if index % 2 else unbreakable_numbers(part) for index, part in enumerate(parts))


def _as_laid_out(page: str, font: LetterFont) -> str:
    """The letter's HTML as the PDF lays it out: its text's amounts kept on one line, and only spaces
    that reportlab and `font` handle."""
    page = amounts_kept_whole(page)
    for space, kept in KEPT_WHOLE.items():
        page = page.replace(space, kept)
    for space, substitute in SPACE_SUBSTITUTES.items():
        if space in page and not font.draws(space):
            page = page.replace(space, substitute)
    return page


def _documents(pages: Sequence[str], *, duplex: bool) -> Iterator[str]:
    """One HTML document per run of letters sharing a template, at most `LETTERS_PER_PART` each.

    The letters' bodies follow one another under the template's head, each after a page break (to
    the next odd page when `duplex`); a letter without a `<body>` is a document of its own.
    """
    separator = f'<div style="page-break-before: {"right" if duplex else "always"}"></div>'
    parsed = [_head_and_body(page) for page in pages]
    for head, group in itertools.groupby(parsed, key=lambda item: item[0] if item[1] is not None else None):
        items = list(group)
        if head is None:
            yield from (page for page, _ in items)
            continue
        for start in range(0, len(items), LETTERS_PER_PART):
            bodies = [body or "" for _, body in items[start : start + LETTERS_PER_PART]]
            joined = separator.join(bodies)
            yield f"{head}<body>{joined}</body></html>"


def _head_and_body(page: str) -> tuple[str, str | None]:
    match = _BODY.search(page)
    return (page[: match.start()], match.group("body")) if match else (page, None)


def _lay_out_parts(
    documents: list[str], font: LetterFont, assets: Path | None, *, parallel: bool
) -> list[bytes]:
    """The PDF of each document, in order; with `parallel`, laid out in several processes."""
    workers = min(len(documents), os.cpu_count() or 1, MAX_LAYOUT_PROCESSES) if parallel else 1
    if workers < 2:
        return [_lay_out_part(document, font, assets) for document in documents]
    # `spawn`, not `fork`: the caller may hold threads (a database pool, the scheduler) that a
    # forked child would inherit in an unknown state.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        laid_out = list(
            pool.map(_lay_out_or_cause, documents, [font] * len(documents), [assets] * len(documents))
        )
    for part in laid_out:
        if isinstance(part, str):
            raise LetterNotLaidOut(part)
    return [part for part in laid_out if isinstance(part, bytes)]


def _lay_out_or_cause(document: str, font: LetterFont, assets: Path | None) -> bytes | str:
    """A part's PDF, or why it could not be laid out (an exception's message would be wrapped twice
    on its way back from the process)."""
    try:
        return _lay_out_part(document, font, assets)
    except LetterNotLaidOut as refused:
        return refused.cause


def _lay_out_part(document: str, font: LetterFont, assets: Path | None) -> bytes:
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    roots = [path.parent for path in font.files.values()]
    policy = ResourceAccessPolicy(
        allow_remote=False,
        base_dir=assets or (roots[0] if roots else None),
        extra_roots=tuple(dict.fromkeys(roots)),
    )
    return _lay_out(document, font, policy)


def _lay_out(document: str, font: LetterFont, policy: ResourceAccessPolicy) -> bytes:
    from xhtml2pdf import pisa

    style = f"<style>\n{font.css()}\n</style>"
    if re.search(r"</head\s*>", document, re.IGNORECASE):
        document = re.sub(r"</head\s*>", lambda _: f"{style}</head>", document, count=1, flags=re.IGNORECASE)
    else:
        document = style + document
    buffer = io.BytesIO()
    try:
        status = pisa.CreatePDF(document, dest=buffer, encoding="utf-8", resource_policy=policy)
    # Any failure of the layout engine, told without its message, which may quote a letter.
    except Exception as exc:
        raise LetterNotLaidOut(f"erreur {type(exc).__name__} du moteur de mise en page") from None
    if status.err:
        raise LetterNotLaidOut(f"{status.err} erreur(s) de mise en page")
    return buffer.getvalue()
