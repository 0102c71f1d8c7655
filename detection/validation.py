"""Validate a household extract against contract v1, as a whole: every problem, or a typed lazy extract.

The checks are polars expressions computed together: one pass over the file counts the offending rows of
every check, and a second pass, only when something failed, fetches the first offending row numbers.
Row numbers are the data rows counted from 1, the header line not counted (a spreadsheet shows row
number + 1). No message ever quotes a value of the file: only column names and counts.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from detection.contract import (
    COLUMNS_BY_NAME,
    DIRECT_IDENTIFIER_NAMES,
    HOUSEHOLD_COLUMNS,
    ID_FOYER_PATTERN,
    RAW_IDENTIFIER,
    Column,
    contract_name_of,
    normalised_name,
)
from detection.errors import DetectionError
from detection.problem_codes import declared
from detection.reading import (
    FIRST_ROWS,
    INTEGER_TYPES,
    Conversion,
    ExtractUnreadable,
    FileIdentity,
    SourceFile,
    convert,
    file_identity,
    is_text,
    open_extract,
    sha256_of,
    unnamed_column,
)
from detection.reference import CommuneReference, load_reference
from privacy.canonical import caf_day
from privacy.directory import PSEUDONYM_COLUMN, REQUIRED_FIELDS

_ROW = "__ligne"

# Shapes of direct identifiers, searched inside text cells (bounded by anything but a letter or digit).
_BEFORE, _AFTER = "(?:^|[^0-9A-Za-z])", "(?:$|[^0-9A-Za-z])"
IDENTIFIER_SHAPES: dict[str, tuple[str, str]] = {
    "valeurs_nir": (
        _BEFORE + r"[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3}(?: ?[0-9]{2})?" + _AFTER,
        "valeurs ressemblant à un numéro de sécurité sociale (NIR)",
    ),
    "valeurs_telephone": (
        _BEFORE + r"(?:\+33 ?|0033 ?|0)[1-9](?:[ .-]?[0-9]{2}){4}" + _AFTER,
        "valeurs ressemblant à un numéro de téléphone",
    ),
    "valeurs_email": (
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        "valeurs ressemblant à une adresse e-mail",
    ),
}

_UNREADABLE_MESSAGES = {
    "int": "valeurs qui ne sont pas des nombres entiers",
    "float": "valeurs qui ne sont pas des nombres (séparateur décimal : point ou virgule)",
    "bool": "valeurs qui ne sont pas des booléens (true/false, 1/0 ou oui/non)",
    "date": "valeurs qui ne sont pas des dates (AAAA-MM-JJ ou JJ/MM/AAAA)",
}
_KIND_LABELS = {
    "string": "texte",
    "enum": "texte",
    "int": "nombre entier",
    "float": "nombre",
    "bool": "booléen",
    "date": "date",
}
# A phone number read as a number is at least 1e8 (a NIR 1e12): no amount, age or count is that large.
_IMPLAUSIBLE_NUMBER = 1e8
_EARLIEST_DATE = dt.date(1900, 1, 1)
_PAID = {"montant_ppa": "percoit_ppa", "montant_rsa": "percoit_rsa", "montant_al": "percoit_al"}


@dataclass(frozen=True)
class Problem:
    """One way the file breaks the contract: the column ("" for the whole file), a stable code, a French
    label, how many rows (0 when it concerns the file or the column as a whole) and the first of them."""

    column: str
    code: str
    message: str
    rows: int
    first_rows: tuple[int, ...]

    def __post_init__(self) -> None:
        declared(self.code)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy (for the import record)."""
        return {
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "rows": self.rows,
            "first_rows": list(self.first_rows),
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ExtractRejected(DetectionError):
    """The extract breaks the contract and is refused as a whole; `problems` lists every problem.

    `content_hash` is the hash of the content refused. `changed`: the file changed while it was
    validated; its hash is then the new content's, or None when the refused content cannot be told.
    """

    exit_code = 2

    def __init__(
        self,
        path: Path,
        problems: Sequence[Problem],
        *,
        file_format: Literal["parquet", "csv"] | None = None,
        content_hash: str | None = None,
        rows: int | None = None,
        mois_reference: dt.date | None = None,
        dropped_columns: tuple[str, ...] = (),
        started_at: dt.datetime | None = None,
        finished_at: dt.datetime | None = None,
        changed: bool = False,
    ) -> None:
        self.path = path
        self.problems = tuple(problems)
        self.changed = changed
        self.file_format = file_format
        self.content_hash = content_hash
        self.rows = rows
        self.mois_reference = mois_reference
        self.dropped_columns = dropped_columns
        self.finished_at = finished_at or _now()
        self.started_at = started_at or self.finished_at
        super().__init__(self.report())

    @property
    def changed_note(self) -> str | None:
        """What the report says of a file changed during its validation (None when it did not)."""
        if not self.changed:
            return None
        if self.content_hash is None:
            return (
                "Le fichier a changé pendant sa validation (copie en cours ?) : le contenu refusé ne peut "
                "pas être identifié, aucune empreinte n'est enregistrée. Déposez le fichier une fois sa "
                "copie terminée (copiez-le sous un nom temporaire, puis renommez-le)."
            )
        return (
            "Le fichier a changé pendant sa validation (copie en cours ?) : ce rapport porte sur son "
            "nouveau contenu, enregistré sous l'empreinte de celui-ci."
        )

    def report(self) -> str:
        """The French report: every problem, with its column, row count and first row numbers."""
        count = len(self.problems)
        lines = [
            f"Extrait refusé : {self.path.name} — {count} problème{'s' if count > 1 else ''}. "
            "Aucune donnée n'est chargée : corrigez le fichier et relancez la validation.",
        ]
        if self.changed_note:
            lines.append(self.changed_note)
        if any(p.first_rows for p in self.problems):
            lines.append(
                "Les numéros de ligne comptent les foyers à partir de 1, sans la ligne d'en-tête "
                "(dans un tableur, ajoutez 1)."
            )
        for problem in self.problems:
            where = f"colonne `{problem.column}`" if problem.column else "fichier"
            line = f"  - {where} : {problem.message}"
            if problem.rows:
                line += f" — {problem.rows} ligne{'s' if problem.rows > 1 else ''}"
            if problem.first_rows:
                shown = ", ".join(str(r) for r in problem.first_rows)
                more = "…" if problem.rows > len(problem.first_rows) else ""
                line += f" (ligne{'s' if len(problem.first_rows) > 1 else ''} {shown}{more})"
            lines.append(f"{line} ({problem.code})")
        return "\n".join(lines)


class UnknownContractColumn(DetectionError):
    """A caller asked a validated extract for a column that contract v1 does not have."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"la colonne `{name}` n'existe pas dans le contrat d'extrait v1")


@dataclass(frozen=True)
class ValidatedExtract:
    """An extract that passed every check; `scan()` reads it typed exactly as the contract says."""

    path: Path
    file_format: Literal["parquet", "csv"]
    content_hash: str
    rows: int
    mois_reference: dt.date
    dropped_columns: tuple[str, ...]
    started_at: dt.datetime = field(default_factory=_now, compare=False)
    finished_at: dt.datetime = field(default_factory=_now, compare=False)
    source: SourceFile | None = field(default=None, repr=False, compare=False)

    def scan(self, columns: Sequence[str] | None = None) -> pl.LazyFrame:
        """The contract columns (or `columns`, in that order), typed as `HOUSEHOLD_SCHEMA`, defaults filled.

        Lazy: each call re-reads the file, and only the requested columns are read from it.
        """
        names = list(columns) if columns is not None else [c.name for c in HOUSEHOLD_COLUMNS]
        for name in names:
            if name not in COLUMNS_BY_NAME:
                raise UnknownContractColumn(name)
        source = self.source or open_extract(self.path)
        conversions = {name: c for name in names if (c := _conversion(source, COLUMNS_BY_NAME[name]))}
        typed = _typed_columns(source, conversions)
        # `with_columns` then `select`: a column absent from the file still gets one value per row.
        frame = _parsed_frame(source.scan_raw(), conversions)
        return frame.with_columns(typed[name].alias(name) for name in names).select(names)


def _typed_columns(source: SourceFile, conversions: dict[str, Conversion]) -> dict[str, pl.Expr]:
    """The typed value of the contract columns over a `_parsed_frame`: read, or the default if absent."""
    typed: dict[str, pl.Expr] = {}
    for column in HOUSEHOLD_COLUMNS:
        if column.name in conversions:
            typed[column.name] = _finished(column, pl.col(_parsed(column.name)))
        elif column.name not in source.raw_schema and not column.required:
            typed[column.name] = pl.lit(column.default, column.dtype)
    return typed


def _parsed_frame(frame: pl.LazyFrame, conversions: dict[str, Conversion]) -> pl.LazyFrame:
    """`frame` with each converted column's cleaned text and parsed value beside it.

    Each step is its own projection: an expression used twice in one projection is computed twice by
    the streaming engine, and parsing text is the costly part of reading a CSV.
    """
    frame = frame.with_columns(c.cleaned.alias(_cleaned(n)) for n, c in conversions.items())
    return frame.with_columns(c.parse(pl.col(_cleaned(n))).alias(_parsed(n)) for n, c in conversions.items())


def _finished(column: Column, value: pl.Expr) -> pl.Expr:
    """A read value as the contract types it, an empty optional cell taking the column's default."""
    if not column.required and column.default is not None:
        value = value.fill_null(pl.lit(column.default, column.dtype))
    return value.cast(column.dtype)


def _conversion(source: SourceFile, column: Column) -> Conversion | None:
    dtype = source.raw_schema.get(column.name)
    return None if dtype is None else convert(column, dtype, trim=source.file_format == "csv")


_IDENTIFIER_NAMES = frozenset(normalised_name(n) for n in DIRECT_IDENTIFIER_NAMES)
# Words of a column name that betray a direct identifier wherever they stand (`nom_complet`,
# `Nom Prénom`, `TelPortable`): a failed pseudonymisation upstream would otherwise pass, the column
# dropped but the file archived with it. Checked on the columns outside the contract only (its own
# `canal_telephone` says whether a number exists, not which).
_IDENTIFIER_WORDS = frozenset(
    {
        "nom", "noms", "prenom", "prenoms", "nir", "matricule", "telephone", "tel", "email", "mail",
        "courriel", "adresse", "iban", "rib", "civilite", "naissance", "mobile", "portable", "secu",
        "numalloc", "numallocataire",
    }
)  # fmt: skip
# A number word with an allocataire word names the Caf's file number (`num_allocataire`, `NumAlloc`).
_NUMBER_WORDS = frozenset({"num", "numero", "no"})
_HOLDER_WORDS = frozenset({"alloc", "allocataire"})


def _name_words(name: str) -> set[str]:
    """The words of a column name, split at separators and at case changes, without accents."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return {word.lower() for word in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", plain)}


# Words that make a column a fact about the identifier, not the identifier (`tel_valide`,
# `top_nir_certifie`, `type_adresse`, `annee_naissance`).
_QUALIFIER_WORDS = frozenset(
    {
        "valide", "valides", "certifie", "connu", "connue", "presence", "present", "top", "nb", "nombre",
        "type", "canal", "fichier", "mois", "annee", "indicateur", "statut", "source", "qualite",
    }
)  # fmt: skip


def _identifying(name: str, dtype: pl.DataType) -> bool:
    """Whether a column name betrays a direct identifier: whole, or, for a column outside the contract,
    by one of its words unless another word makes it a fact about the identifier. Whatever the
    column's type (a phone or NIR stored as a number, a birth date as a date), but a boolean: it only
    says whether something exists."""
    if normalised_name(name) in _IDENTIFIER_NAMES:
        return True
    if name in COLUMNS_BY_NAME or isinstance(dtype, pl.Boolean):
        return False
    words = _name_words(name)
    if not _QUALIFIER_WORDS.isdisjoint(words):
        return False
    file_number = not _NUMBER_WORDS.isdisjoint(words) and not _HOLDER_WORDS.isdisjoint(words)
    return file_number or not _IDENTIFIER_WORDS.isdisjoint(words)


@dataclass(frozen=True)
class _Check:
    """A row-level check over the prepared frame: the rows where `bad` is true break the contract."""

    column: str
    code: str
    message: str
    bad: pl.Expr

    def __post_init__(self) -> None:
        # Checked when the plan is built (a few dozen checks a file), so that a check that never fails
        # in the tests still has a documented code.
        declared(self.code)


def _unreadable(name: str) -> str:
    return f"__illisible__{name}"


def _text(name: str) -> str:
    return f"__texte__{name}"


def _cleaned(name: str) -> str:
    return f"__nettoye__{name}"


def _parsed(name: str) -> str:
    return f"__lu__{name}"


def _failed(number: int) -> str:
    return f"__echec__{number}"


@dataclass
class _Plan:
    """What to check in one file, and the problems already known from its columns alone.

    The checks read a prepared frame: the contract columns typed under their own names, a flag per
    column for the cells that could not be read, the raw text of contract text columns and the extra
    text columns. `deferred` checks (identifier shapes in contract columns) only run when their column
    has `suspects` (cells that failed a check, or numbers too large to be anything but an identifier
    read as a number): a well-formed pseudonym, commune code or enum value cannot be an identifier, so
    the regular expressions stay off the bulk of a valid file.

    Each (not deferred) check's outcome is a boolean column of the prepared frame, computed once:
    the counts, the suspects and the second pass read that column (the streaming engine computes
    an expression used twice in one projection twice; measured at 14M households, 20 % of the
    validation time went to the suspects recomputing the checks).
    """

    source: SourceFile
    reference: CommuneReference
    stage: dict[str, pl.Expr] = field(default_factory=dict)
    conversions: dict[str, Conversion] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    checks: list[_Check] = field(default_factory=list)
    deferred: list[_Check] = field(default_factory=list)
    guarded: list[tuple[_Check, pl.Expr]] = field(default_factory=list)
    suspects: dict[str, pl.Expr] = field(default_factory=dict)
    outcomes: dict[str, pl.Expr] = field(default_factory=dict)
    # Checks that a predicate on the file's own column decides (missing values, bounds of a typed
    # Parquet column): polars answers it from the row groups' statistics without reading the rows.
    screens: dict[str, pl.Expr] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()

    def column_problem(self, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(column, code, message, 0, ()))

    def check(
        self,
        column: str,
        code: str,
        message: str,
        bad: pl.Expr,
        *,
        deferred: bool = False,
        guard: pl.Expr | None = None,
        screen: pl.Expr | None = None,
    ) -> pl.Expr:
        """Register a check; returns its outcome (true on the offending rows) over the prepared frame.

        With a `guard` (an aggregate over the whole file, false only when no row can fail the check),
        the first pass computes the guard alone and the check runs in the second pass when it is true.
        """
        bad = bad.fill_null(False)
        if guard is not None:
            self.guarded.append((_Check(column, code, message, bad), guard.fill_null(False)))
            return bad
        if deferred:
            self.deferred.append(_Check(column, code, message, bad))
            return bad
        name = _failed(len(self.checks))
        self.outcomes[name] = bad
        if screen is not None:
            self.screens[name] = screen
        self.checks.append(_Check(column, code, message, pl.col(name)))
        return pl.col(name)

    def usable(self, *names: str) -> bool:
        return all(name in self.stage for name in names)

    def prepared(self, row_index: str | None = None) -> pl.LazyFrame:
        frame = _parsed_frame(self.source.scan_raw(row_index=row_index), self.conversions)
        exprs = [expr.alias(name) for name, expr in self.stage.items()]
        if row_index is not None:
            exprs.insert(0, pl.col(row_index))
        return frame.select(exprs).with_columns(bad.alias(name) for name, bad in self.outcomes.items())


def _plan(source: SourceFile, reference: CommuneReference) -> _Plan:
    conversions = {c.name: conv for c in HOUSEHOLD_COLUMNS if (conv := _conversion(source, c))}
    plan = _Plan(source, reference, stage=_typed_columns(source, conversions), conversions=conversions)
    raw = source.raw_schema
    plan.dropped = tuple(name for name in raw if name not in COLUMNS_BY_NAME)
    unnamed = {name for i, name in enumerate(raw, start=1) if name == unnamed_column(i)}
    short, first_short = source.short_rows
    if short:
        plan.problems.append(
            Problem(
                "",
                "champs_manquants",
                "lignes avec moins de champs que l'en-tête (cellules de fin de ligne manquantes, lues "
                "sinon comme vides) : exportez de nouveau l'extrait",
                short,
                first_short,
            )
        )
    wrong_file = _wrong_file(source)
    if wrong_file is not None:
        # Another kind of file: every column would be a problem, and none the one to fix.
        plan.problems.append(wrong_file)
        return plan
    misnamed = {name: target for name in raw if (target := contract_name_of(name))}
    _misnamed_problems(plan, misnamed)
    # A raw extract is told how to pseudonymise it, not that `id_foyer` is missing nor to drop `matricule`.
    explained = set()
    if RAW_IDENTIFIER in raw and "id_foyer" not in raw:
        explained = {RAW_IDENTIFIER, "id_foyer"}
        plan.problems.append(
            Problem(
                "",
                "extrait_brut",
                f"extrait brut : il porte `{RAW_IDENTIFIER}` à la place de `id_foyer` ; pseudonymisez-le "
                f"d'abord (`uptake pseudonymise {source.path.name} --out extrait.parquet`), puis validez "
                "l'extrait pseudonymisé",
                0,
                (),
            )
        )
    for name in raw:
        if name not in misnamed and name not in explained and _identifying(name, raw[name]):
            plan.column_problem(
                name,
                "identifiant_direct",
                "nom de colonne d'identifiant direct : retirez cette colonne de l'extrait "
                "(les coordonnées vont dans l'annuaire des contacts, jamais dans l'extrait)",
            )
    # A required column present under another spelling is told once, by its renaming.
    renamed = set(misnamed.values()) - set(raw)
    for column in HOUSEHOLD_COLUMNS:
        if column.name not in renamed | explained:
            _column_checks(plan, column)
    for name in plan.dropped:
        if is_text(raw[name]):
            plan.stage[name] = pl.col(name).cast(pl.String)
            _shape_checks(plan, name, pl.col(name))
        elif isinstance(raw[name], INTEGER_TYPES):
            plan.stage[name] = pl.col(name)
            _number_shape_checks(plan, name)
        if name in unnamed:
            # Dropped when empty (a separator ending every line); a value there may be a shifted row.
            plan.check(
                name,
                "valeur_sans_entete",
                "valeurs sous une colonne sans nom dans l'en-tête : nommez la colonne, ou videz ses cellules",
                pl.col(name).str.strip_chars() != "",
            )
    _consistency_checks(plan)
    return plan


def _wrong_file(source: SourceFile) -> Problem | None:
    """The problem of a contact directory handed over as an extract (its names and numbers, none of
    the extract's columns but the pseudonym), or None."""
    names = set(source.raw_schema)
    if not set(REQUIRED_FIELDS) <= names or names & set(COLUMNS_BY_NAME) - {PSEUDONYM_COLUMN}:
        return None
    how = "importez-le avec `uptake contacts import`"
    if PSEUDONYM_COLUMN not in names:
        how = f"pseudonymisez-le avec l'extrait brut (`uptake pseudonymise … --contacts`), puis {how}"
    return Problem(
        "",
        "annuaire_des_contacts",
        "c'est l'annuaire des contacts (noms et coordonnées, sans les colonnes de l'extrait des "
        f"foyers), pas un extrait : {how}",
        0,
        (),
    )


# Beyond this many misspelt contract columns, the report says it once for the whole header.
_MISNAMED_LISTED = 3


def _misnamed_problems(plan: _Plan, misnamed: dict[str, str]) -> None:
    """Refuse the columns that name a contract column otherwise: dropped as extra columns, their values
    would silently give way to the column's default (recorded objections lost)."""
    only_case = all(name.lower() == target for name, target in misnamed.items())
    how = "que par les majuscules" if only_case else "que par les majuscules, les espaces ou les séparateurs"
    if len(misnamed) > _MISNAMED_LISTED:
        name, target = next(iter(misnamed.items()))
        plan.problems.append(
            Problem(
                "",
                "colonnes_mal_nommees",
                f"{len(misnamed)} noms de colonnes ne diffèrent de ceux du contrat {how} (par exemple "
                f"`{name}` au lieu de `{target}`) : renommez-les exactement comme le contrat"
                + (", en minuscules" if only_case else ""),
                0,
                (),
            )
        )
        return
    for name, target in misnamed.items():
        if target in plan.source.raw_schema:
            message = f"même nom que la colonne `{target}`, écrit autrement : gardez-en une seule, `{target}`"
        else:
            message = f"le nom ne diffère de `{target}` {how} : renommez `{name}` en `{target}`"
        plan.column_problem(name, "colonne_mal_nommee", message)


def _column_checks(plan: _Plan, column: Column) -> None:
    name = column.name
    dtype = plan.source.raw_schema.get(name)
    if dtype is None:
        if column.required:
            plan.column_problem(name, "colonne_manquante", "colonne obligatoire absente du fichier")
        return
    conversion = plan.conversions.get(name)
    if conversion is None:
        plan.column_problem(
            name,
            "type_incorrect",
            f"type de colonne incorrect ({dtype}) : {_KIND_LABELS[column.kind]} attendu",
        )
        return
    value = pl.col(name)
    suspects: list[pl.Expr] = []
    unreadable = pl.lit(False)
    if column.kind in _UNREADABLE_MESSAGES and conversion.can_fail:
        plan.stage[_unreadable(name)] = conversion.unreadable(pl.col(_cleaned(name)), pl.col(_parsed(name)))
        unreadable = pl.col(_unreadable(name))
        message = _UNREADABLE_MESSAGES[column.kind]
        suspects.append(plan.check(name, "valeur_illisible", message, unreadable))
    # A typed Parquet column's value is its own, cast: a row failing these checks fails the same
    # predicate on the file's column (a conversion failure is the unreadable check's, kept apart).
    raw = pl.col(name) if plan.source.file_format == "parquet" and not conversion.text else None
    if column.required:
        missing = value.is_null() & ~unreadable
        screen = None if raw is None else raw.is_null()
        message = "valeurs manquantes (colonne obligatoire)"
        plan.check(name, "valeur_manquante", message, missing, screen=screen)
    if column.minimum is not None or column.maximum is not None:
        low = -float("inf") if column.minimum is None else column.minimum
        high = float("inf") if column.maximum is None else column.maximum
        if column.maximum is not None:
            message = f"valeurs hors de l'intervalle {low:g} à {high:g}"
        else:
            message = "valeurs négatives" if low == 0 else f"valeurs inférieures à {low:g}"

        def outside(number: pl.Expr) -> pl.Expr:
            # Only the bounds the contract sets: polars orders NaN above every number (a NaN is
            # the unreadable check's), and `> inf` would keep it from the file's statistics.
            sides = [number < low] if column.minimum is not None else []
            return pl.any_horizontal(sides + ([number > high] if column.maximum is not None else []))

        screen = None if raw is None else outside(raw)
        plan.check(name, "hors_bornes", message, outside(value), screen=screen)
    if column.values:
        message = f"valeurs hors de la liste ({', '.join(column.values)})"
        suspects.append(plan.check(name, "valeur_inconnue", message, ~value.is_in(column.values)))
    if name == "id_foyer":
        message = "pseudonymes mal formés (16 à 128 caractères parmi lettres, chiffres, _ et -)"
        suspects.append(plan.check(name, "id_foyer_invalide", message, ~value.str.contains(ID_FOYER_PATTERN)))
    if name == "code_commune":
        known = value.is_in(pl.lit(plan.reference.frame["code_commune"]).implode())
        message = (
            "codes commune absents du référentiel des communes (code INSEE à 5 caractères ; "
            "un tableur efface parfois le zéro initial : 04088 devient 4088)"
        )
        suspects.append(plan.check(name, "commune_inconnue", message, ~known))
    if column.kind == "date":
        # `%d/%m/%Y` reads `01/06/25` as year 25: no Caf file holds a date that old.
        message = (
            f"dates antérieures à {_EARLIEST_DATE.year} (année sur 2 chiffres ?) : écrivez l'année sur "
            "4 chiffres (AAAA-MM-JJ ou JJ/MM/AAAA)"
        )
        early = pl.lit(_EARLIEST_DATE)
        screen = raw < early if raw is not None and isinstance(dtype, pl.Date) else None
        plan.check(name, "date_trop_ancienne", message, value < early, screen=screen)
    if name == "mois_reference":
        # A month not begun yet would hold back every real month after it (the older ones are set aside).
        current = caf_day(_now()).replace(day=1)
        message = f"mois de référence postérieur au mois en cours ({current:%Y-%m}) : vérifiez l'année"
        plan.check(name, "mois_reference_futur", message, value > current, guard=value.max() > current)
        message = "dates qui ne sont pas le premier jour d'un mois"
        # A file has one reference month: its single value is checked, the rows only when it has several.
        single = (value.min() == value.max()) & (value.min().dt.day() == 1)
        plan.check(name, "mois_pas_premier_jour", message, value.dt.day() != 1, guard=~single)
    if is_text(dtype) and column.kind in ("int", "float"):
        # "06 12 34 56 78" reads as a number once its spaces are taken as thousands separators.
        suspects.append(value.abs() >= _IMPLAUSIBLE_NUMBER)
    if is_text(dtype) and suspects:
        plan.stage[_text(name)] = pl.col(name).cast(pl.String)
        plan.suspects[name] = pl.any_horizontal(suspects).fill_null(False)
        _shape_checks(plan, name, pl.when(plan.suspects[name]).then(pl.col(_text(name))), deferred=True)


def _shape_checks(plan: _Plan, name: str, text: pl.Expr, *, deferred: bool = False) -> None:
    for code, (pattern, message) in IDENTIFIER_SHAPES.items():
        plan.check(name, code, message, text.str.contains(pattern), deferred=deferred)


# The integers a phone number or a NIR becomes once stored as a number (the leading 0 of a phone
# number lost; +33 kept as 33): no count or amount of a household reaches them.
_NUMBER_SHAPES: dict[str, tuple[tuple[tuple[int, int], ...], str]] = {
    "valeurs_nir": (
        ((10**12, 3 * 10**12 - 1), (10**14, 3 * 10**14 - 1)),
        "nombres de 13 ou 15 chiffres commençant par 1 ou 2, comme un numéro de sécurité sociale (NIR)",
    ),
    # A number read without its leading 0 has 9 digits, as a SIREN has: the column is told whatever
    # it holds, for an extract needs neither.
    "valeurs_telephone": (
        ((10**8, 10**9 - 1), (331 * 10**8, 34 * 10**9 - 1)),
        "nombres de 9 chiffres, comme un numéro de téléphone lu sans son 0 (ou un SIREN) : colonne "
        "inutile aux règles, à retirer de l'extrait",
    ),
}


def _number_shape_checks(plan: _Plan, name: str) -> None:
    """The identifier shapes in an integer column outside the contract (never its values quoted)."""
    for code, (ranges, message) in _NUMBER_SHAPES.items():
        bad = pl.any_horizontal([pl.col(name).is_between(low, high) for low, high in ranges])
        # A Parquet column's statistics tell most files free of them without reading the rows.
        screen = bad if plan.source.file_format == "parquet" else None
        plan.check(name, code, message, bad, screen=screen)


def _consistency_checks(plan: _Plan) -> None:
    v = {name: pl.col(name) for name in COLUMNS_BY_NAME}
    if plan.usable("nb_enfants", "nb_enfants_moins_3_ans"):
        plan.check(
            "nb_enfants_moins_3_ans",
            "enfants_moins_3_ans_excedent",
            "plus d'enfants de moins de 3 ans que d'enfants à charge (`nb_enfants`)",
            v["nb_enfants_moins_3_ans"] > v["nb_enfants"],
        )
    if plan.usable("en_couple", "revenus_activite_conjoint"):
        plan.check(
            "revenus_activite_conjoint",
            "revenus_conjoint_hors_couple",
            "revenus du conjoint non nuls alors que `en_couple` est faux",
            ~v["en_couple"] & (v["revenus_activite_conjoint"] != 0),
        )
    if plan.usable("statut_logement", "loyer"):
        plan.check(
            "loyer",
            "loyer_hors_location",
            "loyer non nul alors que `statut_logement` n'est pas `locataire`",
            (v["statut_logement"] != "locataire") & (v["loyer"] != 0),
        )
    for amount, paid in _PAID.items():
        if plan.usable(amount, paid):
            plan.check(
                amount,
                "montant_sans_versement",
                f"montant non nul alors que `{paid}` est faux",
                ~v[paid] & (v[amount] != 0),
            )
    if plan.usable("evenement_vie", "date_evenement"):
        plan.check(
            "date_evenement",
            "date_evenement_manquante",
            "date absente alors que `evenement_vie` est renseigné",
            v["evenement_vie"].is_not_null() & v["date_evenement"].is_null(),
        )
    if plan.usable("date_evenement", "mois_reference"):
        plan.check(
            "date_evenement",
            "date_evenement_posterieure",
            "dates postérieures au mois de référence",
            # Comparing month starts is the cheap way to say "after the reference month"; no row can be
            # after it when the latest event is not after the earliest reference month.
            v["date_evenement"].dt.month_start() > v["mois_reference"].dt.month_start(),
            guard=v["date_evenement"].max().dt.month_start() > v["mois_reference"].min().dt.month_start(),
        )


def validate_extract(path: Path, reference: CommuneReference | None = None) -> ValidatedExtract:
    """Check `path` against contract v1; the typed extract, or `ExtractRejected` listing every problem."""
    plan, rejected = _open(path, reference)
    return _validated(plan, rejected)


def screen_extract(
    path: Path, reference: CommuneReference | None = None, *, max_rows: int | None = None
) -> ScreenedExtract:
    """Check what can be checked of `path` without reading its rows; the rows are checked by the query
    that reads them (`ScreenedExtract.scan`), and `ScreenedExtract.conclude` gives the verdict.

    A Parquet extract's file, columns, types, row count and reference month are known from its
    metadata and first row: the detection then reads the file once instead of twice. A CSV extract,
    one whose columns already break the contract, or one of more than `max_rows` rows is validated
    here in full, as by `validate_extract`. Raises `ExtractRejected` for what is already known.
    """
    plan, rejected = _open(path, reference)
    if plan.source.file_format != "parquet" or plan.problems or not plan.usable("mois_reference", "id_foyer"):
        return ScreenedExtract(validated=_validated(plan, rejected))
    try:
        rows = int(plan.source.scan_raw().select(pl.len()).collect().item())
        month_column = plan.stage["mois_reference"].alias("mois_reference")
        first = _parsed_frame(plan.source.scan_raw(), plan.conversions).select(month_column).head(1)
        month = first.collect().to_series().first() if rows else None
        proven = frozenset(plan.screens) if _screens_pass(plan) else frozenset()
    except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException):
        return ScreenedExtract(validated=_validated(plan, rejected))
    too_many = max_rows is not None and rows > max_rows
    future = isinstance(month, dt.date) and month > caf_day(_now())
    if not isinstance(month, dt.date) or month.day != 1 or future or too_many or proven != set(plan.screens):
        return ScreenedExtract(validated=_validated(plan, rejected, proven))
    return ScreenedExtract(pending=_Pending(plan, rejected, month, rows, proven))


def _screens_pass(plan: _Plan) -> bool:
    """Whether no row fails a screened check (read from the statistics where the file has them)."""
    if not plan.screens:
        return True
    failing = plan.source.scan_raw().filter(pl.any_horizontal(list(plan.screens.values())))
    return int(failing.select(pl.len()).collect().item()) == 0


def _open(path: Path, reference: CommuneReference | None) -> tuple[_Plan, _Rejecting]:
    started = _now()
    try:
        source = open_extract(path)
    except ExtractUnreadable as exc:
        problem = Problem(exc.column, exc.code, exc.message, len(exc.first_rows), exc.first_rows)
        raise ExtractRejected(path, [problem], started_at=started) from None
    return _plan(source, reference or load_reference()), _Rejecting(path, source, started)


def _validated(plan: _Plan, rejected: _Rejecting, proven: frozenset[str] = frozenset()) -> ValidatedExtract:
    """The full validation (every check, then the rows of the failing ones); the `proven` screened
    checks, already known to hold, are not counted again."""
    if not plan.problems:
        # The rows decide from here on: a file changed since its opening is judged on what it holds
        # now. Problems of its columns were found at its opening, from what it held then.
        rejected = replace(rejected, reading=file_identity(rejected.path))
    try:
        return _run(plan, rejected, proven)
    except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException):
        raise _unreadable_file(rejected) from None


