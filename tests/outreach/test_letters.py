"""Letters ready to print: one PDF for the batch, in order, nothing fetched, nothing misprinted."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from faker import Faker
from PIL import Image
from pypdf import PdfReader

from outreach import letters as letters_module
from outreach.letters import (
    BUILTIN_FONT,
    LetterNotLaidOut,
    amounts_kept_whole,
    installed_font,
    print_letters,
)

HEAD = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
    "<style>@page {{ size: A4; margin: 2cm; }} body {{ font-family: Arial, sans-serif; }}</style></head>"
)


def letter(name: str, *, pages: int = 1, title: str = "Courrier", extra: str = "") -> str:
    """A letter addressed to `name`; each page after the first says which page of the letter it is."""
    more = "".join(
        f'<div style="page-break-before: always"><p>Suite {n} du courrier de {name}</p></div>'
        for n in range(2, pages + 1)
    )
    return (
        f"{HEAD.format(title=title)}<body><p>{name}</p>{extra}<p>Objet : vos droits</p>{more}</body></html>"
    )


def page_texts(pdf: bytes | None) -> list[str]:
    assert pdf is not None
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture
def names() -> list[str]:
    fake = Faker("fr_FR")
    fake.seed_instance(20261129)
    return [fake.name() for _ in range(6)]


def _one_two_one_pages(names: list[str]) -> list[tuple[str, str]]:
    """Three letters: one page, two pages, one page."""
    return [("1.html", letter(names[0])), ("2.html", letter(names[1], pages=2)), ("3.html", letter(names[2]))]


def test_letters_print_in_order_each_from_a_new_page(names: list[str]) -> None:
    batch = _one_two_one_pages(names)

    printed = print_letters(batch, duplex=False)

    texts = page_texts(printed.pdf)
    assert printed.pages == len(texts) == 4
    assert names[0] in texts[0] and names[1] not in texts[0]
    assert names[1] in texts[1] and f"Suite 2 du courrier de {names[1]}" in texts[2]
    assert names[2] in texts[3] and names[1] not in texts[3]
    assert printed.left_out == ()


def test_printed_on_both_sides_no_letter_lands_on_the_back_of_another(names: list[str]) -> None:
    batch = _one_two_one_pages(names)

    texts = page_texts(print_letters(batch).pdf)

    assert len(texts) == 5
    assert names[0] in texts[0] and texts[1].strip() == ""
    assert names[1] in texts[2] and f"Suite 2 du courrier de {names[1]}" in texts[3]
    assert names[2] in texts[4]


def test_letters_of_different_templates_and_without_body_keep_their_order(names: list[str]) -> None:
    batch = [
        ("1.html", letter(names[0], title="Courrier A")),
        ("2.html", f"<p>{names[1]}</p>"),
        ("3.html", letter(names[2], title="Courrier B")),
        ("4.html", letter(names[3], title="Courrier A")),
    ]

    texts = page_texts(print_letters(batch, duplex=False).pdf)
    both_sides = page_texts(print_letters(batch).pdf)

    assert len(texts) == 4
    assert [next(n for n in names if n in text) for text in texts] == names[:4]
    # On both sides: each letter on an odd page, a blank page after each one-page letter.
    assert [next((n for n in names if n in text), "") for text in both_sides] == [
        names[0],
        "",
        names[1],
        "",
        names[2],
        "",
        names[3],
    ]


def test_large_batches_are_laid_out_in_parts_and_merged_in_order(
    names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(letters_module, "LETTERS_PER_PART", 2)
    # Laid out side by side (one process per core) as a department's batch is.
    monkeypatch.setattr(letters_module, "PARALLEL_FROM_LETTERS", 0)
    batch = [(f"{i}.html", letter(name)) for i, name in enumerate(names[:5])]

    printed = print_letters(batch)

    texts = page_texts(printed.pdf)
    assert printed.pages == 9  # parts of two one-page letters, each letter on an odd page
    assert [next((n for n in names if n in text), "") for text in texts] == [
        names[0],
        "",
        names[1],
        "",
        names[2],
        "",
        names[3],
        "",
        names[4],
    ]


@pytest.mark.skipif(installed_font() is BUILTIN_FONT, reason="no DejaVu Sans or Liberation Sans installed")
def test_names_beyond_western_european_characters_print_with_the_installed_font() -> None:
    name = "Łucja Dvořák"

    printed = print_letters([("1.html", letter(name))])

    assert printed.left_out == ()
    assert name in page_texts(printed.pdf)[0]


def test_a_letter_the_font_cannot_draw_is_left_out_and_named_not_misprinted(names: list[str]) -> None:
    amount = "Montant estimé : 1\u202f234\u00a0€ par mois"
    batch = [
        ("00001-a.html", letter(names[0], extra=f"<p>{amount}</p>")),
        ("00002-b.html", letter("Nguy\u1ec5n Văn An")),
        ("00003-c.html", letter(names[2])),
    ]

    printed = print_letters(batch, font=BUILTIN_FONT, duplex=False)

    texts = page_texts(printed.pdf)
    assert len(texts) == 2 and names[0] in texts[0] and names[2] in texts[1]
    # The narrow space of French amounts, absent from the built-in font, prints as a no-break space.
    assert "1 234" in texts[0].replace("\u00a0", " ")
    assert [(item.name, item.characters) for item in printed.left_out] == [
        ("00002-b.html", ("U+0103", "U+1EC5"))
    ]
    notice = printed.left_out_notice()
    assert "00002-b.html : caractères U+0103, U+1EC5" in notice and "HTML" in notice
    assert "Nguy" not in notice


def test_a_batch_where_no_letter_prints_gives_no_pdf() -> None:
    printed = print_letters([("1.html", letter("Nguy\u1ec5n"))], font=BUILTIN_FONT)

    assert printed.pdf is None and printed.pages == 0 and len(printed.left_out) == 1


class _Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listening_server() -> Iterator[str]:
    _Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _png(path: Path) -> Path:
    Image.new("RGB", (40, 20), "navy").save(path)
    return path


def _images(pdf: bytes | None) -> int:
    assert pdf is not None
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_letter_fetches_nothing_from_the_network_nor_files_outside_the_templates(
    names: list[str], listening_server: str, tmp_path: Path
) -> None:
    templates = tmp_path / "modeles"
    templates.mkdir()
    logo = _png(templates / "logo.png")
    outside = _png(tmp_path / "ailleurs.png")
    tracker = f'<img src="{listening_server}/pixel.png?nom={names[0].replace(" ", "+")}">'

    remote = print_letters([("1.html", letter(names[0], extra=tracker))], assets=templates)
    local = print_letters([("1.html", letter(names[0], extra=f'<img src="{outside}">'))], assets=templates)
    own = print_letters([("1.html", letter(names[0], extra=f'<img src="{logo}">'))], assets=templates)

    assert _Recorder.requests == []
    assert _images(remote.pdf) == 0 and _images(local.pdf) == 0
    assert _images(own.pdf) == 1


def test_layout_warnings_never_reach_the_logs_with_a_letters_text(
    names: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    broken = f'<p style="font-size: énorme">{names[0]}</p><img src="absente.png" alt="{names[1]}">'

    with caplog.at_level(logging.DEBUG):
        printed = print_letters([("1.html", letter(names[2], extra=broken))])

    assert printed.pages == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert all(name not in logged for name in names[:3])


def test_a_template_the_layout_engine_cannot_handle_is_refused_without_its_text(names: list[str]) -> None:
    nested = "<table><tr><td>" * 300 + names[0]

    with pytest.raises(LetterNotLaidOut) as refused:
        print_letters([("1.html", letter(names[1], extra=nested))])

    assert "modèle HTML du courrier" in str(refused.value)
    assert names[0] not in str(refused.value) and names[1] not in str(refused.value)


def test_a_part_laid_out_in_another_process_is_refused_once_without_its_text(
    names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three parts of two letters laid out side by side (one process per core); the third fails.
    monkeypatch.setattr(letters_module, "LETTERS_PER_PART", 2)
    monkeypatch.setattr(letters_module, "PARALLEL_FROM_LETTERS", 0)
    nested = "<table><tr><td>" * 300 + names[0]
    batch = [(f"{i}.html", letter(name)) for i, name in enumerate(names[1:5])]
    batch.append(("5.html", letter(names[5], extra=nested)))

    with pytest.raises(LetterNotLaidOut) as refused:
        print_letters(batch)

    message = str(refused.value)
    assert message.count("les courriers n'ont pas pu être mis en page") == 1
    assert all(name not in message for name in names[:6])


def test_a_font_installed_without_italics_prints_italics_upright(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not (dejavu / "DejaVuSans-Bold.ttf").is_file():
        pytest.skip("DejaVu Sans is not installed")
    for face in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        (tmp_path / face).write_bytes((dejavu / face).read_bytes())
    faces = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "italic": "DejaVuSans-Oblique.ttf"}
    monkeypatch.setattr(letters_module, "INSTALLED_FONTS", (("DejaVu Sans", tmp_path, faces),))

    font = installed_font()
    printed = print_letters([("1.html", letter("Łucja", extra="<p><em>Important</em></p>"))], font=font)

    assert font.files["italic"] == tmp_path / "DejaVuSans.ttf"
    assert "Łucja" in page_texts(printed.pdf)[0] and "Important" in page_texts(printed.pdf)[0]


@pytest.mark.parametrize(
    ("amount", "printed"),
    [
        ("1 048 €", "1 048 €"),  # an explanation's amount, written with ordinary spaces for SMS
        ("1\u202f048 €", "1 048 €"),  # the estimate's, with the narrow no-break space of French
        ("12 345 678,50 €", "12 345 678,50 €"),
    ],
)
@pytest.mark.parametrize("font", [installed_font(), BUILTIN_FONT], ids=lambda font: font.name.split()[0])
def test_no_line_of_a_letter_breaks_inside_an_amount(amount: str, printed: str, font) -> None:
    # The amount moves along the line one short word at a time, so that it reaches the line's end.
    batch = [
        (f"{words}.html", letter("Mme Testnom", extra=f"<p>{'ab ' * words}soit {amount} par mois.</p>"))
        for words in range(30, 62)
    ]

    texts = page_texts(print_letters(batch, font=font, duplex=False).pdf)

    lines = [[" ".join(line.split()) for line in text.splitlines()] for text in texts]
    assert len(lines) == len(batch)
    assert all(any(printed in line for line in page) for page in lines)
    # Some letters carried the amount to the start of the next line: it did reach the line's end.
    assert any(line.startswith(printed) for page in lines for line in page)


def test_the_html_letters_printed_from_a_browser_keep_their_amounts_whole_and_their_markup() -> None:
    page = (
        "<html><head><style>p { margin: 0 0 1 000px; }</style></head>"
        '<body><p title="1 048 €">Environ 1 048 € par mois, 12 345 678,50 € au plus.</p></body></html>'
    )
    kept = amounts_kept_whole(page)
    assert "Environ 1\u202f048\u00a0€ par mois, 12\u202f345\u202f678,50\u00a0€ au plus." in kept
    assert "<style>p { margin: 0 0 1 000px; }</style>" in kept and '<p title="1 048 €">' in kept
