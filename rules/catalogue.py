"""The catalogue of rules: YAML files, one rule per file, loaded and checked as a whole.

A catalogue with one bad rule does not load at all: `CatalogueInvalid` lists every problem of
every file with its `file:line:column`, what is wrong and a hint.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from rules.areas import EVERYWHERE, areas_text
from rules.checker import Checker, ExprProblem, Scope, rounded_fractions
from rules.errors import CatalogueInvalid, FolderMissing, Problem, UnknownRule, name_for, name_hint, suggest
from rules.language import (
    KEYWORDS,
    Cond,
    Logical,
    Lookup,
    Name,
    Negate,
    Node,
    Number,
    SyntaxProblem,
    parse,
    source_text,
    unparse,
)
from rules.parameters import Parameters, load_parameters, read_areas
from rules.sourcefile import LocatedDict, expression_position, position, read_yaml, yaml_problem
from rules.types import BOOLEAN, INTEGER, KIND_TO_TYPE, NUMBER, TEXT, Type

SHARED_FILE = "_formules.yaml"
ACTIONS = ("2.2", "7.1")
REQUIRED_FIELDS = (
    "id",
    "version",
    "titre",
    "prestation",
    "action",
    "base_legale",
    "lit",
    "conditions",
    "priorite",
)
KNOWN_FIELDS = frozenset(
    {
        *REQUIRED_FIELDS,
        "montant",
        "montant_minimum",
        "explication",
        "cas",
        "reglages",
        "valeurs",
        "simplifications",
        "description",
        "champ",
    }
)
_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
CASE_FIELDS = ("nom", "mois", "foyer", "attendu", "calcul")
EXPECTED_FIELDS = ("signale", "montant", "priorite", "explication", "conditions")
Bounds = Mapping[str, tuple[float | None, float | None]]

Setting = float | bool | str


def case_month(case: Mapping[str, object]) -> datetime.date | None:
    """The reference month of a case (`mois: 2024-06` or a date), None when missing or malformed."""
    raw = case.get("mois")
    if isinstance(raw, datetime.date):
        return raw.replace(day=1)
    try:
        year, month = str(raw).split("-")[:2]
        return datetime.date(int(year), int(month), 1)
    except ValueError:
        return None


@dataclass(frozen=True)
class Expression:
    """A checked expression: its syntax tree, its text and its type."""

    node: Node
    source: str
    type: Type
    written: str = ""  # the text as read from the file, with its positions (for later errors)
    fallback: tuple[int, int] = (1, 1)

    def position(self, node: Node) -> tuple[int, int]:
        """Where `node` of this expression sits in its file."""
        return expression_position(self.written, node.line, node.column, self.fallback)


@dataclass(frozen=True)
class Condition:
    """A condition of a rule and the label shown in `conditions_remplies`.

    A condition written as `au_moins_une:` holds when one of its `alternatives` does; its
    `conditions_remplies` entry then names the alternatives that held.
    """

    expression: Expression
    label: str
    alternatives: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class LegalBasis:
    """A legal text the rule rests on."""

    texte: str
    reference: str = ""


@dataclass(frozen=True)
class Rule:
    """One eligibility rule, checked against the contract, the parameters and the functions."""

    id: str
    version: str
    titre: str
    prestation: str
    action: str
    description: str
    base_legale: tuple[LegalBasis, ...]
    lit: tuple[str, ...]
    settings: dict[str, Setting]
    values: tuple[tuple[str, Expression], ...]
    conditions: tuple[Condition, ...]
    montant: Expression | None
    montant_minimum: Expression | None
    priorite: Expression
    explication: str
    placeholders: dict[str, Type]
    simplifications: tuple[str, ...]
    cases: tuple[LocatedDict, ...]
    path: Path
    parameters_used: frozenset[str]
    shared_used: frozenset[str]
    columns_read: frozenset[str]
    # Keys the contract lets each table be looked up with (checked again against the month's values).
    table_keys: Mapping[str, frozenset[int]] = field(default_factory=dict)
    integer_lookups: frozenset[Lookup] = frozenset()  # look-ups keyed by a whole number
    # Where the rule flags households: its `champ`, or else where every parameter it reads holds.
    areas: frozenset[str] = EVERYWHERE
    # The `champ` of each parameter it reads that does not hold everywhere.
    parameter_areas: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # What its author should look at, without refusing the rule (a rate shown rounded to the unit).
    warnings: tuple[str, ...] = ()

    def areas_note(self) -> str:
        """Where the rule flags and why, in French; "" when it flags everywhere on parameters that
        hold everywhere."""
        sentences = []
        left_out = EVERYWHERE - self.areas
        if left_out:
            why = sorted(
                name for name, areas in self.parameter_areas.items() if left_out & (EVERYWHERE - areas)
            )
            these = "ce territoire" if len(left_out) == 1 else "ces territoires"
            because = f" (pas de valeurs de {', '.join(why)} pour {these})" if why else ""
            sentences.append(f"Ne signale pas les foyers de : {areas_text(left_out)}{because}.")
        beyond: dict[tuple[str, str], list[str]] = {}
        for name, areas in sorted(self.parameter_areas.items()):
            if self.areas - areas:
                beyond.setdefault((areas_text(self.areas - areas), areas_text(areas)), []).append(name)
        for (where, own), names in beyond.items():
            sentences.append(
                f"Applique aussi en {where}, comme le déclare son `champ`, les valeurs de {own} de : "
                f"{', '.join(names)}."
            )
        return " ".join(sentences)


@dataclass(frozen=True)
class SharedFormulas:
    """Named formulas every rule may use (`_formules.yaml`), with the columns each one reads."""

    values: tuple[tuple[str, Expression], ...] = ()
    columns: dict[str, frozenset[str]] = field(default_factory=dict)
    parameters: dict[str, frozenset[str]] = field(default_factory=dict)
    depends: dict[str, frozenset[str]] = field(default_factory=dict)  # transitively
    table_keys: dict[str, dict[str, frozenset[int]]] = field(default_factory=dict)  # formula → table → keys
    integer_lookups: dict[str, frozenset[Lookup]] = field(default_factory=dict)  # formula → look-ups

    def closure(self, names: set[str]) -> frozenset[str]:
        """`names` and every shared formula they use, directly or not."""
        return frozenset(names).union(*(self.depends.get(n, frozenset()) for n in names))

    def types(self) -> dict[str, Type]:
        return {name: expression.type for name, expression in self.values}


@dataclass(frozen=True)
class Catalogue:
    """The checked rules of one catalogue folder."""

    rules: tuple[Rule, ...]
    shared: SharedFormulas = field(default_factory=SharedFormulas)

    @property
    def columns_read(self) -> frozenset[str]:
        """Every contract column the rules read (plus `id_foyer`): the caller projects on these."""
        columns: set[str] = {"id_foyer"}
        for rule in self.rules:
            columns |= rule.columns_read
        return frozenset(columns)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the rules' authors should look at (French), rule after rule; none refuses a rule."""
        return tuple(warning for rule in self.rules for warning in rule.warnings)

    def get(self, rule_id: str) -> Rule:
        """The rule called `rule_id`; `UnknownRule` otherwise."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise UnknownRule(rule_id, [r.id for r in self.rules])

    def select(self, ids: Sequence[str]) -> Catalogue:
        """The catalogue restricted to `ids` (in catalogue order); `UnknownRule` for an unknown id."""
        for rule_id in ids:
            self.get(rule_id)
        wanted = set(ids)
        return replace(self, rules=tuple(r for r in self.rules if r.id in wanted))


def default_catalogue_dir() -> Path:
    """The catalogue shipped with the package."""
    return Path(__file__).resolve().parent / "catalogue"


def load_catalogue(
    folder: Path | None = None,
    *,
    columns: Mapping[str, str],
    enums: Mapping[str, tuple[str, ...]],
    perimeters: frozenset[str] = frozenset(),
    parameters: Parameters | None = None,
    bounds: Bounds | None = None,
) -> Catalogue:
    """Load and check every rule of `folder`; `CatalogueInvalid` with every problem if any is wrong.

    `perimeters` are the names `dans_perimetre(…)` may use; when empty they are checked at
    compile time against the geography instead. `bounds` are the contract's (minimum, maximum)
    of the integer columns: a table looked up with such a column must have every key they allow.
    """
    folder = folder or default_catalogue_dir()
    if not folder.is_dir() or not any(folder.glob("*.y*ml")):
        raise FolderMissing(folder, "du catalogue", "--catalogue")
    parameters = parameters or load_parameters()
    context = _Context(columns, enums, parameters, perimeters or None, bounds or {})
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yml")):
        # Never silently skipped: the author believes the rule runs.
        problems.append(
            Problem(
                str(path),
                1,
                1,
                "fichier `.yml` non lu : les règles sont des fichiers `.yaml`",
                f"renommez-le `{path.stem}.yaml`",
            )
        )
    paths = sorted(p for p in folder.glob("*.yaml") if p.name != SHARED_FILE)
    documents = {path: _read(path, problems) for path in paths}
    elsewhere = {
        str(name): str(document.get("id", path.stem))
        for path, document in documents.items()
        if isinstance(document, Mapping) and isinstance(document.get("valeurs"), Mapping)
        for name in document["valeurs"]
    }
    shared = _load_shared(folder / SHARED_FILE, context, elsewhere, problems)
    rules: list[Rule] = []
    seen: dict[str, Path] = {}
    if not paths:
        problems.append(
            Problem(str(folder), 1, 1, "aucune règle dans ce dossier", "un fichier .yaml par règle")
        )
    for path, document in documents.items():
        if document is None:
            continue
        others = {name: rule for name, rule in elsewhere.items() if rule != document.get("id", path.stem)}
        reader = _RuleReader(path, context, shared, others)
        rule = reader.read(document)
        problems.extend(reader.problems)
        if rule is None:
            continue
        if rule.id in seen:
            problems.append(
                Problem(
                    str(path),
                    1,
                    1,
                    f"doublon : l'identifiant `{rule.id}` est déjà celui de {seen[rule.id].name}",
                    "donnez à cette copie un nouvel id, le nom de son fichier",
                )
            )
            continue
        seen[rule.id] = path
        rules.append(rule)
    if problems:
        raise CatalogueInvalid(problems)
    return Catalogue(tuple(rules), shared)


@dataclass(frozen=True)
class _Context:
    """What every file of the catalogue is checked against."""

    columns: Mapping[str, str]
    enums: Mapping[str, tuple[str, ...]]
    parameters: Parameters
    perimeters: frozenset[str] | None
    bounds: Bounds

    def scope(self, lit: frozenset[str], **more: object) -> Scope:
        """A fresh scope over the contract and parameters, for a file reading `lit`."""
        return Scope(
            self.columns,
            self.enums,
            lit,
            self.parameters,
            self.perimeters,
            bounds=self.bounds,
            **more,  # type: ignore[arg-type]
        )


def _read(path: Path, problems: list[Problem]) -> LocatedDict | None:
    """The rule file's document, or None after recording why it does not load."""
    try:
        document = read_yaml(path)
    except yaml.MarkedYAMLError as exc:  # report its mark, never a traceback
        problems.append(Problem(str(path), *yaml_problem(exc)))
        return None
    if not isinstance(document, LocatedDict):
        problems.append(Problem(str(path), 1, 1, "une règle est une table YAML (id, version, titre…)"))
        return None
    return document