def _unreadable_file(rejected: _Rejecting) -> ExtractRejected:
    kind = "CSV mal formé (nombre de champs variable ou guillemet non fermé)"
    if rejected.source.file_format == "parquet":
        kind = "fichier Parquet corrompu"
    return rejected([Problem("", "lecture_impossible", f"{kind} : exportez de nouveau l'extrait", 0, ())])


@dataclass
class _Tally:
    """What the rows showed while a query read them: how many, how many failed a check, id hashes.

    Called by polars on each batch, possibly from two threads at once.
    """

    rows: int = 0
    failed: int = 0
    hashes: list[pl.Series] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_rows: Callable[[int], None] | None = None  # told the rows read so far, after each batch

    def __call__(self, batch: pl.Series) -> pl.Series:
        ok = batch.struct.field("ok")
        with self.lock:
            self.rows += len(batch)
            self.failed += len(batch) - int(ok.sum())
            self.hashes.append(batch.struct.field("hash"))
            if self.on_rows is not None:  # under the lock: told in increasing order
                self.on_rows(self.rows)
        return pl.repeat(True, len(batch), eager=True)


@dataclass
class _Pending:
    """A screened Parquet extract whose rows are still to be checked."""

    plan: _Plan
    rejected: _Rejecting
    month: dt.date
    rows: int
    proven: frozenset[str] = frozenset()  # outcomes already known to hold on every row
    tally: _Tally | None = None

    def scan(self, columns: Sequence[str], on_rows: Callable[[int], None] | None = None) -> pl.LazyFrame:
        plan, month = self.plan, pl.lit(self.month)
        # Every row check of the first pass, the rows that would trigger the identifier searches, and
        # the two checks that the full validation decides on the file's bounds (one month, no event
        # after it): a row failing any of them sends the extract to the full validation.
        failures = [pl.col(name) for name in plan.outcomes if name not in self.proven]
        failures += list(plan.suspects.values())
        # (A missing value is a failure of its own check: null comparisons count as passed here.)
        failures.append((pl.col("mois_reference") != month).fill_null(False))
        if plan.usable("date_evenement"):
            # An event of a later month is one on or after the next month's first day (a plain
            # comparison, where taking each date's month start costs a date computation per row).
            following = (self.month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            failures.append((pl.col("date_evenement") >= pl.lit(following)).fill_null(False))
        ok = ~pl.any_horizontal(failures)
        self.tally = tally = _Tally(on_rows=on_rows)
        watched = pl.struct(ok.alias("ok"), pl.col("id_foyer").hash().alias("hash"))
        return (
            plan.prepared()
            .filter(watched.map_batches(tally, return_dtype=pl.Boolean, is_elementwise=True))
            .select(columns)
        )

    def conclude(self, *, read_failed: bool = False) -> ValidatedExtract:
        if read_failed:
            # The query stopped on a polars error. The full validation decodes every column: it
            # rejects a damaged or invalid file with its report; a file it accepts was readable,
            # and the error came from the rules' evaluation (the caller says so). The validation
            # leaves unread the columns no check needs (always-readable types): hashing every cell
            # decodes them too, so that damage there is still the file's.
            extract = _validated(self.plan, self.rejected)
            try:
                self.plan.prepared().select(pl.all().hash().sum()).collect(engine="streaming")
            except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException):
                raise _unreadable_file(self.rejected) from None
            return extract
        tally = self.tally
        # Every row seen once (the reader's row count), none failing, no pseudonym twice; otherwise
        # (or if the query did not read every row exactly once) the full validation decides.
        clean = (
            tally is not None
            and tally.rows == self.rows
            and not tally.failed
            and not _repeated_hashes(pl.concat(tally.hashes))
        )
        if not clean:
            return _validated(self.plan, self.rejected, self.proven)
        return _accepted(self.plan, self.rejected, self.rows, self.month)


