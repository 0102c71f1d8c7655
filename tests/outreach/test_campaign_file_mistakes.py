"""Campaign-file mistakes that used to pass the check and break the launch (or select nobody) are
refused with the file, the key, what is wrong and how to fix it; attempts are counted from 1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outreach.campaigns import KnownNames, load_campaign, reference_problems
from outreach.errors import CampaignInvalid
from tests.conftest import CONFIG_DIR
from tests.outreach.factories import geography

SHIPPED = CONFIG_DIR / "campaigns" / "action-2-2-non-recours.toml"
REGISTER = "CTG-FORCALQUIER-DROITS"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "campagne.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _refused(path: Path) -> CampaignInvalid:
    with pytest.raises(CampaignInvalid) as refused:
        load_campaign(path)
    return refused.value


def test_an_unknown_time_zone_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    path = _variant(tmp_path, "[fenetres]\n", '[fenetres]\nfuseau = "Europe/Pariss"\n')
    refused = _refused(path)
    assert refused.key == "fenetres.fuseau"
    assert "fuseau horaire « Europe/Pariss » inconnu" in str(refused)
    assert "Vouliez-vous dire « Europe/Paris » ? Donnez un fuseau de la base IANA" in str(refused)


def test_an_unknown_holiday_calendar_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path = _variant(tmp_path, "[fenetres]\n", '[fenetres]\njours_feries = "alsace"\n')
    refused = _refused(path)
    assert refused.key == "fenetres.jours_feries"
    assert "calendrier des jours fériés « alsace » inconnu" in str(refused)
    assert "« alsace-moselle »" in str(refused) and "« reunion »" in str(refused)


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("heure_debut = 9", "fenetres.heure_debut"),
        ("heure_debut = 9.5", "fenetres.heure_debut"),
        ("heure_debut = true", "fenetres.heure_debut"),
    ],
)
def test_a_number_instead_of_a_time_is_refused_as_a_campaign_file_error(
    tmp_path: Path, written: str, key: str
) -> None:
    refused = _refused(_variant(tmp_path, "heure_debut = 09:00:00", written))
    assert refused.key == key
    assert "une heure est attendue, par exemple 09:00:00" in str(refused)
    assert refused.exit_code == 2


def test_a_time_with_an_offset_is_refused(tmp_path: Path) -> None:
    refused = _refused(_variant(tmp_path, "heure_fin = 18:00:00", 'heure_fin = "18:00:00+02:00"'))
    assert refused.key == "fenetres.heure_fin"
    assert "sans décalage horaire" in str(refused) and "fuseau" not in refused.problem


def test_a_minimum_distance_beyond_the_maximum_is_refused(tmp_path: Path) -> None:
    path = _variant(
        tmp_path, "[geographie]\n", "[geographie]\ndistance_min_km = 30.0\ndistance_max_km = 5.0\n"
    )
    refused = _refused(path)
    assert refused.key == "geographie"
    assert "`distance_min_km` (30) est plus grand que `distance_max_km` (5)" in str(refused)
    assert "inversez" in refused.fix


def test_attempts_are_numbered_from_one_in_errors(tmp_path: Path) -> None:
    refused = _refused(_variant(tmp_path, 'canal = "email"', 'canal = "mail"'))
    said = str(refused)
    assert refused.key == "tentatives[2].canal"
    assert re.search(r"tentative 2 : ligne \d+, clé `canal`", said) and "tentatives[1]" not in said


def test_a_first_attempt_with_a_delay_is_told_as_attempt_one(tmp_path: Path) -> None:
    path = _variant(
        tmp_path, 'delai_jours = 0\ncondition = "toujours"', 'delai_jours = 3\ncondition = "sans_resultat"'
    )
    refused = _refused(path)
    assert refused.key == "tentatives[1].delai_jours" and "tentative 1 : clé `delai_jours`" in str(refused)


def _known(**exchanges: str) -> KnownNames:
    geo = geography()
    return KnownNames(
        rule_ids=frozenset({"ppa_non_recours", "rsa_non_recours", "al_non_recours"}),
        loaded_register=frozenset({REGISTER}),
        communes=dict(geo.communes.select("code_commune", "nom").iter_rows()),
        perimeters=geo.perimeter_names(),
        exchanges={int(k.removeprefix("n")): v for k, v in exchanges.items()},
    )


def test_filters_that_can_select_nobody_are_all_reported(tmp_path: Path) -> None:
    path = _variant(
        tmp_path,
        "[geographie]\n",
        '[geographie]\ncommunes = ["04088", "04089"]\nperimetres = ["OPAH-RU"]\n',
    )
    text = path.read_text(encoding="utf-8").replace("# echange = 1", "echange = 42")
    path.write_text(text, encoding="utf-8")
    problems = reference_problems(load_campaign(path), _known(n1=REGISTER))
    said = [str(p) for p in problems]
    assert [p.key for p in problems] == ["geographie.communes", "geographie.perimetres", "campagne.echange"]
    assert "la commune « 04089 » n'est pas dans le territoire configuré" in said[0]
    assert "Vouliez-vous dire « 04088 » (Forcalquier) ?" in said[0] and "uptake territory" in said[0]
    assert "périmètre « OPAH-RU » inconnu" in said[1] and "Vouliez-vous dire « OPAH » ?" in said[1]
    assert "l'échange n°42 n'existe pas" in said[2] and "n°1" in said[2]


def test_a_holiday_calendar_other_than_the_territorys_is_reported() -> None:
    from dataclasses import replace

    from outreach.campaigns import territory_calendar

    moselle = replace(_known(), communes={"57463": "Metz", "57672": "Sarrebourg"})
    problems = reference_problems(load_campaign(SHIPPED), moselle)
    assert [p.key for p in problems] == ["fenetres.jours_feries"]
    assert "les communes du territoire suivent le calendrier « alsace-moselle »" in str(problems[0])
    assert 'Écrivez jours_feries = "alsace-moselle" dans la section [fenetres]' in str(problems[0])
    assert reference_problems(load_campaign(SHIPPED), _known()) == []  # Forcalquier: metropolitan
    assert territory_calendar(["97411", "97416"]) == "reunion"
    assert territory_calendar(["2A004", "67482"]) is None  # several calendars: nothing to say


def test_a_time_zone_other_than_the_territorys_is_reported() -> None:
    from dataclasses import replace

    reunion = replace(_known(), communes={"97411": "Saint-Denis", "97416": "Saint-Pierre"})
    problems = reference_problems(load_campaign(SHIPPED), reunion)  # written for Forcalquier
    assert [p.key for p in problems] == ["fenetres.fuseau", "fenetres.jours_feries"]
    assert (
        "fuseau « Europe/Paris », alors que les communes du territoire sont dans le fuseau Indian/Reunion"
        in (str(problems[0]))
    )
    assert "hors des heures permises" in str(problems[0])
    assert 'Écrivez fuseau = "Indian/Reunion" dans la section [fenetres]' in str(problems[0])


def test_a_campaign_keeps_the_caf_s_time_zone_and_its_holidays_unless_it_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    monkeypatch.setenv("UPTAKE_FUSEAU", "Indian/Reunion")
    campaign = load_campaign(SHIPPED)
    assert (campaign.fenetres.fuseau, campaign.fenetres.jours_feries) == ("Indian/Reunion", "reunion")
    reunion = replace(_known(), communes={"97411": "Saint-Denis"})
    assert reference_problems(campaign, reunion) == []
    written = _variant(
        tmp_path, "[fenetres]\n", '[fenetres]\nfuseau = "America/Cayenne"\njours_feries = "guyane"\n'
    )
    assert (load_campaign(written).fenetres.fuseau, load_campaign(written).fenetres.jours_feries) == (
        "America/Cayenne",
        "guyane",
    )
    monkeypatch.delenv("UPTAKE_FUSEAU")
    campaign = load_campaign(SHIPPED)
    assert (campaign.fenetres.fuseau, campaign.fenetres.jours_feries) == ("Europe/Paris", "metropole")


def test_an_exchange_of_another_register_entry_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, "# echange = 1", "echange = 3")
    problems = reference_problems(load_campaign(path), _known(n3="AUTRE-FICHE"))
    assert [p.key for p in problems] == ["campagne.echange"]
    assert "relève de la fiche « AUTRE-FICHE »" in str(problems[0])


def test_known_communes_perimeters_and_exchanges_pass(tmp_path: Path) -> None:
    path = _variant(tmp_path, "[geographie]\n", '[geographie]\ncommunes = ["04088"]\nperimetres = ["PIG"]\n')
    path.write_text(
        path.read_text(encoding="utf-8").replace("# echange = 1", "echange = 1"), encoding="utf-8"
    )
    assert reference_problems(load_campaign(path), _known(n1=REGISTER)) == []


def test_a_campaign_without_its_sender_is_refused_rather_than_signed_by_another_caf(tmp_path: Path) -> None:
    refused = _refused(_variant(tmp_path, 'expediteur = "Caf des Alpes-de-Haute-Provence"\n', ""))
    assert refused.key == "campagne.expediteur"
    assert "Alpes-de-Haute-Provence" not in str(refused)


def test_every_mistake_of_a_campaign_file_is_told_at_once_with_its_line(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'expediteur = "Caf des Alpes-de-Haute-Provence"\n', "")
    text = path.read_text(encoding="utf-8").replace("heure_debut = 09:00:00", "heure_debut = 9")
    path.write_text(text.replace('action = "2.2"', 'action = "2.3"'), encoding="utf-8")

    said = str(_refused(path))

    # Listed as the territory file lists its mistakes: counted, one per line.
    assert said.startswith(f"{path} : 3 problèmes :\n  – ") and said.count("\n  – ") == 3
    for key in ("campagne.expediteur", "fenetres.heure_debut", "campagne.action"):
        assert f"clé `{key}`" in said
    listed = said.split("\n  – ")[1:]
    # Each with its line (the missing key at its section's), in the file's order.
    lines = [int(one.split("ligne ")[1].split(",")[0]) for one in listed]
    assert lines == sorted(lines)