def _priority_numbers(node: Node, values: Mapping[str, Node | float]) -> Iterator[float | Node]:
    """The numbers a priority is written with (itself, the branches of its `si … alors … sinon`, or
    those of the rule's value or the number of the setting it names), and any branch computed
    instead, as it is."""
    if isinstance(node, Cond):
        yield from _priority_numbers(node.then, values)
        yield from _priority_numbers(node.otherwise, values)
    elif isinstance(node, Name) and len(node.parts) == 1 and node.parts[0] in values:
        named = values[node.parts[0]]
        if isinstance(named, Node):
            # A value naming itself is refused with the cycles: only the others are followed.
            yield from _priority_numbers(named, {k: v for k, v in values.items() if k != node.parts[0]})
        else:
            yield named
    elif isinstance(node, Number):
        yield node.value
    elif isinstance(node, Negate) and isinstance(node.operand, Number):
        yield -node.operand.value
    else:
        yield node


def _column_hint(column: str, likely: Iterable[str], columns: Mapping[str, str]) -> str:
    """How to write `column`, a name of no column: the column it is but for an accent, a capital or
    an invisible space, else the closest of `likely` then of the contract."""
    if name_for(column) in columns:
        return name_hint(column)
    return suggest(column, likely) or suggest(column, columns) or "voir le contrat d'extrait v1"