class ScreenedExtract:
    """An extract checked as far as possible before its rows are read (see `screen_extract`).

    Run exactly one query over `scan()` to its end, then call `conclude()`: it returns the
    `ValidatedExtract`, or raises `ExtractRejected` with the full report. The output of that query
    must be thrown away when the extract is rejected.
    """

    def __init__(self, *, validated: ValidatedExtract | None = None, pending: _Pending | None = None) -> None:
        assert (validated is None) != (pending is None)
        self._validated, self._pending = validated, pending

    @property
    def rows(self) -> int:
        """The number of households in the file."""
        return self._validated.rows if self._validated else self._require().rows

    @property
    def mois_reference(self) -> dt.date:
        """The reference month (of the first row until the rows are checked)."""
        return self._validated.mois_reference if self._validated else self._require().month

    @property
    def content_hash(self) -> str:
        """The sha256 of the file's bytes."""
        return self._validated.content_hash if self._validated else self._require().plan.source.content_hash

    def scan(self, columns: Sequence[str], on_rows: Callable[[int], None] | None = None) -> pl.LazyFrame:
        """The typed households (`columns`), checked against the contract as they are read.

        `on_rows` is told how many rows the query has read so far, in increasing order, as it
        reads and checks them. An extract validated beforehand (CSV, or larger than `max_rows`) is
        read without it: a count of the rows there, in a filter, would stop the optimiser from
        sharing the reading between the rules (measured: every rule's branch then reads the file).
        """
        return self._validated.scan(columns) if self._validated else self._require().scan(columns, on_rows)

    def conclude(self, *, read_failed: bool = False) -> ValidatedExtract:
        """The validated extract, once the query over `scan()` has run; or `ExtractRejected`.

        `read_failed`: the query stopped on a polars error; the extract is then validated in full: a
        damaged or invalid file is rejected with its report, a valid one returned (the error was not
        the file's).
        """
        return self._validated or self._require().conclude(read_failed=read_failed)

    def _require(self) -> _Pending:
        assert self._pending is not None
        return self._pending


