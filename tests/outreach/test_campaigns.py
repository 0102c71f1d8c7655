"""Campaign files: the shipped ones are valid; a bad one is refused with its path, key and fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from outreach.campaigns import KnownNames, campaign_paths, find_campaign, load_campaign, reference_problems
from outreach.errors import CampaignInvalid, CampaignNotFound
from tests.conftest import CONFIG_DIR

SHIPPED = CONFIG_DIR / "campaigns" / "action-2-2-non-recours.toml"


def test_shipped_campaigns_are_valid_with_their_templates() -> None:
    names = [p.stem for p in campaign_paths(CONFIG_DIR)]
    assert names == ["action-2-2-non-recours", "action-7-1-logement"]
    c22 = find_campaign(CONFIG_DIR, "action-2-2-non-recours")
    assert [a.canal for a in c22.tentatives] == ["sms", "email", "appel", "courrier"]
    assert c22.tentatives[1].delai_jours == 7 and c22.temoin.part == 0.10
    c71 = find_campaign(CONFIG_DIR, "action-7-1-logement")
    assert c71.geographie.perimetres == ["OPAH", "PIG"]
    assert c22.courrier.recto_verso and c71.courrier.recto_verso  # letters safe to print on both sides


def test_letters_for_one_sided_printing_are_a_campaign_setting(tmp_path: Path) -> None:
    path = _variant(tmp_path, "[sms]", "[courrier]\nrecto_verso = false\n\n[sms]")
    assert not load_campaign(path).courrier.recto_verso
    wrong = _variant(tmp_path, "[sms]", '[courrier]\nrecto_verso = "oui"\n\n[sms]')
    with pytest.raises(CampaignInvalid) as refused:
        load_campaign(wrong)
    assert refused.value.key == "courrier.recto_verso" and "true ou false" in str(refused.value)


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "campagne.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("part = 0.10", "part = 1.5", "temoin.part"),
        ('canal = "sms"', 'canal = "pigeon"', "tentatives[1].canal"),  # counted from 1, like the data team
        ("max_segments = 2", "max_segmentz = 2", "sms.max_segmentz"),
        ("graine = 20240301", "", "temoin.graine"),
        ("heure_fin = 18:00:00", "heure_fin = 08:00:00", "fenetres"),
    ],
)
def test_a_bad_campaign_names_the_file_the_key_and_the_fix(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    path = _variant(tmp_path, old, new)
    with pytest.raises(CampaignInvalid) as refused:
        load_campaign(path)
    assert refused.value.path == str(path)
    assert refused.value.key == key
    assert refused.value.fix


def test_a_missing_template_is_refused(tmp_path: Path) -> None:
    path = _variant(tmp_path, 'modele = "2-2-courriel"', 'modele = "2-2-inexistant"')
    with pytest.raises(CampaignInvalid, match="2-2-inexistant"):
        load_campaign(path, CONFIG_DIR / "templates")


def test_an_unknown_campaign_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    shutil.copy(SHIPPED, tmp_path / "campaigns" / "ma-campagne.toml")
    with pytest.raises(CampaignNotFound, match="ma-campagne"):
        find_campaign(tmp_path, "autre")


RULES = frozenset({"ppa_non_recours", "rsa_non_recours", "al_non_recours", "impaye_locatif"})
REGISTER = frozenset({"CTG-FORCALQUIER-DROITS"})


@pytest.mark.parametrize(
    ("old", "new", "key", "said"),
    [
        ('"al_non_recours"]', '"al_non_recourss"]', "campagne.regles", "règle « al_non_recourss » absente"),
        (
            "exclure_accompagnes = [",
            'exclure_accompagnes = ["impaye_locatf", ',
            "selection.exclure_accompagnes",
            "règle « impaye_locatf » absente",
        ),
        (
            'registre = "CTG-FORCALQUIER-DROITS"',
            'registre = "CTG-FORCALQUIER-DROIT"',
            "campagne.registre",
            "fiche « CTG-FORCALQUIER-DROIT » absente du registre",
        ),
    ],
)
def test_a_campaign_naming_an_unknown_rule_or_register_entry_is_refused_with_the_closest_name(
    tmp_path: Path, old: str, new: str, key: str, said: str
) -> None:
    campaign = load_campaign(_variant(tmp_path, old, new))
    (refused,) = reference_problems(campaign, KnownNames(rule_ids=RULES, loaded_register=REGISTER))
    assert refused.key == key and said in str(refused)
    assert "la plus proche est" in str(refused) and str(campaign.path) in str(refused)


def test_a_register_entry_written_but_not_loaded_says_to_load_the_register() -> None:
    campaign = load_campaign(SHIPPED)
    known = KnownNames(rule_ids=RULES, loaded_register=frozenset(), written_register=REGISTER)
    (refused,) = reference_problems(campaign, known)
    assert "n'est pas chargée dans la base. Chargez le registre" in str(refused)


def test_a_register_entry_missing_because_the_register_folder_is_broken_points_to_the_folder() -> None:
    campaign = load_campaign(SHIPPED)
    broken = KnownNames(
        rule_ids=RULES, loaded_register=frozenset(), register_problem="fiche.toml : clé `traitement.finalite`"
    )
    (refused,) = reference_problems(campaign, broken)
    assert "dossier du registre ne se lit pas (fiche.toml : clé `traitement.finalite`)" in str(refused)
    assert "corrigez le nom" not in str(refused)
    (empty,) = reference_problems(campaign, KnownNames(rule_ids=RULES, loaded_register=frozenset()))
    assert "ucune fiche n'est écrite ni chargée" in str(empty) and "uptake register load" in str(empty)


def test_the_shipped_campaign_names_known_rules_and_register_entry() -> None:
    assert not reference_problems(
        load_campaign(SHIPPED), KnownNames(rule_ids=RULES, loaded_register=REGISTER)
    )


def test_a_campaign_whose_rules_all_leave_out_the_whole_territory_is_refused(tmp_path: Path) -> None:
    only_al = load_campaign(
        _variant(
            tmp_path,
            'regles = ["ppa_non_recours", "rsa_non_recours", "al_non_recours"]',
            'regles = ["al_non_recours"]',
        )
    )
    overseas = KnownNames(
        rule_ids=RULES, loaded_register=REGISTER, silent_rules=frozenset({"al_non_recours"})
    )

    (refused,) = reference_problems(only_al, overseas)

    assert refused.key == "campagne.regles"
    assert "aucune de ces règles ne signale de foyer du territoire (al_non_recours" in str(refused)
    assert "uptake rules explain" in str(refused)
    # With one rule that flags there, the campaign reaches someone: nothing to refuse.
    assert not reference_problems(load_campaign(SHIPPED), overseas)