def _references(raw: Mapping[object, object]) -> dict[str, frozenset[str]]:
    """The plain names each value's text mentions (a cheap scan, to explain a cycle)."""
    return {
        str(name): frozenset(w for w in _WORD.findall(str(text)) if "." not in w and w not in KEYWORDS)
        for name, text in raw.items()
    }


def _load_shared(
    path: Path,
    context: _Context,
    elsewhere: Mapping[str, str],
    problems: list[Problem],
) -> SharedFormulas:
    if not path.exists():
        return SharedFormulas()
    try:
        document = read_yaml(path)
    except yaml.MarkedYAMLError as exc:  # its mark, never a traceback, as for a rule file
        problems.append(Problem(str(path), *yaml_problem(exc)))
        return SharedFormulas()
    if not isinstance(document, LocatedDict):
        problems.append(Problem(str(path), 1, 1, "le fichier doit contenir `lit` et `valeurs`"))
        return SharedFormulas()
    raw = document.get("valeurs") or {}
    if not isinstance(raw, dict):
        where = _key_position(document, "valeurs", (1, 1))
        problems.append(
            Problem(str(path), *where, "`valeurs` doit être une table nom → formule", "nom: formule")
        )
        return SharedFormulas()
    lit = tuple(str(c) for c in document.get("lit") or ())
    for column in lit:
        if column not in context.columns:
            problems.append(Problem(str(path), *position(column), f"colonne inconnue `{column}` dans `lit`"))
    scope = context.scope(
        frozenset(lit),
        pending={str(n): position(n)[0] for n in raw},
        references=_references(raw),
        elsewhere=elsewhere,
    )
    values: list[tuple[str, Expression]] = []
    column_map: dict[str, frozenset[str]] = {}
    parameter_map: dict[str, frozenset[str]] = {}
    depends: dict[str, frozenset[str]] = {}
    table_keys: dict[str, dict[str, frozenset[int]]] = {}
    integer_lookups: dict[str, frozenset[Lookup]] = {}
    for name, text in raw.items():
        scope.pending.pop(str(name), None)
        scope.current = str(name)
        checker = Checker(scope)
        expression = _check_text(str(path), text, checker, None, position(name), problems)
        if expression is None:
            scope.broken.add(str(name))
            continue
        used_shared = checker.usage.values
        depends[name] = frozenset(used_shared).union(*(depends[v] for v in used_shared))
        column_map[name] = frozenset(checker.usage.columns).union(*(column_map[v] for v in used_shared))
        parameter_map[name] = frozenset(checker.usage.parameters).union(
            *(parameter_map[v] for v in used_shared)
        )
        table_keys[name] = {t: frozenset(k) for t, k in checker.usage.table_keys.items()}
        integer_lookups[name] = frozenset(checker.usage.integer_lookups)
        if checker.usage.reads_commune:
            column_map[name] |= {"code_commune"}
        scope.values[str(name)] = expression.type
        values.append((str(name), expression))
    scope.current = None
    return SharedFormulas(tuple(values), column_map, parameter_map, depends, table_keys, integer_lookups)


