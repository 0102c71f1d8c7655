"""The shipped register entry says what the software keeps, and for as long as its purges keep it:
a duration changed in the code without the register (or the other way round) fails here."""

from __future__ import annotations

from detection.retention import FLAGS_RETENTION_MONTHS
from outreach.retention import CALL_LINES_MONTHS, HISTORY_MONTHS, NOTES_MONTHS
from privacy import register, subjects
from privacy.retention import AUDIT_LOG_MONTHS, EXCHANGE_TRACE_MONTHS
from tests.conftest import CONFIG_DIR


def _shipped() -> register.RegisterEntryIn:
    [entry] = register.load_dir(CONFIG_DIR / "registre")
    return entry


def _duration_of(items: list[str], what: str) -> str:
    [item] = [item for item in items if item.lower().startswith(what)]
    return item


def test_each_retention_of_the_register_is_the_one_its_purge_applies() -> None:
    items = subjects.retention_items(_shipped().conservation)
    expected = {
        "résultats de la détection": f"{FLAGS_RETENTION_MONTHS} mois après la fin de l'exécution",
        "historique des campagnes": f"{HISTORY_MONTHS} mois après le lancement de la campagne",
        "notes libres des travailleurs sociaux": f"{NOTES_MONTHS} mois après le contact",
        "lignes des listes d'appels": f"{CALL_LINES_MONTHS} mois après leur création",
        "oppositions": (
            f"{subjects.MIN_OPPOSITION_MONTHS} à {subjects.MAX_OPPOSITION_MONTHS} mois après leur "
            f"enregistrement ({subjects.DEFAULT_OPPOSITION_MONTHS} mois par défaut)"
        ),
        "traces des échanges": f"{EXCHANGE_TRACE_MONTHS} mois après la fin de l'échange",
        "journal d'audit": f"{AUDIT_LOG_MONTHS} mois",
        "listes de contact": "12 mois au plus",  # an exchange's retention is at most 12 months
    }
    for what, duration in expected.items():
        assert duration in _duration_of(items, what), what
    # The campaign history keeps a copy of the detection's content (explanation, estimated amount).
    history = _duration_of(items, "historique des campagnes")
    assert "groupe témoin" in history and "montant estimé" in history and "explication" in history


def test_the_register_names_every_category_of_data_the_software_keeps() -> None:
    categories = " | ".join(_shipped().donnees)
    for held in (
        "Notes libres des travailleurs sociaux",
        "aucune donnée de santé",
        "droit ouvert et son montant mensuel",
        "groupe témoin",
        "Événements de vie",
        "recopié dans l'historique de chaque campagne",
    ):
        assert held in categories
