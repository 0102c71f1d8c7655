"""What each operation of the audit log is, in the DPO's words.

The log stores short codes (`echange.approbation`), written by every package; the DPO reads them here,
on the journal page and in `uptake audit show`. An operation without a label is shown by its code.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from privacy.audit import ATTESTATION_ACTION
from uptake import french
from uptake.users import ROLE_LABELS

ACTION_LABELS: dict[str, str] = {
    "annuaire.import": "Import de l'annuaire des contacts (chiffré)",
    "annuaire.dechiffrement": "Déchiffrement de coordonnées",
    "annuaire.coordonnee_inutilisable": "Coordonnée écartée (courrier revenu)",
    "annuaire.rapprochement": "Rapprochement de coordonnées (réponses STOP, courriels en échec)",
    "campagne.lancement": "Lancement d'une campagne",
    "cles.rotation": "Rotation de la clé de pseudonymisation",
    "compte.creation": "Création d'un compte de l'application web",
    "compte.desactivation": "Compte de l'application désactivé",
    "compte.mot_de_passe": "Mot de passe d'un compte remplacé",
    "compte.reactivation": "Compte de l'application réactivé",
    "compte.secteurs": "Secteurs d'un travailleur social modifiés",
    "consultations.export": "Export du journal des consultations",
    "courriel.envoi": "Envoi de courriels",
    "courriel.envoi_interrompu": "Envoi de courriels interrompu",
    "courriel.abandon": "Courriels en attente abandonnés (ne partiront pas)",
    "courriel.envoi_externe": "Courriels en attente notés comme envoyés par un autre outil",
    "detection.execution": "Exécution de détection",
    "detection.rejet": "Extrait refusé",
    "echange.demande": "Demande d'échange de données",
    "echange.approbation": "Approbation d'un échange (signée)",
    "echange.refus": "Refus d'un échange",
    "echange.revocation": "Révocation d'un échange",
    "foyer.consultation": "Consultation de la fiche d'un foyer",
    "appel.resultat": "Résultat d'un appel saisi par un travailleur social",
    "journal.attestation": "Entrées non signées du journal attestées par le DPO, après examen",
    "journal.elagage": "Entrées anciennes du journal d'audit retirées",
    "journal.export": "Export du journal d'audit",
    "journal.verification": "Vérification du journal d'audit",
    "opposition.enregistrement": "Opposition enregistrée",
    "personne.acces": "Réponse à une demande d'accès",
    "pseudonymisation.annuaire": "Pseudonymisation d'un annuaire de contacts",
    "pseudonymisation.extrait": "Pseudonymisation d'un extrait",
    "purge": "Purge (bilan)",
    "questionnaire.saisie": "Questionnaire retourné saisi par un travailleur social",
    "questionnaires.import": "Import de questionnaires retournés",
    "purge.drapeaux": "Drapeaux d'une exécution de détection supprimés",
    "purge.extrait": "Extrait archivé supprimé",
    "purge.historique_contacts": "Historique des contacts échu : notes effacées, anciennes lignes supprimées",
    "purge.sortie": "Fichier de contacts supprimé, sa clé détruite",
    "rapport.envoi": "Envoi du rapport des indicateurs par courriel",
    "resultats.import": "Import de résultats de contacts (liste d'appels remplie, rapprochement)",
    "rapport.indicateurs": "Rapport des indicateurs",
    "registre.chargement": "Chargement du registre des traitements",
    "sortie.ecriture": "Écriture d'un fichier de données personnelles",
}


def action_label(code: str) -> str:
    """The French label of an audit operation, or its code when it has none."""
    return ACTION_LABELS.get(code, code)


# The keys of an entry's counts and details, as the DPO reads them. The log keeps the short ASCII
# keys (they are part of each entry's hash); only their display changes.
DETAIL_LABELS: dict[str, str] = {
    "ajoutees": "fiches ajoutées",
    "anterieures_au": "entrées antérieures au",
    "apres": "après",
    "avant": "avant",
    "campagne": "campagne",
    "champ": "champ",
    "champs": "champs",
    "champs_affiches": "champs affichés",
    "cles_detruites": "clés détruites",
    "coffre_rechiffres": "coordonnées rechiffrées",
    "coffre_supprimes": "coordonnées supprimées",
    "colonnes_ignorees": "colonnes ignorées",
    "configuration_sha256": "empreinte de la configuration (SHA-256)",
    "conservation_jusqu_au": "conservation jusqu'au",
    "conservation_mois": "durée de conservation (mois)",
    "contacts": "contacts",
    "contactes": "foyers contactés",
    "courriels": "courriels",
    "demandes": "demandes",
    "depose_le": "déposé le",
    "depuis_l_entree": "depuis l'entrée",
    "destinataires": "destinataires",
    "dossier": "dossier",
    "drapeaux": "drapeaux",
    "echange": "échange",
    "ecrits_depuis": "écrits depuis le dossier de données",
    "echanges": "échanges",
    "echanges_supprimes": "échanges supprimés",
    "empreinte_parametres": "empreinte des paramètres",
    "enregistrements": "enregistrements",
    "entree": "entrée",
    "entrees": "entrées",
    "entrees_journal": "entrées du journal",
    "entrees_supprimees": "entrées supprimées",
    "envoyes": "envoyés",
    "exclus": "foyers exclus",
    "execution": "exécution",
    "expire_le": "expire le",
    "extrait_sha256": "empreinte de l'extrait (SHA-256)",
    "fiches": "fiches",
    "fichiers": "fichiers",
    "fichiers_laisses": "fichiers laissés (écrits par un autre dossier de données)",
    "fichiers_supprimes": "fichiers supprimés",
    "finalite": "finalité",
    "finalites": "finalités",
    "forcee": "relance forcée",
    "foyers": "foyers",
    "foyers_des_campagnes": "foyers des campagnes",
    "foyers_des_sorties": "foyers des sorties",
    "foyers_examines": "foyers examinés",
    "graine": "graine du tirage des témoins",
    "historique_mois": "historique conservé (mois)",
    "hors_territoire": "foyers hors du territoire",
    "incident": "incident",
    "intact": "chaîne intacte",
    "jusqu_a_l_entree": "jusqu'à l'entrée",
    "jusqu_au": "jusqu'au",
    "lancements": "lancements",
    "libelle": "libellé",
    "ligne": "ligne",
    "lignes": "lignes",
    "lignes_appel": "lignes des listes d'appel",
    "lignes_appel_mois": "lignes d'appel conservées (mois)",
    "listes_d_appel": "listes d'appel",
    "modifiees": "fiches modifiées",
    "mot_de_passe_provisoire": "mot de passe provisoire",
    "motif": "motif",
    "note": "note",
    "notes": "notes",
    "notes_mois": "notes conservées (mois)",
    "operation": "opération",
    "oppositions": "oppositions",
    "par": "par",
    "part_temoin": "part de témoins",
    "points_de_controle": "points de contrôle signés",
    "prepares": "préparés",
    "problemes": "problèmes",
    "questionnaires": "questionnaires",
    "refuses": "adresses refusées",
    "regles": "règles",
    "registre": "registre",
    "rejetes": "rejetés",
    "remplaces": "remplacés",
    "reponses_questionnaires": "réponses aux questionnaires",
    "repris_ailleurs": "repris par un autre envoi",
    "resultat": "résultat",
    "resultats": "résultats",
    "retirees": "fiches retirées",
    "role": "rôle",
    "secteurs": "secteurs",
    "serveur": "serveur",
    "seuil_secret": "seuil du secret statistique",
    "signales": "foyers signalés",
    "sorties": "sorties",
    "source": "source",
    "stockes": "stockés",
    "supprimes": "supprimés",
    "temoins": "témoins",
    "tentative": "tentative",
    "termine_le": "terminée le",
    "territoire": "territoire",
    "trouves": "trouvés",
    "valeurs": "valeurs",
    "valeurs_invalides": "valeurs invalides",
    "valeurs_trouvees": "valeurs trouvées",
}

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def detail_label(key: str) -> str:
    """The French label of a count or detail key, or the key with spaces when it has none."""
    return DETAIL_LABELS.get(key, key.replace("_", " "))


def entry_pairs(stored: str | None) -> list[tuple[str, str]]:
    """An entry's counts or details (stored as JSON) as (label, value) pairs to show: keys in the
    DPO's words, numbers the French way, days stored as `2027-05-30` as `30/05/2027`, a role by its
    name, what a change replaced (`avant`) before what it put instead."""
    # The log stores keys sorted, which puts « apres » before « avant ».
    pairs = sorted(french.stored_pairs(stored), key=lambda pair: pair[0] != "avant")
    return [(detail_label(key), _value_shown(key, value)) for key, value in pairs]


def _value_shown(key: str, value: str) -> str:
    if key == "role":
        return ROLE_LABELS.get(value, value)
    return _french_day(value) if _ISO_DAY.fullmatch(value) else value


def _french_day(iso: str) -> str:
    try:
        return f"{dt.date.fromisoformat(iso):%d/%m/%Y}"
    except ValueError:
        return iso


# Where an attestation entry keeps the first and last entries it covers.
_RANGE_KEYS = ("depuis_l_entree", "jusqu_a_l_entree")


def attested_range(action: str, details: str | None) -> str | None:
    """What an attestation entry covers, « entrées n° 2 à 4 (3 entrées) »; None for any other entry,
    or for one whose details do not hold a range (written around uptake under that code)."""
    if action != ATTESTATION_ACTION:
        return None
    try:
        said = json.loads(details or "{}")
    except ValueError:
        return None
    first, last = (said.get(key) if isinstance(said, dict) else None for key in _RANGE_KEYS)
    if not (type(first) is int and type(last) is int and 0 < first <= last):
        return None
    entries = last - first + 1
    return (
        f"entrées n° {french.count(first)} à {french.count(last)} "
        f"({french.count(entries)} entrée{'s' if entries > 1 else ''})"
    )