@dataclass(frozen=True)
class _Rejecting:
    """Builds the rejection of one file with what is known of it."""

    path: Path
    source: SourceFile
    started: dt.datetime
    # The file's identity when the read that decides the verdict began (None: the opening's).
    reading: FileIdentity | None = None

    def __call__(
        self,
        problems: Sequence[Problem],
        rows: int | None = None,
        mois: dt.date | None = None,
        dropped: tuple[str, ...] = (),
    ) -> ExtractRejected:
        content_hash, changed = self._refused_content()
        return ExtractRejected(
            self.path,
            problems,
            file_format=self.source.file_format,
            content_hash=content_hash,
            rows=rows,
            mois_reference=mois,
            dropped_columns=dropped,
            started_at=self.started,
            changed=changed,
        )

    def _refused_content(self) -> tuple[str | None, bool]:
        """The hash of the content refused (None when it cannot be told), and whether the file changed
        since it was opened and hashed: a rejection must never be recorded under another content's hash.
        """
        now = file_identity(self.path)
        if now == self.source.identity:
            return self.source.content_hash, False
        # The refused content is the new one only if the file kept one identity from the start of the
        # deciding read until it is hashed again, and while it is.
        if now is None or now != self.reading:
            return None, True
        try:
            digest = sha256_of(self.path)
        except OSError:
            return None, True
        return (digest if file_identity(self.path) == now else None), True


