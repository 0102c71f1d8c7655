"""A letter's HTML file opened in a browser, or an e-mail in a mail client, fetches nothing from the
network and no link's address carries the household's data: `campaigns check` and every rendering
refuse such a template, naming its file and line."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from outreach.campaigns import Attempt, Campaign
from outreach.errors import TemplateRefused
from outreach.templates import Renderer, check_campaign, format_euros
from tests.outreach.factories import campaign_22, templates_dir

# Line 13 of the shipped letter: the injected line lands on line 13 of the variant.
ANCHOR = "<p>{{ expediteur }}</p>\n"
LINE = 13


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(templates_dir(), folder)
    return folder


def _letter(tmp_path: Path, injected: str) -> tuple[Path, Campaign]:
    """A copy of the templates whose letter `lettre` carries `injected` on line 13, and a campaign
    sending it as its only attempt."""
    folder = _folder(tmp_path)
    text = (folder / "2-2-courrier.html.j2").read_text(encoding="utf-8")
    assert text.count(ANCHOR) == 1
    (folder / "lettre.html.j2").write_text(text.replace(ANCHOR, ANCHOR + injected + "\n"), encoding="utf-8")
    attempt = Attempt(canal="courrier", modele="lettre", condition="toujours")
    return folder, replace(campaign_22(), tentatives=(attempt,))


def _email(tmp_path: Path, html: str = "", text: str = "") -> tuple[Path, Campaign]:
    """The shipped e-mail with a line added to its HTML part and to its text part."""
    folder = _folder(tmp_path)
    for kind, added in (("html", html), ("txt", text)):
        shipped = (folder / f"2-2-courriel.{kind}.j2").read_text(encoding="utf-8")
        (folder / f"message.{kind}.j2").write_text(shipped + added + "\n", encoding="utf-8")
    attempt = Attempt(canal="email", modele="message", condition="toujours")
    return folder, replace(campaign_22(), tentatives=(attempt,))


@pytest.mark.parametrize(
    "injected",
    [
        '<p><img src="http://127.0.0.1:8771/pixel.png?n={{ nom }}"></p>',
        '<img src="https://stats.example.org/p.gif">',
        '<img src="//stats.example.org/p.gif">',
        '<img src=" HTTPS://stats.example.org/p.gif">',
        '<img src="file:///srv/partage/logo.png">',
        '<img src="ftp://stats.example.org/p.gif">',
        '<img src="\\\\stats.example.org\\p.gif">',
        '<img srcset="logo.png 1x, https://stats.example.org/p.gif 2x">',
        '<table background="https://stats.example.org/fond.png"><tr><td>x</td></tr></table>',
        '<video poster="https://stats.example.org/v.png"></video>',
        '<object data="https://stats.example.org/o.svg"></object>',
        '<link rel="stylesheet" href="https://stats.example.org/s.css">',
        '<div style="background: url(https://stats.example.org/f.png)">x</div>',
        "<style>@import 'https://stats.example.org/s.css';</style>",
        "<style>p { background: \\75rl('//stats.example.org/f.png'); }</style>",
        '<img src="&#104;ttps://stats.example.org/p.gif">',
        '<meta http-equiv="refresh" content="0; url=https://stats.example.org/">',
        "<script>fetch('/x')</script>",
        '<img src="logo.png" onerror="fetch(1)">',
    ],
)
def test_campaigns_check_refuses_a_letter_that_would_fetch_from_the_network_with_its_line(
    tmp_path: Path, injected: str
) -> None:
    folder, campaign = _letter(tmp_path, injected)
    with pytest.raises(TemplateRefused) as refused:
        check_campaign(campaign, folder)
    said = str(refused.value)
    assert refused.value.template == str(folder / "lettre.html.j2")
    assert refused.value.line == LINE, said
    assert "réseau" in said


def test_a_letter_fetching_from_the_network_is_refused_before_any_rendering_even_as_a_later_attempt(
    tmp_path: Path,
) -> None:
    folder, campaign = _letter(tmp_path, '<img src="https://stats.example.org/p.gif?n={{ nom }}">')
    # The letter is the 4th attempt: a launch whose households all start by SMS is refused all the same.
    sequence = (
        *campaign_22().tentatives[:3],
        campaign_22().tentatives[3].model_copy(update={"modele": "lettre"}),
    )
    with pytest.raises(TemplateRefused) as refused:
        Renderer(folder, replace(campaign, tentatives=sequence))
    assert refused.value.line == LINE


def test_an_email_tracking_pixel_is_refused_by_campaigns_check(tmp_path: Path) -> None:
    folder, campaign = _email(tmp_path, html='<img src="https://stats.example.org/p.gif?n={{ nom }}">')
    with pytest.raises(TemplateRefused) as refused:
        check_campaign(campaign, folder)
    assert refused.value.template == str(folder / "message.html.j2")
    shipped_lines = (templates_dir() / "2-2-courriel.html.j2").read_text(encoding="utf-8").count("\n")
    assert refused.value.line == shipped_lines + 1


def test_an_address_built_while_rendering_is_refused_at_every_rendering_without_quoting_it(
    tmp_path: Path,
) -> None:
    # The source shows no address: only the rendering does.
    folder, campaign = _letter(
        tmp_path, "{{ ('<img src=\"ht' ~ 'tps://stats.example.org/?n=' ~ nom ~ '\">')|safe }}"
    )
    renderer = Renderer(folder, campaign)
    context = renderer.base_context(["ppa_non_recours"], first_contact=True)
    context.update(
        civilite="M.", nom="Hamelin", prenom="Louis", adresse="2 rue Haute", code_postal="04300",
        ville="Forcalquier", date="10 mars 2026", reference="Q-1-1", montant_estime=format_euros(80.0),
    )  # fmt: skip
    with pytest.raises(TemplateRefused) as refused:
        renderer.render(campaign.tentatives[0], context, first_contact=True)
    said = str(refused.value)
    assert "réseau" in said and refused.value.line == LINE
    assert "Hamelin" not in said


@pytest.mark.parametrize(
    "injected",
    [
        '<p><a href="https://www.caf.fr/allocataires">caf.fr</a></p>',
        '<p><a href="{{ lien }}">{{ lien }}</a></p>',
        '<p><a href="mailto:contact@caf.fr?subject={{ campagne }}">nous écrire</a></p>',
        '<p><img src="logo.png" alt="Caf"></p>',
        '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt=""></p>',
        '<p style="font-family: &quot;DejaVu Sans&quot;">https://www.caf.fr : voir le site</p>',
    ],
)
def test_a_link_to_a_fixed_address_or_the_campaign_link_and_a_local_image_are_accepted(
    tmp_path: Path, injected: str
) -> None:
    folder, campaign = _letter(tmp_path, injected)
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # a local image is one of the folder's
    assert check_campaign(campaign, folder)


@pytest.mark.parametrize(
    "injected",
    [
        '<p><a href="https://example.org/suivi?n={{ nom }}">vos droits</a></p>',
        '<p><a href="https://example.org/{{ reference }}/{{ lien }}">vos droits</a></p>',
        '<p><a href="https://example.org/?m={{ email|urlencode }}">vos droits</a></p>',
        '{% set qui = telephone %}<p><a href="https://example.org/?t={{ qui }}">vos droits</a></p>',
        "<p>Rendez-vous sur https://example.org/suivi?a={{ adresse }} pour en savoir plus</p>",
        "{{ ('<a href=\"https://example.org/?p=' ~ prenom ~ '\">ici</a>')|safe }}",
    ],
)
def test_a_link_carrying_the_households_data_is_refused(tmp_path: Path, injected: str) -> None:
    folder, campaign = _letter(tmp_path, injected)
    with pytest.raises(TemplateRefused) as refused:
        check_campaign(campaign, folder)
    said = str(refused.value)
    assert "lien" in said and "données du foyer" in said
    assert refused.value.line == LINE, said


def test_an_email_text_part_whose_address_carries_the_name_is_refused(tmp_path: Path) -> None:
    folder, campaign = _email(tmp_path, text="Suivi : https://example.org/s?n={{ prenom }}")
    with pytest.raises(TemplateRefused) as refused:
        check_campaign(campaign, folder)
    assert refused.value.template == str(folder / "message.txt.j2")
    assert "`prenom`" in str(refused.value)


@pytest.mark.parametrize(
    ("injected", "said"),
    [
        (
            '<img src="logo-caf974.png" alt="Caf">',
            "appelle « logo-caf974.png », absent du dossier des modèles",
        ),
        ('<img src="../../secret.png" alt="">', "appelle « ../../secret.png », hors du dossier des modèles"),
    ],
)
def test_a_letter_calling_an_image_missing_from_the_templates_folder_is_refused_with_its_line(
    tmp_path: Path, injected: str, said: str
) -> None:
    folder, campaign = _letter(tmp_path, injected)
    with pytest.raises(TemplateRefused) as refused:
        check_campaign(campaign, folder)
    assert said in str(refused.value) and refused.value.line == LINE
    assert "lacez le fichier dans le dossier des modèles" in str(refused.value)
    # Placed beside the templates, the image is taken.
    if "logo" in said:
        (folder / "logo-caf974.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        check_campaign(campaign, folder)
