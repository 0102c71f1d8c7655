"""`uptake rules …` through the real command: check, test, explain, doc, and a clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

from rules.docs import setting_text

SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "catalogue"


def test_rules_check_lists_the_catalogue(cli) -> None:
    result = cli("rules", "check")
    assert result.code == 0, result.output
    assert "Catalogue valide : 7 règles" in result.stdout
    assert "ppa_non_recours" in result.stdout
    said = " ".join(result.stdout.split())
    assert "Aide au logement probablement non réclamée — signale en : métropole" in said
    assert "sans accompagnement social logement_non_decent (" in said  # a rule flagging everywhere: no note
    assert "110 cas de test réussis." in said


def test_rules_check_fails_when_a_rules_own_cases_fail_and_names_a_rule_without_any(
    cli, tmp_path: Path
) -> None:
    # A threshold of 0 months: the rule compiles, and would flag every tenant.
    catalogue = tmp_path / "catalogue"
    shutil.copytree(SHIPPED, catalogue)
    rule = catalogue / "impaye_locatif.yaml"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("mois_impayes_minimum: 2", "mois_impayes_minimum: 0"), encoding="utf-8")
    other = catalogue / "evenement_vie.yaml"
    other_text = other.read_text(encoding="utf-8")
    other.write_text(other_text[: other_text.index("\ncas:")] + "\n", encoding="utf-8")

    result = cli("rules", "check", "--catalogue", str(catalogue))

    said = " ".join(result.stdout.split())
    assert result.code == 1, result.output
    assert "cas de test en échec, règle(s) impaye_locatif" in said and "uptake rules test" in said
    assert "Attention : règle(s) sans cas de test : evenement_vie" in said


def test_rules_test_runs_every_case_and_succeeds(cli) -> None:
    result = cli("rules", "test")
    assert result.code == 0, result.output
    assert "0 en échec" in result.stdout


def test_rules_explain_shows_parameters_in_force_with_sources(cli) -> None:
    result = cli("rules", "explain", "al_non_recours", "--mois", "2024-11")
    assert result.code == 0, result.output
    assert (
        "al.plafond_loyer_seul = 1 : 329,71 €/mois ; 2 : 287,35 €/mois ; 3 : 269,32 €/mois" in result.stdout
    )
    assert "Arrêté du 27/09/2024" in result.stdout
    # Where it flags: the overseas scales are not among its parameters.
    said = " ".join(result.stdout.split())
    assert (
        "Territoires Ne signale pas les foyers de : Guadeloupe, Martinique, Guyane, La Réunion, Mayotte"
        in said
    )
    assert "Territoires" not in cli("rules", "explain", "impaye_locatif").stdout


def test_rules_explain_unknown_rule_is_a_french_error(cli) -> None:
    result = cli("rules", "explain", "ppa")
    assert result.code == 2
    assert "règle inconnue `ppa`" in result.output and "Traceback" not in result.output
    close = " ".join(cli("rules", "explain", "ppa_non_recour").output.split())
    assert "règle inconnue `ppa_non_recour` — vouliez-vous dire `ppa_non_recours` ?" in close


def test_rules_explain_month_without_parameters_is_a_french_error(cli) -> None:
    result = cli("rules", "explain", "ppa_non_recours", "--mois", "2019-01")
    assert result.code == 2
    assert "n'a pas de valeur en vigueur en 01/2019 (première valeur connue : depuis le 01/" in " ".join(
        result.output.split()
    )
    # Said alone, not after half of the rule printed as if all was well.
    assert "Conditions" not in result.output and "Prime d'activité" not in result.output


def test_rules_explain_gives_the_rules_settings_in_french(cli) -> None:
    said = cli("rules", "explain", "impaye_locatif", "--mois", "2024-06").stdout
    assert "réglage mois_impayes_minimum = 2" in said
    assert [setting_text(v) for v in (True, 0.5, 1200, "OPAH")] == ["oui", "0,5", "1 200", "OPAH"]


def test_rules_doc_writes_one_french_page_per_rule(cli, tmp_path: Path) -> None:
    out = tmp_path / "doc"
    result = cli("rules", "doc", "--out", str(out), "--mois", "2024-06")
    assert result.code == 0, result.output
    pages = sorted(p.name for p in out.glob("*.html"))
    assert len(pages) == 8 and "index.html" in pages
    page = (out / "rsa_non_recours.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "Décret n° 2024-396" in page
    # Where each rule flags, and where each parameter's values hold.
    assert "<h2>Territoires</h2>\n<p>Ne signale pas les foyers de : Mayotte (" in page
    assert "Valeurs valables en : métropole, Guadeloupe, Martinique, Guyane, La Réunion." in page
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "<td>1.2.0</td><td>métropole</td>" in index and "<td>partout</td>" in index


def test_rules_check_on_a_broken_catalogue_lists_positions_and_fails(cli, tmp_path: Path) -> None:
    (tmp_path / "essai.yaml").write_text(
        'id: essai\nversion: "1"\ntitre: Essai\nprestation: essai\naction: "2.2"\nbase_legale: [texte]\n'
        "lit: [loyer]\nconditions:\n  - loyr > 0\npriorite: 1\n",
        encoding="utf-8",
    )
    result = cli("rules", "check", "--catalogue", str(tmp_path))
    assert result.code == 2
    assert "essai.yaml:9:5: colonne inconnue `loyr` — vouliez-vous dire `loyer` ?" in result.output
    assert "Traceback" not in result.output


def test_an_error_on_line_100_keeps_its_position_readable(cli, tmp_path: Path) -> None:
    # Rich reads ":100:" as an emoji code: a position on line 100 came out as "essai.yaml💯5".
    (tmp_path / "essai.yaml").write_text(
        "# commentaire\n"
        * 91
        + 'id: essai\nversion: "1"\ntitre: Essai\nprestation: essai\naction: "2.2"\nbase_legale: [texte]\n'
        "lit: [loyer]\nconditions:\n  - loyr > 0\npriorite: 1\n",
        encoding="utf-8",
    )
    result = cli("rules", "check", "--catalogue", str(tmp_path))
    assert result.code == 2
    assert "essai.yaml:100:5: colonne inconnue `loyr`" in result.output


def test_explaining_a_month_to_come_says_its_values_are_those_known_today(cli) -> None:
    future = cli("rules", "explain", "ppa_non_recours", "--mois", "2099-01")
    assert future.code == 0
    assert "mois à venir : les valeurs sont les dernières connues aujourd'hui" in " ".join(
        future.stdout.split()
    )
    past = cli("rules", "explain", "ppa_non_recours", "--mois", "2024-11")
    assert "mois à venir" not in past.stdout


def test_in_another_territory_the_cases_naming_the_shipped_communes_are_said_to_be_written_elsewhere(
    cli, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(SHIPPED.parents[1] / "config", config)
    territory = config / "territoire.toml"
    text = territory.read_text(encoding="utf-8")
    # The shipped EPCI without Forcalquier (04088), where the shipped cases live.
    text = text.replace('# communes = ["04088", "04178"]', 'communes = ["04178", "04104", "04206", "04065"]')
    text = text.replace('commune = "04088"', 'commune = "04178"').replace(
        'communes = ["04088"]', 'communes = ["04178"]'
    )
    pig = ", ".join(f'"{code}"' for code in ("04065", "04087", "04101", "04104", "04106", "04130"))
    text = text.replace(pig, '"04065", "04104"').replace(
        ', "04138", "04141", "04151", "04164", "04178", "04206"', ""
    )
    territory.write_text(text, encoding="utf-8")

    result = cli("rules", "test", env={"UPTAKE_CONFIG": str(config)})
    said = " ".join(result.stdout.split())
    assert result.code == 1
    assert "la commune du cas (04088) n'est pas dans le territoire configuré" in said
    checked = " ".join(cli("rules", "check", env={"UPTAKE_CONFIG": str(config)}).stdout.split())
    assert "cas nomment une commune hors du territoire configuré" in checked and "UPTAKE_REGLES" in checked