def _run(plan: _Plan, rejected: _Rejecting, proven: frozenset[str]) -> ValidatedExtract:
    # Checks the file's statistics already decided (`screen_extract`) are not counted row by row;
    # `validate_extract` counts them all, so that it decodes every column of the file.
    counting = [i for i in range(len(plan.checks)) if _failed(i) not in proven]
    aggregates = [pl.len().alias("__rows")]
    aggregates += [plan.checks[i].bad.sum().alias(f"__check_{i}") for i in counting]
    aggregates += [guard.alias(f"__guard_{i}") for i, (_, guard) in enumerate(plan.guarded)]
    suspect_columns = list(plan.suspects)
    aggregates += [
        plan.suspects[name].sum().alias(f"__suspects_{i}") for i, name in enumerate(suspect_columns)
    ]
    has_month, has_ids = plan.usable("mois_reference"), plan.usable("id_foyer")
    # Aggregates that stream in bounded memory: no `drop_nulls` (it would hold a column), and distinct
    # ids counted on their 64-bit hashes; the exact (costlier) searches run only when these differ.
    if has_month:
        month = pl.col("mois_reference")
        aggregates += [month.min().alias("__month"), month.max().alias("__month_max")]
    if has_ids:
        ids = pl.col("id_foyer")
        aggregates += [ids.hash().implode().alias("__ids_hashes"), ids.null_count().alias("__ids_null")]
    collected = plan.prepared().select(aggregates).collect(engine="streaming")
    stats = collected.select(pl.exclude("__ids_hashes")).row(0, named=True)

    rows: int = stats["__rows"]
    counted = {i: int(stats[f"__check_{i}"]) for i in counting if stats[f"__check_{i}"]}
    suspected = {name for i, name in enumerate(suspect_columns) if stats[f"__suspects_{i}"]}
    uncounted = [check for i, (check, _) in enumerate(plan.guarded) if stats[f"__guard_{i}"]]
    uncounted += [check for check in plan.deferred if check.column in suspected]
    if has_month and stats["__month"] != stats["__month_max"]:
        month = pl.col("mois_reference")
        uncounted.append(
            _Check(
                "mois_reference",
                "mois_reference_multiples",
                "plusieurs mois de référence : un seul mois par fichier "
                "(lignes différentes du mois le plus fréquent)",
                (month != month.drop_nulls().mode().sort().first()).fill_null(False),
            )
        )
    duplicated_ids = False
    if has_ids:
        # Nulls hash to one value of their own: take it out of the distinct count.
        nulls = stats["__ids_null"]
        distinct = rows - _repeated_hashes(collected["__ids_hashes"][0])
        duplicated_ids = distinct - (1 if nulls else 0) != rows - nulls
    if duplicated_ids:
        ids = pl.col("id_foyer")
        uncounted.append(
            _Check(
                "id_foyer",
                "id_foyer_duplique",
                "pseudonymes en double (chaque foyer une seule fois)",
                ids.is_not_null() & ids.is_duplicated(),
            )
        )
    problems = list(plan.problems)
    if rows == 0:
        problems.append(
            Problem("", "aucune_ligne", "le fichier ne contient aucun foyer (en-tête seul)", 0, ())
        )
    problems += _located(plan, [(plan.checks[i], n) for i, n in counted.items()], uncounted)
    mois = stats["__month"] if has_month else None
    file_order = {name: i for i, name in enumerate(plan.source.raw_schema)}
    problems.sort(key=lambda problem: _problem_order(problem, file_order))
    if problems:
        raise rejected(problems, rows, mois, plan.dropped)
    assert isinstance(mois, dt.date)
    return _accepted(plan, rejected, rows, mois)