def _check_text(
    path: str,
    text: object,
    checker: Checker,
    expected: Type | None,
    fallback: tuple[int, int],
    problems: list[Problem],
    what: str = "l'expression",
) -> Expression | None:
    if isinstance(text, bool):
        text = "vrai" if text else "faux"
    if isinstance(text, int | float):
        text = repr(text)
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(path, *fallback, f"{what} est vide ou n'est pas un texte"))
        return None
    try:
        node = parse(text)
    except SyntaxProblem as exc:
        problems.append(
            Problem(path, *expression_position(text, exc.line, exc.column, fallback), exc.message, exc.hint)
        )
        return None
    before = len(checker.problems)
    found = checker.check(node, expected, what)
    for p in checker.problems[before:]:
        problems.append(_located(path, text, p, fallback))
    if found is None:
        return None
    return Expression(node, source_text(text), found, text, fallback)


def _located(path: str, text: str, problem: ExprProblem, fallback: tuple[int, int]) -> Problem:
    line, column = expression_position(text, problem.line, problem.column, fallback)
    return Problem(path, line, column, problem.message, problem.hint)


class _RuleReader:
    """Reads one rule file, collecting every problem it has."""

    def __init__(
        self, path: Path, context: _Context, shared: SharedFormulas, elsewhere: Mapping[str, str]
    ) -> None:
        self.path, self.context, self.shared, self.elsewhere = path, context, shared, elsewhere
        self.columns, self.enums = context.columns, context.enums
        self.problems: list[Problem] = []

    def _fail(self, where: tuple[int, int], message: str, hint: str = "") -> None:
        self.problems.append(Problem(str(self.path), where[0], where[1], message, hint))

    def read(self, document: LocatedDict) -> Rule | None:
        """The rule of `document`, or None when it has problems (then in `self.problems`)."""
        return self._rule(document)

    def _rule(self, doc: LocatedDict) -> Rule | None:
        top = (doc.line, doc.column)
        for key in doc:
            if key not in KNOWN_FIELDS:
                self._fail(position(key, top), f"champ inconnu `{key}`", suggest(str(key), KNOWN_FIELDS))
        for key in REQUIRED_FIELDS:
            if key not in doc:
                self._fail(top, f"champ obligatoire `{key}` manquant")
        if any(key not in doc for key in REQUIRED_FIELDS):
            return None
        rule_id = str(doc["id"])
        if not _ID.match(rule_id):
            # Told once, with the id to write and the file's name to match it (not a rename to the
            # invalid id, which the mismatch below would advise).
            fixed = name_for(rule_id)
            rename = "" if fixed == self.path.stem else f", dans un fichier nommé `{fixed}.yaml`"
            self._fail(
                position(doc["id"], top),
                f"identifiant invalide `{rule_id}`",
                f"{name_hint(rule_id, 'id')}{rename}",
            )
        elif rule_id != self.path.stem and not _ID.match(self.path.stem):
            self._fail(
                position(doc["id"], top),
                f"nom de fichier `{self.path.name}` différent de l'id `{rule_id}`",
                f"renommez le fichier `{rule_id}.yaml`",
            )
        elif rule_id != self.path.stem:
            taken = self.path.with_name(f"{rule_id}.yaml")
            if taken.exists():
                self._fail(
                    position(doc["id"], top),
                    f"doublon : l'id `{rule_id}` est déjà celui de {taken.name}",
                    f"une copie prend un nouvel id, le nom de son fichier : `id: {self.path.stem}`",
                )
            else:
                self._fail(
                    position(doc["id"], top),
                    f"l'id `{rule_id}` diffère du nom du fichier",
                    f"renommez le fichier `{rule_id}.yaml`, ou écrivez `id: {self.path.stem}`",
                )
        if not isinstance(doc["version"], str) or not _VERSION.match(doc["version"]):
            # Unquoted, YAML reads 1.10 as the number 1.1: two versions would share one name.
            self._fail(
                position(doc["version"], _key_position(doc, "version", top)),
                f"version invalide `{doc['version']}`",
                'écrivez-la entre guillemets, par exemple "1.2.0"',
            )
        action = str(doc["action"])
        if action not in ACTIONS:
            self._fail(position(doc["action"], top), f"action `{action}` inconnue", 'écrivez "2.2" ou "7.1"')
        lit = self._lit(doc, top)
        raw_values = doc.get("valeurs")
        raw_values = raw_values if isinstance(raw_values, Mapping) else {}
        scope = self.context.scope(
            frozenset(lit),
            shared=self.shared.types(),
            pending={str(n): position(n, top)[0] for n in raw_values},
            references=_references(raw_values),
            elsewhere=self.elsewhere,
        )
        settings = self._settings(doc, scope, top)
        checker = Checker(scope)
        values = self._values(doc, checker, scope, top)
        conditions = self._conditions(doc, checker, top)
        montant = self._optional(doc, "montant", checker, NUMBER, top)
        minimum = self._optional(doc, "montant_minimum", checker, NUMBER, top)
        if minimum is not None and montant is None:
            self._fail(position(doc["montant_minimum"], top), "`montant_minimum` sans `montant`")
        priorite = self._optional(doc, "priorite", checker, NUMBER, top)
        # Lists are handed out by this number: 1.7 would be cut to 1, 0 or -5 would pass every other;
        # written as such or as a branch of `si … alors 1 sinon 0`. A computed one (`loyer / 100`)
        # could be any of those, or empty for some households (handed out last, whatever their need).
        # A setting's number is written in the file as a literal one is (bool and text: not numbers).
        named: dict[str, Node | float] = {
            name: value for name, value in settings.items() if isinstance(value, float)
        }
        named.update((name, expression.node) for name, expression in values)
        for written in _priority_numbers(priorite.node, named) if priorite is not None else ():
            if isinstance(written, Node):
                self._fail(
                    _key_position(doc, "priorite", top),
                    f"priorité calculée `{unparse(written)}` : une priorité est un nombre entier écrit tel "
                    "quel, éventuellement selon une condition",
                    "écrivez par exemple `priorite: si commune_eloignee() alors 1 sinon 2`",
                )
            elif written != int(written) or written < 1:
                shown = str(int(written)) if written == int(written) else str(written)
                self._fail(
                    _key_position(doc, "priorite", top),
                    f"priorité `{shown}` : un nombre entier d'au moins 1",
                    "1 est la plus haute ; 2, 3… viennent après",
                )
        explication = str(doc.get("explication", doc["titre"]))
        placeholders = self._placeholders(doc, explication, scope, montant is not None, top)
        base = self._legal_basis(doc, top)
        # Otherwise columns of a refused expression would look unused.
        if self.problems or priorite is None:
            return None
        shared_used = self.shared.closure(checker.usage.shared)
        columns_read = (
            frozenset(checker.usage.columns)
            | frozenset(lit)
            | frozenset().union(*(self.shared.columns.get(n, frozenset()) for n in shared_used))
        )
        parameters_used = frozenset(checker.usage.parameters).union(
            *(self.shared.parameters.get(n, frozenset()) for n in shared_used)
        )
        parameter_areas = {
            name: self.context.parameters.get(name).areas
            for name in parameters_used
            if self.context.parameters.get(name).areas != EVERYWHERE
        }
        areas = self._areas(doc, rule_id, parameter_areas, top)
        if areas is None:
            return None
        # A rule that does not flag everywhere reads the household's commune to decide where it is:
        # its cases give `code_commune`, and `lit` may declare it.
        scoped = areas != EVERYWHERE
        self._unused_columns(doc, lit, checker, placeholders, scoped, top)
        if scoped:
            columns_read |= {"code_commune"}
        table_keys: dict[str, frozenset[int]] = {t: frozenset(k) for t, k in checker.usage.table_keys.items()}
        for name in shared_used:
            for table, keys in self.shared.table_keys.get(name, {}).items():
                table_keys[table] = table_keys.get(table, frozenset()) | keys
        cases = doc.get("cas") or []
        if not isinstance(cases, list):
            self._fail(position(doc.get("cas"), top), "`cas` doit être une liste de cas")
            return None
        for index, case in enumerate(cases):
            # Checked here so that `uptake rules check` does not call valid what `rules test` rejects.
            self._case(index, case, columns_read, top)
        if self.problems:
            return None
        definitions = {**{name: e.node for name, e in self.shared.values}, **named}
        return Rule(
            id=rule_id,
            version=str(doc["version"]),
            titre=str(doc["titre"]),
            prestation=str(doc["prestation"]),
            action=action,
            description=str(doc.get("description", "")),
            base_legale=base,
            lit=tuple(lit),
            settings=settings,
            values=tuple(values),
            conditions=tuple(conditions),
            montant=montant,
            montant_minimum=minimum,
            priorite=priorite,
            explication=explication,
            placeholders=placeholders,
            simplifications=tuple(str(s) for s in doc.get("simplifications") or ()),
            cases=tuple(c for c in cases if isinstance(c, LocatedDict)),
            path=self.path,
            parameters_used=parameters_used,
            shared_used=shared_used,
            columns_read=columns_read,
            table_keys=table_keys,
            integer_lookups=frozenset(checker.usage.integer_lookups),
            areas=areas,
            parameter_areas=parameter_areas,
            warnings=tuple(rounded_fractions(rule_id, placeholders, scope, definitions)),
        )

    def _areas(
        self,
        doc: LocatedDict,
        rule_id: str,
        parameter_areas: Mapping[str, frozenset[str]],
        top: tuple[int, int],
    ) -> frozenset[str] | None:
        """The rule's `champ` when written (checked), else where all its parameters hold."""
        common = EVERYWHERE.intersection(*parameter_areas.values())
        if "champ" in doc:
            return read_areas(f"règle `{rule_id}`", doc, str(self.path), top, self.problems)
        if not common:
            self._fail(
                top,
                "les paramètres lus par la règle n'ont aucun territoire en commun (`champ`) : "
                + " ; ".join(f"{name} : {areas_text(a)}" for name, a in sorted(parameter_areas.items())),
                "déclarez le `champ` de la règle, ou corrigez celui des paramètres",
            )
            return None
        return common

    def _case(self, index: int, case: object, columns_read: frozenset[str], top: tuple[int, int]) -> None:
        """Every mistake of a test case that would make it pass or fail for a wrong reason."""
        if not isinstance(case, Mapping):
            self._fail(
                position(case, top), f"cas {index + 1} : une table est attendue (nom, mois, foyer, attendu)"
            )
            return
        at = position(case, top)
        label = f"cas « {case.get('nom', index + 1)} »"
        for key in case:
            if key not in CASE_FIELDS:
                hint = suggest(str(key), CASE_FIELDS) or f"champs permis : {', '.join(CASE_FIELDS)}"
                self._fail(position(key, at), f"{label} : champ inconnu `{key}`", hint)
        if case_month(case) is None:
            self._fail(
                position(case.get("mois"), at),
                f"{label} : " + (f"mois invalide `{case['mois']}`" if "mois" in case else "`mois` manquant"),
                "écrivez AAAA-MM, par exemple 2024-06",
            )
        self._expected(label, case.get("attendu"), _key_position(case, "attendu", at))
        household = case.get("foyer")
        if household is None:
            return
        where = _key_position(case, "foyer", at)
        if not isinstance(household, Mapping):
            self._fail(where, f"{label} : `foyer` doit être une table colonne → valeur")
            return
        for column, value in household.items():
            self._household_value(label, str(column), value, columns_read, position(column, where))

    def _expected(self, label: str, expected: object, where: tuple[int, int]) -> None:
        if isinstance(expected, Mapping):
            for key in expected:
                if key not in EXPECTED_FIELDS:
                    hint = (
                        suggest(str(key), EXPECTED_FIELDS) or f"champs permis : {', '.join(EXPECTED_FIELDS)}"
                    )
                    self._fail(position(key, where), f"{label} : clé inconnue `{key}` dans `attendu`", hint)
        if not isinstance(expected, Mapping) or "signale" not in expected:
            self._fail(where, f"{label} : `attendu` doit dire au moins `signale: true` ou `signale: false`")
            return
        signale = expected["signale"]
        if not isinstance(signale, bool):
            # YAML reads `non`, `"false"` or `oui` as text, which Python would call true.
            self._fail(
                _key_position(expected, "signale", where),
                f"{label} : `signale: {signale}` n'est pas un booléen",
                "écrivez `signale: true` (signalé) ou `signale: false` (non signalé), sans guillemets",
            )
        checks: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
            ("montant", (int, float), "un nombre en euros, avec un point : 234.93 (ou null)"),
            ("priorite", int, "un nombre entier, 1 = la plus haute"),
            ("explication", str, "le texte attendu"),
            ("conditions", str, "le texte attendu de `conditions_remplies`"),
        )
        for key, kinds, hint in checks:
            value = expected.get(key)
            if (
                key in expected
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, kinds))
            ):
                self._fail(_key_position(expected, key, where), f"{label} : `{key}: {value}` invalide", hint)

    def _written(self, line: int, column: str) -> str | None:
        """The value of `column:` as written on `line` of the rule's file (YAML may have read it
        otherwise), or None when it is not there."""
        try:
            text = self.path.read_text(encoding="utf-8").splitlines()[line - 1]
        except (OSError, UnicodeDecodeError, IndexError):
            return None
        found = re.search(rf"(?:^|[{{,\s]){re.escape(column)}\s*:\s*([^,}}#\s]+)", text)
        return found.group(1) if found else None

    def _household_value(
        self, label: str, column: str, value: object, columns_read: frozenset[str], where: tuple[int, int]
    ) -> None:
        if column not in self.columns:
            hint = _column_hint(column, columns_read, self.columns)
            self._fail(where, f"{label} : colonne inconnue `{column}` dans `foyer`", hint)
            return
        if column not in columns_read:
            self._fail(
                where,
                f"{label} : colonne `{column}` non lue par la règle",
                "retirez-la de `foyer`, ou ajoutez-la à `lit` si la règle doit la lire",
            )
            return
        if value is None:
            return
        kind = self.columns[column]
        expected = _KIND_WORDS.get(kind, "")
        accepted = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "string": isinstance(value, str),
            "enum": isinstance(value, str),
            "date": isinstance(value, datetime.date),
        }.get(kind, True)
        if not accepted:
            written = self._written(where[0], column) if kind in ("string", "enum") else None
            if written is not None and written != str(value):
                # `04101` unquoted is octal to YAML (2113): show the author what they wrote.
                self._fail(
                    where,
                    f"{label} : `{column}: {written}` est lu par YAML comme le nombre {value}, pas comme un "
                    f"texte (colonne `{column}` du contrat)",
                    f'écrivez-le entre guillemets : `{column}: "{written}"`',
                )
                return
            self._fail(
                where,
                f"{label} : `{column}: {value}` n'est pas {expected} (colonne `{column}` du contrat)",
                _KIND_HINTS.get(kind, 'écrivez-le entre guillemets, ex. "04088"' if kind == "string" else ""),
            )
            return
        allowed = self.enums.get(column)
        if kind == "enum" and allowed and value not in allowed:
            self._fail(
                where,
                f"{label} : valeur `{value}` impossible pour `{column}`",
                suggest(str(value), allowed) or f"valeurs permises : {', '.join(allowed)}",
            )

    def _unused_columns(
        self,
        doc: LocatedDict,
        lit: list[str],
        checker: Checker,
        placeholders: dict[str, Type],
        scoped: bool,
        top: tuple[int, int],
    ) -> None:
        """A declared column the rule never reads is refused: `lit` is what the run projects on."""
        used = checker.usage.columns | set(placeholders)
        if checker.usage.reads_commune or scoped:
            used.add("code_commune")
        for column in doc["lit"] if isinstance(doc["lit"], list) else ():
            if column in lit and column not in used:
                self._fail(
                    position(column, top),
                    f"la colonne `{column}` est déclarée dans `lit` mais jamais lue",
                    "retirez-la (minimisation des données)",
                )

    def _lit(self, doc: LocatedDict, top: tuple[int, int]) -> list[str]:
        raw = doc["lit"]
        if not isinstance(raw, list) or not raw:
            self._fail(position(raw, top), "`lit` doit lister les colonnes du contrat que la règle lit")
            return []
        lit = []
        for column in raw:
            if column not in self.columns:
                hint = _column_hint(str(column), self.columns, self.columns)
                self._fail(position(column, top), f"colonne inconnue `{column}` dans `lit`", hint)
                continue
            lit.append(str(column))
        return lit

    def _settings(self, doc: LocatedDict, scope: Scope, top: tuple[int, int]) -> dict[str, Setting]:
        settings: dict[str, Setting] = {}
        raw = doc.get("reglages") or {}
        if not isinstance(raw, dict):
            self._fail(
                position(raw, _key_position(doc, "reglages", top)),
                "`reglages` doit être une table nom → valeur",
                "écrivez `mois_impayes_minimum: 2` sous `reglages:`, sans tiret",
            )
            return settings
        for name, value in raw.items():
            if not _ID.match(str(name)) or name in self.columns:
                self._fail(
                    position(name, top),
                    f"nom de réglage invalide `{name}`",
                    "c'est une colonne du contrat : choisissez un autre nom"
                    if name in self.columns
                    else name_hint(str(name)),
                )
                continue
            if isinstance(value, bool):
                scope.settings[str(name)] = BOOLEAN
            elif isinstance(value, int | float):
                scope.settings[str(name)] = INTEGER if isinstance(value, int) else NUMBER
            elif isinstance(value, str) and re.fullmatch(r"-?\d+,\d+", value.strip()):
                # YAML reads `1,5` as text: every comparison with a number would then be refused
                # far from here, as a type mismatch.
                self._fail(
                    position(name, top),
                    f"réglage `{name}` : `{value}` écrit avec une virgule",
                    f"écrivez le nombre avec un point : {value.strip().replace(',', '.')}",
                )
                scope.settings[str(name)] = NUMBER  # its uses are checked as the number meant
                continue
            elif isinstance(value, str):
                scope.settings[str(name)] = TEXT
            else:
                self._fail(position(name, top), f"réglage `{name}` : un nombre, un booléen ou un texte")
                continue
            settings[str(name)] = value if isinstance(value, bool | str) else float(value)
        return settings

    def _values(
        self, doc: LocatedDict, checker: Checker, scope: Scope, top: tuple[int, int]
    ) -> list[tuple[str, Expression]]:
        values = []
        raw = doc.get("valeurs") or {}
        if not isinstance(raw, dict):
            self._fail(position(raw, top), "`valeurs` doit être une table nom → formule")
            return []
        for name, text in raw.items():
            where = position(name, top)
            scope.pending.pop(str(name), None)
            scope.current = str(name)
            if not _ID.match(str(name)):
                self._fail(where, f"nom de valeur invalide `{name}`", name_hint(str(name)))
                continue
            if name in self.columns or name in scope.shared or name == "montant":
                taken = (
                    "une colonne du contrat"
                    if name in self.columns
                    else "une formule commune (`_formules.yaml`)"
                    if name in scope.shared
                    else "le montant estimé de la règle"
                )
                self._fail(
                    where, f"nom de valeur déjà pris `{name}`", f"c'est {taken} : choisissez un autre nom"
                )
                continue
            expression = _check_text(
                str(self.path), text, checker, None, where, self.problems, f"la valeur `{name}`"
            )
            if expression is None:
                scope.broken.add(str(name))
                continue
            scope.values[str(name)] = expression.type
            values.append((str(name), expression))
        scope.current = None
        return values

    def _conditions(self, doc: LocatedDict, checker: Checker, top: tuple[int, int]) -> list[Condition]:
        raw = doc["conditions"]
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            # No condition would flag every household of the territory.
            self._fail(
                _key_position(doc, "conditions", top),
                "`conditions` est vide",
                "donnez au moins une condition",
            )
        conditions = []
        for item in items:
            if isinstance(item, dict) and "au_moins_une" in item:
                group = self._alternatives(item, checker, top)
                if group is not None:
                    conditions.append(group)
                continue
            condition = self._condition(item, checker, top)
            if condition is not None:
                conditions.append(condition)
                # Every condition is required: the next ones count only where this one holds.
                checker.assume(condition.expression.node)
        return conditions

    def _condition(self, item: object, checker: Checker, top: tuple[int, int]) -> Condition | None:
        text, label = item, None
        if isinstance(item, dict):
            text, label = item.get("expression"), item.get("libelle")
        where = position(text, position(item, top))
        expression = _check_text(
            str(self.path), text, checker, BOOLEAN, where, self.problems, "une condition"
        )
        if expression is None:
            return None
        return Condition(expression, str(label) if label else expression.source)

    def _alternatives(
        self, item: dict[str, object], checker: Checker, top: tuple[int, int]
    ) -> Condition | None:
        raw = item["au_moins_une"]
        if not isinstance(raw, list) or len(raw) < 2:
            self._fail(position(item, top), "`au_moins_une` liste au moins deux conditions")
            return None
        branches = [self._condition(branch, checker, position(item, top)) for branch in raw]
        if any(b is None for b in branches):
            return None
        alternatives = tuple(b for b in branches if b is not None)
        node = alternatives[0].expression.node
        for branch in alternatives[1:]:
            node = Logical(node.line, node.column, "ou", node, branch.expression.node)
        source = " ou ".join(f"({b.expression.source})" for b in alternatives)
        label = " ou ".join(b.label for b in alternatives)
        first = alternatives[0].expression
        return Condition(
            Expression(node, source, BOOLEAN, first.written, first.fallback), label, alternatives
        )

    def _optional(
        self, doc: LocatedDict, key: str, checker: Checker, expected: Type, top: tuple[int, int]
    ) -> Expression | None:
        if key not in doc or doc[key] is None:
            return None
        where = position(doc[key], position(key, top))
        return _check_text(str(self.path), doc[key], checker, expected, where, self.problems, f"`{key}`")

    def _placeholders(
        self, doc: LocatedDict, template: str, scope: Scope, has_amount: bool, top: tuple[int, int]
    ) -> dict[str, Type]:
        found: dict[str, Type] = {}
        where = position(doc.get("explication"), top)
        unmatched = _PLACEHOLDER.sub("", template)
        for brace in "{}":
            if brace in unmatched:
                self._fail(
                    where,
                    f"accolade `{brace}` sans sa jumelle dans l'explication",
                    "une valeur s'écrit entre deux accolades, `{loyer}` ; fermez-la, ou retirez "
                    "l'accolade seule",
                )
                return found
        for match in _PLACEHOLDER.finditer(template):
            name = match.group(1)
            kind = _placeholder_type(name, scope, has_amount)
            if name == "montant" and not has_amount:
                self._fail(
                    (where[0], where[1] + match.start()),
                    "`{montant}` alors que la règle n'a pas de `montant`",
                )
                continue
            if name in scope.broken:
                continue
            if kind is None:
                known = [*scope.declared, *scope.values, *scope.shared, *scope.settings, "montant"]
                if "." in name:
                    # A near name would be another quantity (`montant_forfaitaire_ppa` is the household's).
                    hint = (
                        f"un paramètre ne s'affiche pas directement : nommez-le dans `valeurs` "
                        f"(ex. `{name.rsplit('.', 1)[1]}: {name}`) et citez ce nom"
                    )
                else:
                    hint = suggest(name, known) or "une colonne de `lit`, une valeur, un réglage ou `montant`"
                self._fail(
                    (where[0], where[1] + match.start()), f"`{{{name}}}` inconnu dans l'explication", hint
                )
                continue
            found[name] = kind
        return found

    def _legal_basis(self, doc: LocatedDict, top: tuple[int, int]) -> tuple[LegalBasis, ...]:
        raw = doc["base_legale"]
        if raw is None or raw == [] or (isinstance(raw, str) and not raw.strip()):
            self._fail(
                _key_position(doc, "base_legale", top),
                "champ obligatoire `base_legale` vide",
                "citez au moins un texte : `- texte: Code de la sécurité sociale, art. L…`",
            )
            return ()
        items = raw if isinstance(raw, list) else [raw]
        basis = []
        for item in items:
            if isinstance(item, dict) and item.get("texte"):
                basis.append(LegalBasis(str(item["texte"]), str(item.get("reference", ""))))
            elif isinstance(item, str) and item.strip():
                basis.append(LegalBasis(item))
            else:
                self._fail(position(item, top), "`base_legale` : un texte, ou {texte, reference}")
        return tuple(basis)


def _placeholder_type(name: str, scope: Scope, has_amount: bool) -> Type | None:
    if name == "montant":
        return NUMBER if has_amount else None
    for table in (scope.values, scope.shared, scope.settings):
        if name in table:
            return table[name]
    if name in scope.declared:
        kind = scope.columns[name]
        return Type(KIND_TO_TYPE[kind], integer=kind == "int")
    return None


_KIND_WORDS = {
    "int": "un nombre entier",
    "float": "un nombre",
    "bool": "un booléen",
    "string": "un texte",
    "enum": "un texte",
    "date": "une date",
}
_KIND_HINTS = {
    "int": "écrivez un nombre entier sans guillemets, par exemple 5",
    "float": "écrivez un nombre avec un point, sans guillemets, par exemple 1020.5",
    "bool": "écrivez true ou false, sans guillemets",
    "date": "écrivez une date sans guillemets, AAAA-MM-JJ",
}


def _key_position(mapping: Mapping[object, object], key: str, fallback: tuple[int, int]) -> tuple[int, int]:
    """Where `key` is written in `mapping` (its value may be a number, which has no position)."""
    for written in mapping:
        if written == key:
            return position(written, fallback)
    return fallback
