"""Compilation of a catalogue into ONE lazy polars plan over the caller's scan.

Shared formulas, each rule's named values and each rule's verdict become temporary columns of
one common frame over the scan; each rule is then a filter on its verdict and a select (amount,
explanation, conditions met) over that frame, and the per-rule results are stacked (`pl.union`)
into the long flag format: one row per (household, rule) flagged. A rule's values that only its
output reads (the explanation's figures, the priority) are computed after its filter, on the
flagged households alone. Filtering on a computed verdict keeps the optimiser from pushing a
rule's conditions into the scan, so the common frame, and the scan under it, is evaluated once
and shared (measured: one scan instead of one per rule, and a faster `sink_parquet`; building the
long frame from per-rule structs was ten times slower). The stack is unordered: an ordered
`pl.concat` makes the streaming engine hold the shared frame for every rule but the first until
that one is done (measured at 14M households: 3.5 s slower and memory growing with the extract).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from rules.areas import EVERYWHERE, LeftOut, area_of, areas_text, in_areas_expr, ordered_areas, outside_areas
from rules.catalogue import Catalogue, Condition, Rule
from rules.errors import CatalogueInvalid, Problem, suggest
from rules.formatting import Piece, french_integer, sentence
from rules.functions import FUNCTIONS, CompileContext
from rules.geography import Geography
from rules.language import (
    Binary,
    Boolean,
    Call,
    Compare,
    Cond,
    Logical,
    Lookup,
    Member,
    Name,
    Negate,
    Node,
    Not,
    Number,
    String,
    unparse,
)
from rules.parameters import Parameters, Version

FLAG_SCHEMA: dict[str, pl.DataType] = {
    "id_foyer": pl.String(),
    "regle": pl.String(),
    "version_regle": pl.String(),
    "montant_estime": pl.Float64(),
    "priorite": pl.Int32(),
    "explication": pl.String(),
    "conditions_remplies": pl.String(),
    "empreinte_parametres": pl.String(),
}
CONDITION_SEPARATOR = " ; "
# Tables with more keys than this are looked up by comparisons (no real table is so big).
_MAX_GATHERED_KEYS = 1000


class _ExprCompiler:
    """Turns checked syntax trees into polars expressions within one environment of names."""

    def __init__(
        self,
        names: Mapping[str, pl.Expr],
        parameters: Mapping[str, Version],
        context: CompileContext,
        integer_lookups: frozenset[Lookup] = frozenset(),
    ) -> None:
        self.names, self.parameters, self.context = names, parameters, context
        self.integer_lookups = integer_lookups

    def compile(self, node: Node) -> pl.Expr:
        if isinstance(node, Number):
            return pl.lit(int(node.value)) if node.is_integer else pl.lit(node.value, dtype=pl.Float64)
        if isinstance(node, String):
            return pl.lit(node.value)
        if isinstance(node, Boolean):
            return pl.lit(node.value)
        if isinstance(node, Name):
            if len(node.parts) > 1:
                value = self.parameters[node.dotted].value
                assert isinstance(value, float)
                return pl.lit(value, dtype=pl.Float64)
            name = node.parts[0]
            return self.names[name] if name in self.names else pl.col(name)  # a contract column
        if isinstance(node, Lookup):
            table = self.parameters[node.name.dotted].value
            assert isinstance(table, dict)
            if isinstance(node.key, Number):  # `al.plafond_loyer_seul[2]`: known now
                found = table.get(int(node.key.value)) if node.key.is_integer else None
                return pl.lit(found, dtype=pl.Float64)
            key = self.compile(node.key)
            if node in self.integer_lookups:
                gathered = _gather(table, key)
                if gathered is not None:
                    return gathered
            chain: Any = pl
            for k, v in table.items():
                chain = chain.when(key == k).then(pl.lit(v, dtype=pl.Float64))
            result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.Float64))
            return result
        if isinstance(node, Call):
            args = [self.compile(a) for a in node.args]
            return FUNCTIONS[node.function].compile(args, node.args, self.context)
        if isinstance(node, Negate):
            return -self.compile(node.operand)
        if isinstance(node, Binary):
            left, right = self.compile(node.left), self.compile(node.right)
            if node.op == "+":
                return left + right
            if node.op == "-":
                return left - right
            if node.op == "*":
                return left * right
            # A division by zero is an empty value, never an infinity: it must not pass a
            # comparison (inf > 3) nor reach the formatting of an explanation.
            return pl.when(right != 0).then(left / right)
        if isinstance(node, Compare):
            left, right = self.compile(node.left), self.compile(node.right)
            return {
                "==": left.eq,
                "!=": left.ne,
                "<": left.lt,
                "<=": left.le,
                ">": left.gt,
                ">=": left.ge,
            }[node.op](right)
        if isinstance(node, Member):
            operand = self.compile(node.operand)
            if all(isinstance(o, String) for o in node.options):
                return operand.is_in([o.value for o in node.options if isinstance(o, String)])
            # Numbers: compare as floats, whatever the integer width of the column.
            numbers = [o.value for o in node.options if isinstance(o, Number)]
            return operand.cast(pl.Float64).is_in(numbers)
        if isinstance(node, Logical):
            left, right = self.compile(node.left), self.compile(node.right)
            return left & right if node.op == "et" else left | right
        if isinstance(node, Not):
            return self.compile(node.operand).not_()
        if isinstance(node, Cond):
            return (
                pl.when(self.compile(node.test))
                .then(self.compile(node.then))
                .otherwise(self.compile(node.otherwise))
            )
        raise AssertionError(f"unchecked node {type(node).__name__}")


def _gather(table: Mapping[Any, Any], key: pl.Expr) -> pl.Expr | None:
    """A table with whole-number keys looked up by position: the key is computed once, where a
    chain of `when(key == k)` computes it again for every key (measured at 14M households: the
    `min(nb_enfants, 4)` of two tables cost more than a second of CPU). A key outside the table,
    or empty, gives an empty value, as the chain does. None when the keys are not a short range
    of integers."""
    if not table or not all(isinstance(k, int) and not isinstance(k, bool) for k in table):
        return None
    low, high = min(table), max(table)
    if high - low > _MAX_GATHERED_KEYS:
        return None
    # An empty slot on each side: keys below or above the table are clipped onto them.
    values = pl.Series([None, *(table.get(k) for k in range(low, high + 1)), None], dtype=pl.Float64)
    position = (key.clip(low - 1, high + 1) - (low - 1)).cast(pl.Int64)
    return pl.lit(values).gather(position)


@dataclass(frozen=True)
class _RulePlan:
    """The compiled pieces of one rule over the prepared frame."""

    rule: Rule
    stages: tuple[dict[str, pl.Expr], ...]  # temporary columns the verdict needs, in dependency order
    condition: pl.Expr
    output: tuple[pl.Expr, ...]
    conditions: tuple[tuple[str, pl.Expr], ...] = ()  # each condition's label and value
    # Values only the output reads (explanation, priority, an amount without minimum): computed on
    # the flagged rows.
    late_stages: tuple[dict[str, pl.Expr], ...] = ()


class CompiledCatalogue:
    """A catalogue bound to the parameters of one month and to a geography, ready to run."""

    def __init__(
        self,
        shared_stages: tuple[dict[str, pl.Expr], ...],
        plans: tuple[_RulePlan, ...],
        parameters_used: dict[str, Version],
        settings_used: Mapping[str, Mapping[str, object]],
        month: datetime.date,
        shared: Mapping[str, str] | None = None,
    ) -> None:
        self._shared_stages = shared_stages
        self._plans = plans
        self.month = month
        self.parameters_used = parameters_used
        self.settings_used = settings_used
        self.rule_versions: dict[str, str] = {p.rule.id: p.rule.version for p in plans}
        # Rule id → 16 hex chars of the sha256 of everything in the rule that changes its flags
        # (with the shared formulas it uses): a content change under the same version shows.
        self.rule_digests: dict[str, str] = {p.rule.id: rule_digest(p.rule, shared or {}) for p in plans}
        self.fingerprint = _fingerprint(self.parameters_record())
        # Rule id → the areas it flags in, for the rules that do not flag everywhere.
        self.rule_areas: dict[str, frozenset[str]] = {
            p.rule.id: p.rule.areas for p in plans if p.rule.areas != EVERYWHERE
        }

    def left_out(self, communes: Iterable[str]) -> list[LeftOut]:
        """The rules that do not flag the households of some of `communes` (a territory's)."""
        codes = list(communes)
        found = []
        for rule_id, areas in sorted(self.rule_areas.items()):
            outside = outside_areas(codes, areas)
            if outside:
                where = ordered_areas(area for code in outside if (area := area_of(code)) is not None)
                found.append(LeftOut(rule_id, tuple(ordered_areas(areas)), len(outside), tuple(where)))
        return found

    def parameters_record(self) -> dict[str, dict[str, object]]:
        """Every parameter value (with its date and source) and setting used, and each rule's
        version and content digest: JSON-ready, the `fingerprint` is its hash. Stored with a run,
        it lets any flag be explained and replayed."""
        record = _record(self.parameters_used, self.settings_used)
        record["regles"] = {
            rule_id: {"version": self.rule_versions[rule_id], "empreinte": digest}
            for rule_id, digest in sorted(self.rule_digests.items())
        }
        return record

    def condition_values(self, households: pl.LazyFrame, rule_id: str) -> pl.LazyFrame:
        """Each condition of `rule_id` (a column named by its label) evaluated on `households`:
        tells which condition was false when a household is not flagged."""
        plan = next(p for p in self._plans if p.rule.id == rule_id)
        frame = households
        for stage in self._shared_stages:
            frame = frame.with_columns(**stage)
        for stage in plan.stages:
            frame = frame.with_columns(**stage)
        return frame.select(
            *(expr.alias(f"{index:03d} {label}") for index, (label, expr) in enumerate(plan.conditions))
        )

    def flags(self, households: pl.LazyFrame, keep: Sequence[str] = ()) -> pl.LazyFrame:
        """The long flag frame: one row per (household, rule) flagged, plus the `keep` columns.

        The rows come in no particular order (sort them when order matters).

        Every computed value and every rule's verdict is a column of one common frame over the
        single scan; each rule then only filters on its own verdict column, which the optimiser
        cannot push into the scan, so the common frame is evaluated once and shared by all rules.
        """
        frame = households
        for stage in self._shared_stages:
            frame = frame.with_columns(**stage)
        for plan in self._plans:
            for stage in plan.stages:
                frame = frame.with_columns(**stage)
        frame = frame.with_columns(**{_verdict(plan.rule.id): plan.condition for plan in self._plans})
        fingerprint = pl.lit(self.fingerprint).alias("empreinte_parametres")
        extra = [pl.col(c) for c in keep if c not in FLAG_SCHEMA]
        parts = []
        for plan in self._plans:
            flagged = frame.filter(pl.col(_verdict(plan.rule.id)))
            for stage in plan.late_stages:
                flagged = flagged.with_columns(**stage)
            parts.append(flagged.select(pl.col("id_foyer"), *plan.output, fingerprint, *extra))
        if not parts:
            return pl.LazyFrame(schema=FLAG_SCHEMA).with_columns(*[pl.lit(None).alias(c) for c in keep])
        return pl.union(parts, how="vertical")


def _verdict(rule_id: str) -> str:
    return f"__{rule_id}__retenu"


def compile_catalogue(
    catalogue: Catalogue, parameters: Parameters, month: datetime.date, geography: Geography
) -> CompiledCatalogue:
    """Bind `catalogue` to the values in force in `month` and to `geography`.

    Raises `ParametersMissing` when a parameter has no value that month, and `CatalogueInvalid`
    when a rule names a perimeter the geography does not have.
    """
    month = month.replace(day=1)
    _check_perimeters(catalogue, geography.perimeter_names())
    used = sorted(set().union(*(r.parameters_used for r in catalogue.rules)) if catalogue.rules else set())
    versions = {name: parameters.at(name, month) for name in used}
    _check_table_keys(catalogue, parameters, versions)
    context = CompileContext(month, geography)
    names: dict[str, pl.Expr] = {}
    shared_needed = set().union(*(r.shared_used for r in catalogue.rules)) if catalogue.rules else set()
    shared_stages = []
    for name, expression in catalogue.shared.values:
        if name not in shared_needed:
            continue
        column = f"__formule_{name}"
        lookups = catalogue.shared.integer_lookups.get(name, frozenset())
        shared_stages.append(
            {column: _ExprCompiler(names, versions, context, lookups).compile(expression.node)}
        )
        names[name] = pl.col(column)
    # One column per distinct `champ`: the rules sharing one (RSA and prime d'activité) test each
    # household's commune once.
    in_areas: dict[frozenset[str], pl.Expr] = {}
    for areas in dict.fromkeys(r.areas for r in catalogue.rules if r.areas != EVERYWHERE):
        column = f"__champ_{len(in_areas)}"
        inside = in_areas_expr(areas)
        assert inside is not None  # only for areas that are not everywhere
        shared_stages.append({column: inside})
        in_areas[areas] = pl.col(column)
    plans = tuple(
        _plan(rule, dict(names), versions, context, in_areas.get(rule.areas)) for rule in catalogue.rules
    )
    settings = {r.id: dict(r.settings) for r in catalogue.rules if r.settings}
    shared_texts = {name: unparse(expression.node) for name, expression in catalogue.shared.values}
    return CompiledCatalogue(tuple(shared_stages), plans, versions, settings, month, shared_texts)


def rule_digest(rule: Rule, shared: Mapping[str, str]) -> str:
    """16 hex chars of the sha256 of the rule's canonical definition: what it reads, its settings,
    values, conditions (with labels), amount, minimum, priority, explanation, and the text of the
    shared formulas it uses. Titles, descriptions and test cases do not change a flag: left out.
    Expressions are taken as parsed (`unparse`), so re-indenting a formula changes nothing."""

    def condition(c: Condition) -> object:
        return {
            "expression": unparse(c.expression.node),
            "libelle": c.label,
            "au_moins_une": [condition(a) for a in c.alternatives],
        }

    definition: dict[str, object] = {
        "id": rule.id,
        "action": rule.action,
        "lit": sorted(rule.lit),
        "reglages": dict(sorted(rule.settings.items())),
        "valeurs": [[name, unparse(e.node)] for name, e in rule.values],
        "conditions": [condition(c) for c in rule.conditions],
        "montant": unparse(rule.montant.node) if rule.montant else None,
        "montant_minimum": unparse(rule.montant_minimum.node) if rule.montant_minimum else None,
        "priorite": unparse(rule.priorite.node),
        "explication": rule.explication,
        "formules": {name: shared[name] for name in sorted(rule.shared_used) if name in shared},
    }
    if rule.areas != EVERYWHERE:
        definition["champ"] = sorted(rule.areas)
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _check_table_keys(catalogue: Catalogue, parameters: Parameters, versions: Mapping[str, Version]) -> None:
    """The values in force must have every key the rules look their tables up with (known from
    the contract bounds when the catalogue was checked): an empty look-up is never silent."""
    problems = []
    for rule in catalogue.rules:
        for name, keys in sorted(rule.table_keys.items()):
            table = versions[name].value
            missing = sorted(keys - set(table)) if isinstance(table, dict) else []
            if missing:
                parameter = parameters.get(name)
                where = parameter.where(versions[name])
                path, _, line = where.partition(":")
                problems.append(
                    Problem(
                        path,
                        int(line or 1),
                        1,
                        f"la table `{name}` n'a pas la clé {', '.join(map(str, missing))}, "
                        f"que la règle {rule.id} peut chercher",
                        "ajoutez la clé manquante à cette valeur, avec le montant du texte cité",
                    )
                )
    if problems:
        raise CatalogueInvalid(problems)


def _plan(
    rule: Rule,
    names: dict[str, pl.Expr],
    versions: Mapping[str, Version],
    ctx: CompileContext,
    in_areas: pl.Expr | None = None,
) -> _RulePlan:
    """The compiled pieces of `rule`; `in_areas` is true where its `champ` holds (None: everywhere)."""
    for column in rule.columns_read:
        names.setdefault(column, pl.col(column))
    for name, value in rule.settings.items():
        names[name] = pl.lit(value)
    compiler = _ExprCompiler(names, versions, ctx, rule.integer_lookups)
    early = values_for_verdict(rule)
    stages: list[dict[str, pl.Expr]] = []
    late_stages: list[dict[str, pl.Expr]] = []
    for name, expression in rule.values:
        column = f"__{rule.id}__{name}"
        (stages if name in early else late_stages).append({column: compiler.compile(expression.node)})
        names[name] = pl.col(column)
    conditions = [compiler.compile(c.expression.node) for c in rule.conditions]
    labels: list[pl.Expr] = [_label(c, compiler) for c in rule.conditions]
    amount = pl.lit(None, dtype=pl.Float64)
    if rule.montant is not None:
        amount_column = f"__{rule.id}__montant"
        (stages if rule.montant_minimum is not None else late_stages).append(
            {amount_column: compiler.compile(rule.montant.node).cast(pl.Float64).round(2)}
        )
        amount = pl.col(amount_column)
        names["montant"] = amount
        if rule.montant_minimum is not None:
            minimum = compiler.compile(rule.montant_minimum.node)
            conditions.append(amount >= minimum)
            labels.append(
                # The amount itself is in `montant_estime` and the explanation: a label without
                # it is the same for every household, so the conditions column stays a short list
                # of distinct texts (dictionary-encoded when written).
                pl.concat_str(
                    [
                        pl.lit("montant estimé au moins égal au minimum versé ("),
                        french_integer(minimum),
                        pl.lit(" €)"),
                    ]
                )
            )
    named = tuple(zip((c.label for c in rule.conditions), conditions, strict=False))
    if rule.montant_minimum is not None:
        named += (("montant estimé au moins égal au minimum versé", conditions[-1]),)
    if in_areas is not None:
        # Not among the labels of the flags (true for every one of them); told when explaining why
        # a household is not flagged.
        conditions.append(in_areas)
        named += ((f"commune de : {areas_text(rule.areas)} (champ de la règle)", in_areas),)
    condition = pl.lit(True)
    for c in conditions:
        condition = condition & c
    output = (
        pl.lit(rule.id).alias("regle"),
        pl.lit(rule.version).alias("version_regle"),
        amount.alias("montant_estime"),
        compiler.compile(rule.priorite.node).cast(pl.Int32).alias("priorite"),
        _explanation(rule, names).alias("explication"),
        pl.concat_str(labels, separator=CONDITION_SEPARATOR, ignore_nulls=True).alias("conditions_remplies"),
    )
    return _RulePlan(rule, tuple(stages), condition, output, named, tuple(late_stages))


def values_for_verdict(rule: Rule) -> set[str]:
    """The rule's values its verdict depends on (through its conditions, amount and minimum).

    The others (read only by the explanation, the priority or an amount without minimum) are
    computed after the rule's filter, on its flagged households only: a value shown in the
    explanation, such as a commune's distance, costs nothing for the households not flagged.
    """
    roots = [a.expression.node for c in rule.conditions for a in (c.alternatives or (c,))]
    if rule.montant_minimum is not None:  # the amount is then compared before the filter
        roots += [e.node for e in (rule.montant, rule.montant_minimum) if e is not None]
    defined = dict(rule.values)
    needed: set[str] = set()
    pending = [n for root in roots for n in _names(root)]
    while pending:
        name = pending.pop()
        if name in defined and name not in needed:
            needed.add(name)
            pending.extend(_names(defined[name].node))
    return needed


def _names(node: Node) -> list[str]:
    """The one-part names (values, settings, columns, shared formulas) `node` reads."""
    return [n.parts[0] for n in _walk(node) if isinstance(n, Name) and len(n.parts) == 1]


def _label(condition: Condition, compiler: _ExprCompiler) -> pl.Expr:
    """A condition's label; for alternatives (or an unlabelled `… ou …`), only those that held."""
    if condition.alternatives:
        held = [
            pl.when(compiler.compile(a.expression.node)).then(pl.lit(a.label)) for a in condition.alternatives
        ]
        return pl.concat_str(held, separator=" ou ", ignore_nulls=True)
    node, label = condition.expression.node, condition.label
    if label != condition.expression.source or not (isinstance(node, Logical) and node.op == "ou"):
        return pl.lit(label)
    branches: list[Node] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Logical) and current.op == "ou":
            stack.extend([current.right, current.left])
        else:
            branches.append(current)
    held = [pl.when(compiler.compile(b)).then(pl.lit(unparse(b))) for b in branches]
    return pl.concat_str(held, separator=" ou ", ignore_nulls=True)