def _accepted(plan: _Plan, rejected: _Rejecting, rows: int, month: dt.date) -> ValidatedExtract:
    return ValidatedExtract(
        path=plan.source.path,
        file_format=plan.source.file_format,
        content_hash=plan.source.content_hash,
        rows=rows,
        mois_reference=month,
        dropped_columns=plan.dropped,
        started_at=rejected.started,
        finished_at=_now(),
        source=plan.source,
    )


def _repeated_hashes(hashes: pl.Series) -> int:
    """How many hashes repeat the one before them once sorted (the rows minus the distinct hashes).

    Sorting the 64-bit hashes (8 bytes a row) costs about half the CPU of counting them in a hash set,
    and a fraction of its memory (14M households: 1.0 against 1.7 to 2.1 s CPU); numpy's in-place
    sort of the copied array takes 0.22 s where polars' `sort` and comparison took 0.56 s.
    """
    ordered = hashes.to_numpy(writable=True)
    ordered.sort()
    return int(np.count_nonzero(ordered[1:] == ordered[:-1]))


_COLUMN_ORDER = {name: i for i, name in enumerate(COLUMNS_BY_NAME, start=1)}


def _problem_order(problem: Problem, file_order: dict[str, int]) -> tuple[int, int]:
    """The whole file first, then the contract's columns in its order, then the others as in the file."""
    if not problem.column:
        return (0, 0)
    if problem.column in _COLUMN_ORDER:
        return (1, _COLUMN_ORDER[problem.column])
    return (2, file_order.get(problem.column, 0))


def _located(plan: _Plan, counted: list[tuple[_Check, int]], uncounted: list[_Check]) -> list[Problem]:
    """Second pass, only when something failed: the first offending row numbers of the failing checks,
    and the counts of the checks that only run then (duplicates, several months, identifier shapes)."""
    checks = [check for check, _ in counted] + uncounted
    if not checks:
        return []
    selected = [
        pl.col(_ROW).filter(c.bad).head(FIRST_ROWS).implode().alias(f"__first_{i}")
        for i, c in enumerate(checks)
    ]
    selected += [c.bad.sum().alias(f"__count_{i}") for i, c in enumerate(uncounted)]
    found = plan.prepared(row_index=_ROW).select(selected).collect().row(0, named=True)
    counts = [n for _, n in counted] + [int(found[f"__count_{i}"]) for i in range(len(uncounted))]
    problems = []
    for i, (check, count) in enumerate(zip(checks, counts, strict=True)):
        if count:
            first = tuple(int(r) for r in found[f"__first_{i}"])
            problems.append(Problem(check.column, check.code, check.message, count, first))
    return problems
