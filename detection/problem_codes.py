"""Every code an extract's refusal can carry, with a short French description.

The codes are stable: the data team reads them in the validation report and in the import records,
and docs/extraits.md explains each one (a test keeps the document and this mapping in step). The
problems check their code against this mapping when they are built (a few per file, never per row),
so that a code cannot be emitted without being declared here and documented.
"""

from __future__ import annotations

from detection.errors import DetectionError

PROBLEM_CODES: dict[str, str] = {
    # The file cannot be read as an extract: refused before any column is looked at.
    "fichier_introuvable": "le fichier n'existe pas",
    "fichier_repertoire": "le chemin désigne un dossier",
    "fichier_illisible": "le fichier ne peut pas être lu (droits)",
    "fichier_vide": "le fichier est vide",
    "fichier_compresse": "le fichier est une archive compressée",
    "format_inconnu": "ni Parquet ni CSV texte",
    "parquet_invalide": "extension .parquet sans être un fichier Parquet",
    "parquet_illisible": "fichier Parquet incomplet ou corrompu",
    "encodage_invalide": "CSV qui n'est pas en UTF-8",
    "fichier_tronque": "CSV dont la dernière ligne est incomplète",
    "separateur_invalide": "CSV séparé par des tabulations",
    "entete_absente": "CSV sans ligne d'en-tête",
    "colonne_dupliquee": "colonne présente deux fois",
    "lecture_impossible": "fichier mal formé découvert en le lisant",
    # The file's kind or its columns.
    "annuaire_des_contacts": "l'annuaire des contacts donné à la place de l'extrait",
    "extrait_brut": "extrait brut, pas encore pseudonymisé",
    "champs_manquants": "lignes CSV avec moins de champs que l'en-tête",
    "aucune_ligne": "aucun foyer dans le fichier",
    "colonne_manquante": "colonne obligatoire absente",
    "colonne_mal_nommee": "colonne du contrat écrite autrement",
    "colonnes_mal_nommees": "plus de trois colonnes du contrat écrites autrement",
    "identifiant_direct": "colonne nommée comme un identifiant direct",
    "type_incorrect": "colonne d'un type qui ne peut pas porter la valeur attendue",
    # The rows.
    "valeur_illisible": "cellules qui ne sont pas du type de la colonne",
    "valeur_manquante": "cellules vides dans une colonne obligatoire",
    "hors_bornes": "valeurs hors des bornes du contrat",
    "valeur_inconnue": "valeurs hors de la liste permise",
    "id_foyer_invalide": "pseudonymes mal formés",
    "id_foyer_duplique": "pseudonymes en double",
    "commune_inconnue": "codes commune absents du référentiel",
    "date_trop_ancienne": "dates antérieures à 1900 (année sur 2 chiffres)",
    "mois_reference_futur": "mois de référence postérieur au mois en cours",
    "mois_pas_premier_jour": "mois de référence qui n'est pas un premier du mois",
    "mois_reference_multiples": "plusieurs mois de référence dans le fichier",
    "enfants_moins_3_ans_excedent": "plus d'enfants de moins de 3 ans que d'enfants",
    "revenus_conjoint_hors_couple": "revenus du conjoint sans couple",
    "loyer_hors_location": "loyer sans location",
    "montant_sans_versement": "montant versé alors que la prestation ne l'est pas",
    "date_evenement_manquante": "événement de vie sans date",
    "date_evenement_posterieure": "événement de vie postérieur au mois de référence",
    "valeur_sans_entete": "valeurs sous une colonne sans nom",
    "valeurs_nir": "valeurs ressemblant à un NIR",
    "valeurs_telephone": "valeurs ressemblant à un numéro de téléphone",
    "valeurs_email": "valeurs ressemblant à une adresse e-mail",
    # The whole extract against the territory (decided by the detection run).
    "hors_territoire": "aucun foyer n'habite le territoire",
}


class UndeclaredProblemCode(DetectionError):
    """A problem was built with a code missing from `PROBLEM_CODES`: a mistake in the code, not in the
    file, found by the tests before it reaches a user."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"code de problème « {code} » non déclaré : ajoutez-le à detection/problem_codes.py et "
            "décrivez-le dans docs/extraits.md"
        )


def declared(code: str) -> str:
    """`code`, once checked to be declared in `PROBLEM_CODES`; `UndeclaredProblemCode` otherwise."""
    if code not in PROBLEM_CODES:
        raise UndeclaredProblemCode(code)
    return code