def _explanation(rule: Rule, names: Mapping[str, pl.Expr]) -> pl.Expr:
    pieces: list[Piece] = []
    position = 0
    template = rule.explication
    while True:
        start = template.find("{", position)
        if start < 0:
            break
        end = template.index("}", start)
        if start > position:
            pieces.append(template[position:start])
        name = template[start + 1 : end]
        pieces.append((names[name], rule.placeholders[name]))
        position = end + 1
    if position < len(template):
        pieces.append(template[position:])
    return sentence(pieces)


def _check_perimeters(catalogue: Catalogue, known: frozenset[str]) -> None:
    problems = []
    for rule in catalogue.rules:
        expressions = [a.expression for c in rule.conditions for a in (c.alternatives or (c,))]
        expressions += [e for _, e in rule.values]
        expressions += [e for e in (rule.montant, rule.priorite) if e is not None]
        for expression in expressions:
            for node in _walk(expression.node):
                if not (isinstance(node, Call) and node.function == "dans_perimetre"):
                    continue
                arg = node.args[0]
                if isinstance(arg, String) and arg.value not in known:
                    hint = (
                        suggest(arg.value, known)
                        or f"périmètres configurés : {', '.join(sorted(known)) or 'aucun'}"
                    )
                    line, column = expression.position(arg)
                    problems.append(
                        Problem(str(rule.path), line, column, f"périmètre inconnu `{arg.value}`", hint)
                    )
    if problems:
        raise CatalogueInvalid(problems)


def _walk(node: Node) -> list[Node]:
    found = [node]
    for value in vars(node).values():
        if isinstance(value, Node):
            found.extend(_walk(value))
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    found.extend(_walk(item))
    return found


def _record(
    parameters: Mapping[str, Version], settings: Mapping[str, Mapping[str, object]]
) -> dict[str, dict[str, object]]:
    # `source` and `reference` were stripped when read: a trailing space changes no fingerprint.
    return {
        "parametres": {
            name: {"valeur": v.value, "depuis": v.since.isoformat(), "source": v.source}
            for name, v in sorted(parameters.items())
        },
        "reglages": {rule: dict(sorted(values.items())) for rule, values in sorted(settings.items())},
    }


def _fingerprint(record: Mapping[str, object]) -> str:
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
