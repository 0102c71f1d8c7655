"""A mistake in a configuration file is told in French: where (line, column or key), what, how to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detection.errors import ConfigInvalid
from detection.territory import load_territory
from outreach.campaigns import load_campaign
from outreach.errors import CampaignInvalid
from privacy.errors import InputInvalid
from privacy.register import load_file

CONFIG = Path(__file__).resolve().parents[2] / "config"
ENGLISH = re.compile(r"Invalid|Expected|Unclosed|Unterminated|Input should|String should|Field required")


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    edited = tmp_path / source.name
    edited.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edited


@pytest.mark.parametrize(
    ("old", "new", "lines_after", "told"),
    [
        ('epci = "240400440"', 'epci = 240400440"', 0, "colonne 17 : une seule clé = valeur par ligne"),
        # The unclosed list is noticed at the next line that cannot be one of its items.
        ('epci = "240400440"', "epci = [240400440", 11, "colonne 1 : liste non fermée"),
        ('epci = "240400440"', 'epci = "240400440', 0, "colonne 18 : texte non fermé (guillemet"),
        ("[territoire]", "[territoire", 0, "colonne 12 : « ] » manquant à la fin du nom de section"),
        ('epci = "240400440"', "epci = oui", 0, "colonne 8 : valeur invalide"),
    ],
)
def test_a_toml_syntax_mistake_is_told_by_line_and_column_in_french(
    tmp_path: Path, old: str, new: str, lines_after: int, told: str
) -> None:
    path = _edited(tmp_path, CONFIG / "territoire.toml", old, new)
    line = path.read_text(encoding="utf-8").splitlines().index(new) + 1 + lines_after
    with pytest.raises(ConfigInvalid) as refused:
        load_territory(path)
    message = str(refused.value)
    assert f"{path} : ligne {line}, {told}" in message
    assert message.endswith("Corrigez la syntaxe TOML.")
    assert "clé `" not in message and not ENGLISH.search(message)


@pytest.mark.parametrize(
    ("old", "new", "told"),
    [
        (
            "part_communes = 0.3",
            'part_communes = "trente"',
            "clé `eloignement.part_communes` : un nombre est attendu",
        ),
        (
            "part_communes = 0.3",
            "part_communes = 1.5",
            "clé `eloignement.part_communes` : doit être au plus 1.0",
        ),
        (
            'epci = "240400440"',
            'epci = "240400440"\ncommune = "04088"',
            "clé `territoire.commune` : clé inconnue",
        ),
        (
            'type = "OPAH"',
            'type = "OPA"',
            "clé `perimetres n°1.type` : « OPA » n'est pas permis ; valeurs possibles : 'OPAH' ou 'PIG'",
        ),
    ],
)
def test_a_wrong_value_in_the_territory_is_told_by_key_in_french(
    tmp_path: Path, old: str, new: str, told: str
) -> None:
    path = _edited(tmp_path, CONFIG / "territoire.toml", old, new)
    with pytest.raises(ConfigInvalid) as refused:
        load_territory(path)
    assert told in str(refused.value)
    assert not ENGLISH.search(str(refused.value))


def test_a_wrong_value_in_a_campaign_is_told_by_key_in_french(tmp_path: Path) -> None:
    source = CONFIG / "campaigns" / "action-7-1-logement.toml"
    path = _edited(tmp_path, source, "tentatives_max_30_jours = 3", "tentatives_max_30_jours = 3.5")
    with pytest.raises(CampaignInvalid) as refused:
        load_campaign(path)
    message = str(refused.value)
    assert "clé `plafonds.tentatives_max_30_jours` : un nombre entier est attendu (sans décimales)" in message
    assert not ENGLISH.search(message)


def test_a_register_entry_missing_a_key_names_it_in_french(tmp_path: Path) -> None:
    source = CONFIG / "registre" / "information-proactive-droits.toml"
    text = source.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("base_legale = "))
    path = _edited(tmp_path, source, line + "\n", "")
    with pytest.raises(InputInvalid) as refused:
        load_file(path)
    message = str(refused.value)
    assert "clé `traitement.base_legale` : clé manquante." in message
    assert not ENGLISH.search(message)


def test_a_register_file_not_in_utf8_says_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "fiche.toml"
    path.write_bytes('[traitement]\nnom = "Caf d\'Alpes-de-Haute-Provence, activité"\n'.encode("latin-1"))
    with pytest.raises(InputInvalid) as refused:
        load_file(path)
    assert (
        str(refused.value) == f"{path} : fichier illisible : il n'est pas en UTF-8. Enregistrez-le en UTF-8."
    )
