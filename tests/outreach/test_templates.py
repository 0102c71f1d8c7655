"""The data team's texts: sandboxed, checked for the rights notice, STOP, amounts and SMS length."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from outreach.campaigns import Attempt, SmsSection
from outreach.errors import TemplateRefused
from outreach.templates import Renderer, rights_text_a
from tests.outreach.factories import campaign_22, templates_dir


def _renderer(tmp_path: Path, sms_text: str, max_segments: int = 2) -> tuple[Renderer, Attempt]:
    folder = tmp_path / "templates"
    folder.mkdir()
    for source in templates_dir().glob("mention-droits*.j2"):
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "sms.txt.j2").write_text(sms_text, encoding="utf-8")
    campaign = replace(campaign_22(), sms=SmsSection(max_segments=max_segments))
    return Renderer(folder, campaign), Attempt(canal="sms", modele="sms", condition="toujours")


def _sms(renderer: Renderer, attempt: Attempt) -> str:
    context = renderer.base_context(["ppa_non_recours"], first_contact=True)
    return renderer.render(attempt, context, first_contact=True).text


def test_shipped_sms_fits_in_two_gsm7_segments_with_stop_and_rights(tmp_path: Path) -> None:
    renderer = Renderer(templates_dir(), campaign_22())
    attempt = campaign_22().tentatives[0]
    for rules in (["ppa_non_recours"], ["ppa_non_recours", "rsa_non_recours", "al_non_recours"]):
        message = renderer.render(
            attempt, renderer.base_context(rules, first_contact=True), first_contact=True
        )
        assert message.sms is not None and message.sms.encoding == "GSM-7" and message.sms.segments <= 2
        assert "STOP" in message.text and "L.114-8" in message.text


def test_an_sms_that_needs_too_many_segments_is_refused_naming_the_template(tmp_path: Path) -> None:
    renderer, attempt = _renderer(tmp_path, "Caf : être bien informé 🙂 " * 3 + "{{ mention_droits_courte }}")
    with pytest.raises(TemplateRefused) as refused:
        _sms(renderer, attempt)
    assert "sms.txt.j2" in str(refused.value) and "UCS-2" in str(refused.value)
    assert "🙂" in str(refused.value)


def test_an_sms_may_not_use_the_amount(tmp_path: Path) -> None:
    renderer, attempt = _renderer(tmp_path, "Droit estimé {{ montant_estime }}. {{ mention_droits_courte }}")
    with pytest.raises(TemplateRefused, match=r"sms\.txt\.j2"):
        _sms(renderer, attempt)


def test_an_sms_with_a_written_amount_is_refused(tmp_path: Path) -> None:
    renderer, attempt = _renderer(
        tmp_path, "Vous pourriez toucher 150 € par mois. {{ mention_droits_courte }}"
    )
    with pytest.raises(TemplateRefused, match="montant"):
        _sms(renderer, attempt)


def test_an_sms_keeps_the_ordinary_spaces_of_its_numbers_and_stays_gsm7(tmp_path: Path) -> None:
    # Letters and web pages write `1 000` with no-break spaces; in an SMS one such space would make the
    # whole message UCS-2 (70 characters a part instead of 160).
    renderer, attempt = _renderer(
        tmp_path, "Caf : plus de 1 000 familles du territoire ont fait le point. {{ mention_droits_courte }}"
    )

    message = renderer.render(
        attempt, renderer.base_context(["ppa_non_recours"], first_contact=True), first_contact=True
    )

    assert "plus de 1 000 familles" in message.text
    assert "\u00a0" not in message.text and "\u202f" not in message.text
    assert message.sms is not None and message.sms.encoding == "GSM-7"


def test_an_sms_without_stop_is_refused(tmp_path: Path) -> None:
    renderer, attempt = _renderer(tmp_path, "Caf : faites le point sur caf.fr.")
    with pytest.raises(TemplateRefused, match="STOP"):
        _sms(renderer, attempt)


def test_a_first_contact_without_the_rights_notice_is_refused(tmp_path: Path) -> None:
    renderer, attempt = _renderer(tmp_path, "Caf : faites le point sur caf.fr. STOP au 36000")
    with pytest.raises(TemplateRefused, match=r"L\.114-8"):
        _sms(renderer, attempt)


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    renderer, attempt = _renderer(tmp_path, "{{ lien.__class__.__mro__[1].__subclasses__() }} STOP")
    with pytest.raises(TemplateRefused):
        _sms(renderer, attempt)


def test_rights_are_named_with_french_contractions() -> None:
    assert rights_text_a(["ppa_non_recours", "rsa_non_recours"]) == "à la prime d'activité et au RSA"


def test_a_template_syntax_error_is_told_in_french_with_its_file_and_line(tmp_path: Path) -> None:
    renderer, attempt = _renderer(
        tmp_path, "Caf : {{ prestations_a }}\nSTOP {{ mention_droits_courte }} {{ lien "
    )
    with pytest.raises(TemplateRefused) as refused:
        _sms(renderer, attempt)
    message = str(refused.value)
    assert message.startswith(f"modèle `{tmp_path / 'templates' / 'sms.txt.j2'}` refusé, ligne 2")
    assert "une expression {{ … }} n'est pas fermée, il manque }}" in message
    assert "TemplateSyntaxError" not in message and "expected" not in message and ".." not in message


def test_an_unknown_variable_is_told_with_its_line_and_the_variables_the_channel_gives(
    tmp_path: Path,
) -> None:
    renderer, attempt = _renderer(tmp_path, "Bonjour {{ prenom }},\nSTOP {{ mention_droits_courte }}")
    with pytest.raises(TemplateRefused) as refused:
        _sms(renderer, attempt)
    message = str(refused.value)
    assert "refusé, ligne 1 (« Bonjour {{ prenom }}, ») : variable « prenom » inconnue ici." in message
    assert "prestations_a, prestations_texte" in message and "lien" in message
    assert "nom" not in message.split("variables de ce canal")[1]  # an SMS is given no name
    assert "UndefinedError" not in message and "is undefined" not in message
