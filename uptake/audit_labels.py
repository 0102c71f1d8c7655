"""What each operation of the audit log is, in the DPO's words.

The log stores short codes (`echange.approbation`), written by every package; the DPO reads them here,
on the journal page and in `uptake audit show`. An operation without a label is shown by its code.
"""

from __future__ import annotations

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
    "journal.elagage": "Entrées anciennes du journal d'audit retirées",
    "journal.export": "Export du journal d'audit",
    "journal.verification": "Vérification du journal d'audit",
    "opposition.enregistrement": "Opposition enregistrée",
    "personne.acces": "Réponse à une demande d'accès",
    "pseudonymisation.annuaire": "Pseudonymisation d'un annuaire de contacts",
    "pseudonymisation.extrait": "Pseudonymisation d'un extrait",
    "purge": "Purge (bilan)",
    "purge.drapeaux": "Drapeaux d'une exécution de détection supprimés",
    "purge.extrait": "Extrait archivé supprimé",
    "purge.historique_contacts": "Historique des contacts échu : notes effacées, anciennes lignes supprimées",
    "purge.sortie": "Fichier de contacts supprimé, sa clé détruite",
    "rapport.envoi": "Envoi du rapport des indicateurs par courriel",
    "rapport.indicateurs": "Rapport des indicateurs",
    "registre.chargement": "Chargement du registre des traitements",
    "sortie.ecriture": "Écriture d'un fichier de données personnelles",
}


def action_label(code: str) -> str:
    """The French label of an audit operation, or its code when it has none."""
    return ACTION_LABELS.get(code, code)
