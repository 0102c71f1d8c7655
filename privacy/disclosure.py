"""Disclosure control: every published count goes through `protect` (or its table helpers).

Primary suppression hides every count from 1 to `threshold - 1` (zeros too with `suppress_zeros`).

Secondary suppression follows only the relations that really hold between published cells; each
table declares them, nothing is assumed:

- a *breakdown* inside a row: `total` counts a population and `parts` count groups of it, either
  exhaustively (`complete`: total = sum of the parts) or not (total = sum of the parts + an
  unpublished remainder, e.g. signalés = contactés + témoins + écartés when the set-aside households
  are not published; témoins ⊇ témoins dont un droit a été ouvert);
- a *margin*: a column's sum over the rows published elsewhere (in a summary table, or implied by a
  rate), possibly as a cell of another table protected in the same call.

No row total across the count columns is ever invented: "contactés + droits ouverts" adds up to
nothing and protects nothing.

The rule, checked against a reader who knows every relation, every published value and the
suppression rule itself (so that a hidden cell is known to be small when it was hidden as small):

1. the reader's bounds on each hidden cell are computed by propagating the relations to a fixed
   point (interval arithmetic on `total = Σ parts (+ remainder ≥ 0)`);
2. a hidden small count is known to lie between 1 and threshold - 1; the tables may narrow that
   range, but never to less than half its width (at threshold 11: never an interval tighter than
   5 apart, so never a value, e.g. « témoins ≤ signalés - contactés = 14 - 13 »);
3. the breakdown of a hidden count is hidden with it (a dependent cell such as "droits ouverts des
   témoins" under hidden "témoins"): a published 0 would otherwise tell what happened to every member
   of a small group; when that group is a small count, its parts, zeros included, are protected by
   rule 2 like small counts (their range: 0 to threshold - 1);
4. while a protected cell is narrowed, the cells that narrow it are traced back through the
   relations, and the smallest published one that widens it is hidden too; repeated to a fixed point.

Interval propagation is what a careful reader does by hand; a reader solving the whole system as a
linear programme can sometimes do better on large linked tables, which these reports are not.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from privacy.errors import PrivacyError, located

DEFAULT_THRESHOLD = 11
THRESHOLD_ENV = "UPTAKE_SEUIL_SECRET"

# (table, row index, column): one published count.
Cell = tuple[str, int, str]
_INF = math.inf


class ThresholdInvalid(PrivacyError):
    """The configured disclosure threshold is not a whole number of at least 1."""

    def __init__(self, written: str) -> None:
        super().__init__(
            located(
                THRESHOLD_ENV,
                None,
                f"« {written} » n'est pas un seuil de secret statistique",
                f"donnez un nombre entier d'au moins 1 (par défaut {DEFAULT_THRESHOLD})",
            )
        )


class ThresholdBelowConfigured(PrivacyError):
    """A report was asked with a threshold lower than the one the Caf configured."""

    def __init__(self, asked: int, configured: int) -> None:
        super().__init__(
            f"seuil de secret statistique {asked} refusé : il est inférieur au seuil fixé pour toute "
            f"publication ({configured}, {THRESHOLD_ENV} ou valeur par défaut), et des effectifs plus "
            f"petits seraient publiés. Donnez un seuil d'au moins {configured}, ou aucun seuil pour "
            "appliquer celui fixé ; seul le responsable de la configuration peut abaisser "
            f"{THRESHOLD_ENV}"
        )


def configured_threshold(environ: Mapping[str, str] | None = None) -> int:
    """The threshold the Caf set for every published figure (`UPTAKE_SEUIL_SECRET`), else the default:
    the web pages, `uptake report` and the scheduled report publish the same cells."""
    written = (os.environ if environ is None else environ).get(THRESHOLD_ENV, "").strip()
    if not written:
        return DEFAULT_THRESHOLD
    if not (written.isascii() and written.isdigit()) or int(written) < 1:
        raise ThresholdInvalid(written)
    return int(written)


def publication_threshold(asked: int | None, environ: Mapping[str, str] | None = None) -> int:
    """The threshold of one publication: `asked` when given, which may be stricter than the
    configured one but never looser (`ThresholdBelowConfigured`), else the configured one."""
    configured = configured_threshold(environ)
    if asked is None:
        return configured
    if asked < configured:
        raise ThresholdBelowConfigured(asked, configured)
    return asked


@dataclass(frozen=True)
class Relation:
    """`total = Σ parts` (`complete`) or `total ≥ Σ parts` (an unpublished remainder).

    `total` None: the sum is published elsewhere, as a number no cell holds (e.g. the denominator of a
    published rate). `breakdown`: the parts are groups of the population `total` counts (rule 3), as
    opposed to a margin summing separate populations.
    """

    parts: tuple[Cell, ...]
    total: Cell | None = None
    complete: bool = True
    breakdown: bool = False


@dataclass(frozen=True)
class Breakdown:
    """A relation inside every row of one table, between its columns (see `Relation`)."""

    total: str | None
    parts: tuple[str, ...]
    complete: bool = False


@dataclass(frozen=True)
class Table:
    """A table to publish: one row per category, no total row or column; `count_columns` are the
    published counts, `breakdowns` the relations inside each row, `column_totals` the columns whose
    sum over the rows is published elsewhere as a number no cell of the call holds."""

    name: str
    frame: pl.DataFrame
    count_columns: tuple[str, ...]
    breakdowns: tuple[Breakdown, ...] = ()
    column_totals: tuple[str, ...] = ()

    def cell(self, row: int, column: str) -> Cell:
        """The key of one cell of this table."""
        return (self.name, row, column)

    def column(self, column: str) -> tuple[Cell, ...]:
        """The keys of one count column, top to bottom."""
        return tuple(self.cell(i, column) for i in range(self.frame.height))

    def values(self) -> dict[Cell, int]:
        """The published counts (null cells are not published and not counted)."""
        missing = [c for c in self.count_columns if c not in self.frame.columns]
        unknown = {c for b in self.breakdowns for c in (*b.parts, b.total, *self.column_totals) if c}
        missing += sorted(unknown - set(self.count_columns))
        if missing:
            raise PrivacyError(f"colonnes de comptage absentes du tableau : {', '.join(missing)}")
        return {
            self.cell(i, name): int(value)
            for name in self.count_columns
            for i, value in enumerate(self.frame.get_column(name).to_list())
            if value is not None
        }

    def relations(self) -> list[Relation]:
        """The breakdowns of every row and the published column totals, as relations."""
        relations = [
            Relation(
                tuple(self.cell(i, p) for p in b.parts),
                None if b.total is None else self.cell(i, b.total),
                complete=b.complete or b.total is None,
                breakdown=b.total is not None,
            )
            for i in range(self.frame.height)
            for b in self.breakdowns
        ]
        relations += [Relation(self.column(c)) for c in self.column_totals if self.frame.height]
        return relations


@dataclass
class _Problem:
    values: Mapping[Cell, int]
    relations: Sequence[Relation]
    threshold: int
    low: int
    hidden: set[Cell] = field(default_factory=set)
    primary: set[Cell] = field(default_factory=set)
    dependent: set[Cell] = field(default_factory=set)

    def required(self, cell: Cell) -> tuple[float, float]:
        return (self.low if cell in self.primary else 0, self.threshold - 1)

    def prior(self, cell: Cell) -> tuple[float, float]:
        if cell not in self.values:
            return (0, _INF)
        if cell not in self.hidden:
            value = self.values[cell]
            return (value, value)
        return (self.low, self.threshold - 1) if cell in self.primary else (0, _INF)

    def virtual_total(self, relation: Relation) -> tuple[float, float]:
        value = sum(self.values.get(p, 0) for p in relation.parts)
        # A small published sum is itself hidden where it is published.
        return (self.low, self.threshold - 1) if self.low <= value < self.threshold else (value, value)

    def close_breakdowns(self) -> None:
        changed = True
        while changed:
            changed = False
            for relation in self.relations:
                total = relation.total
                if not relation.breakdown or (total not in self.primary and total not in self.dependent):
                    continue
                for part in relation.parts:
                    if part in self.values and part not in self.hidden:
                        self.hidden.add(part)
                        changed = True
                    if part not in self.primary and part not in self.dependent:
                        self.dependent.add(part)
                        changed = True


def _sum_bounds(bounds: Sequence[tuple[float, float]]) -> tuple[float, float]:
    high = _INF if any(math.isinf(b[1]) for b in bounds) else sum(b[1] for b in bounds)
    return sum(b[0] for b in bounds), high


class _TermSums:
    """The sums of a relation's terms' low and high bounds, kept up to date as one term changes.

    Bounds are whole numbers (counts, the threshold) or an infinite high: the finite sums stay exact,
    and the infinite highs are counted rather than added, so that one can be taken out again."""

    def __init__(self, terms: Sequence[tuple[float, float]]) -> None:
        self.low = sum(t[0] for t in terms)
        self.high = sum(t[1] for t in terms if not math.isinf(t[1]))
        self.unbounded = sum(1 for t in terms if math.isinf(t[1]))

    def whole(self) -> tuple[float, float]:
        """The bounds of the sum of every term (as `_sum_bounds`)."""
        return self.low, _INF if self.unbounded else self.high

    def without(self, term: tuple[float, float]) -> tuple[float, float]:
        """The bounds of the sum of the other terms, one term with bounds `term` left out."""
        if math.isinf(term[1]):
            return self.low - term[0], _INF if self.unbounded > 1 else self.high
        return self.low - term[0], _INF if self.unbounded else self.high - term[1]

    def replace(self, old: tuple[float, float], new: tuple[float, float], times: int) -> None:
        """`times` terms (one cell appearing `times` among the parts) go from `old` to `new`."""
        for bounds, sign in ((old, -1), (new, 1)):
            self.low += sign * times * bounds[0]
            if math.isinf(bounds[1]):
                self.unbounded += sign * times
            else:
                self.high += sign * times * bounds[1]


class _Bounds:
    """What the reader can work out about each cell, propagated to a fixed point."""

    def __init__(self, problem: _Problem) -> None:
        self.problem = problem
        self.multiplicity = [Counter(r.parts) for r in problem.relations]
        self.relations_of: dict[Cell, list[int]] = {}
        for index, relation in enumerate(problem.relations):
            for cell in set(self._cells(relation)):
                self.relations_of.setdefault(cell, []).append(index)
        # A relation whose last round changed nothing, and none of whose cells changed since, would
        # change nothing again: skipped, the rounds make the same changes in the same order. So is,
        # from the start, one between published cells only: their bounds are their values.
        self.settled = [
            all(c in problem.values and c not in problem.hidden for c in self._cells(r))
            for r in problem.relations
        ]
        self.of: dict[Cell, tuple[float, float]] = {}
        self.virtual = [
            problem.virtual_total(r) if r.total is None else (0.0, 0.0) for r in problem.relations
        ]
        for relation in problem.relations:
            for cell in self._cells(relation):
                if cell not in self.of:
                    self.of[cell] = problem.prior(cell)
        for _ in range(500):
            if not self._pass():
                break

    @staticmethod
    def _cells(relation: Relation) -> tuple[Cell, ...]:
        return (*relation.parts, *((relation.total,) if relation.total else ()))

    def total(self, index: int) -> tuple[float, float]:
        relation = self.problem.relations[index]
        return self.virtual[index] if relation.total is None else self.of[relation.total]

    def terms(self, index: int) -> list[tuple[float, float]]:
        """The bounds of the parts, then of the unpublished remainder."""
        relation = self.problem.relations[index]
        return [self.of[p] for p in relation.parts] + [(0.0, 0.0 if relation.complete else _INF)]

    def implied(self, index: int, cell: Cell) -> tuple[float, float]:
        """The bounds relation `index` alone gives `cell`, from the others' current bounds."""
        relation = self.problem.relations[index]
        terms = self.terms(index)
        if cell == relation.total:
            return _sum_bounds(terms)
        position = relation.parts.index(cell)
        others = _sum_bounds(terms[:position] + terms[position + 1 :])
        total = self.total(index)
        return total[0] - others[1], total[1] - others[0]

    def _pass(self) -> bool:
        """One round over the relations, each cell narrowed by `implied` in turn (the later cells of a
        relation see the earlier ones' new bounds). The terms' sums are kept up to date as bounds move,
        so a part's bounds from the others cost the same whatever the number of parts: a margin over
        every commune of a department has hundreds."""
        changed = False
        for index, relation in enumerate(self.problem.relations):
            if self.settled[index]:
                continue
            self.settled[index] = True
            sums = _TermSums(self.terms(index))
            for cell in relation.parts:
                old = self.of[cell]
                if cell == relation.total:
                    low, high = sums.whole()
                else:
                    others = sums.without(old)
                    total = self.total(index)
                    low, high = total[0] - others[1], total[1] - others[0]
                new = (max(old[0], low), min(old[1], high))
                if new != old and new[0] <= new[1]:
                    self._narrow(cell, new)
                    sums.replace(old, new, self.multiplicity[index][cell])
                    changed = True
            if relation.total:
                low, high = sums.whole()
                old = self.of[relation.total]
                new = (max(old[0], low), min(old[1], high))
                if new != old and new[0] <= new[1]:
                    self._narrow(relation.total, new)
                    changed = True
        return changed

    def _narrow(self, cell: Cell, new: tuple[float, float]) -> None:
        self.of[cell] = new
        for index in self.relations_of[cell]:
            self.settled[index] = False

    def width(self, cell: Cell) -> float:
        """How far apart the reader's bounds on `cell` are."""
        low, high = self.of[cell]
        return high - low

    def narrowed(self, cell: Cell) -> bool:
        low, high = self.of[cell]
        range_low, range_high = self.problem.required(cell)
        return high - low < math.ceil((range_high - range_low) / 2)


def _widening(problem: _Problem, bounds: _Bounds, exposed: Cell) -> tuple[Cell, _Bounds | None] | None:
    """The published cell to hide next for `exposed`: among the cells that bind its bounds, directly
    or through other hidden cells, the smallest that protects it alone, else the one that widens it
    most, else the smallest of the nearest ones (the next round goes further). With it, the bounds
    once it is hidden when they were worked out in the trials."""
    todo: list[tuple[Cell, str]] = [(exposed, "raise"), (exposed, "lower")]
    seen: set[tuple[Cell, str]] = set(todo)
    levels: list[list[tuple[int, Cell]]] = []
    while todo:
        found: list[tuple[int, Cell]] = []
        following: list[tuple[Cell, str]] = []
        for cell, way in todo:
            for target in _binding_targets(problem, bounds, cell, way):
                target_cell, target_way = target
                if target_cell in problem.values and target_cell not in problem.hidden:
                    value = problem.values[target_cell]
                    # Hiding a published 0 frees its high bound, never its low one.
                    if target_way == "raise" or value > 0:
                        found.append((value, target_cell))
                elif target not in seen and target_cell in problem.hidden:
                    seen.add(target)
                    following.append(target)
        if found:
            levels.append(found)
        todo = following
    if not levels:
        return None
    width = bounds.width(exposed)
    widest: tuple[float, Cell, _Bounds] | None = None
    for _, cell in sorted({candidate for level in levels for candidate in level}):
        problem.hidden.add(cell)
        trial = _Bounds(problem)
        problem.hidden.discard(cell)
        if not trial.narrowed(exposed):
            return cell, trial
        gain = trial.width(exposed) - width
        if gain > 0 and (widest is None or gain > widest[0]):
            widest = (gain, cell, trial)
    return (widest[1], widest[2]) if widest else (min(levels[0])[1], None)


def _binding_targets(problem: _Problem, bounds: _Bounds, cell: Cell, way: str) -> list[tuple[Cell, str]]:
    current = bounds.of[cell]
    targets: list[tuple[Cell, str]] = []
    for index, relation in enumerate(problem.relations):
        if cell != relation.total and cell not in relation.parts:
            continue
        implied = bounds.implied(index, cell)
        if (way == "raise" and implied[1] > current[1]) or (way == "lower" and implied[0] < current[0]):
            continue
        others = [p for p in relation.parts if p != cell]
        if cell == relation.total:
            # total ≤ Σ highs: raise a part's high; total ≥ Σ lows: lower a part's low.
            targets += [(p, way) for p in others]
            continue
        # part ≤ total - Σ others' lows; part ≥ total - Σ others' highs.
        opposite = "lower" if way == "raise" else "raise"
        if relation.total is not None:
            targets.append((relation.total, way))
        targets += [(p, opposite) for p in others]
    return targets


def protect(
    values: Mapping[Cell, int],
    relations: Sequence[Relation],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    suppress_zeros: bool = False,
) -> set[Cell]:
    """The cells to hide: small counts, and what would let a reader work them out or narrow them
    through `relations` (see the module's rules)."""
    if threshold < 1:
        raise PrivacyError(f"seuil de secret statistique invalide ({threshold}) : donnez un entier ≥ 1")
    low = 0 if suppress_zeros else 1
    problem = _Problem(values, relations, threshold, low)
    problem.primary = {cell for cell, value in values.items() if low <= value < threshold}
    problem.hidden = set(problem.primary)
    # The breakdowns of the protected cells, once: which cells are protected never changes below.
    problem.close_breakdowns()
    stuck: set[Cell] = set()
    # The bounds of the cells hidden so far, when already worked out (a trial of `_widening`, or the
    # last round's when it hid nothing): the same cells hidden give the same bounds.
    known: _Bounds | None = None
    while True:
        bounds = known or _Bounds(problem)
        protected = sorted((problem.primary | problem.dependent) - stuck)
        exposed = next((c for c in protected if c in bounds.of and bounds.narrowed(c)), None)
        if exposed is None:
            return problem.hidden
        widening = _widening(problem, bounds, exposed)
        if widening is None:
            # Nothing published narrows it any more (only its own bounds, or a published sum): a fixed
            # point; the other protected cells are still checked.
            stuck.add(exposed)
            known = bounds
        else:
            extra, known = widening
            problem.hidden.add(extra)


def protect_tables(
    tables: Sequence[Table],
    links: Sequence[Relation] = (),
    threshold: int = DEFAULT_THRESHOLD,
    *,
    suppress_zeros: bool = False,
) -> dict[str, pl.DataFrame]:
    """Tables published together, protected together: each table's relations plus `links` between
    them (e.g. a summary cell that is a column's margin). Each frame comes back with its hidden cells
    set to null (null means "secret statistique")."""
    values: dict[Cell, int] = {}
    relations: list[Relation] = list(links)
    for table in tables:
        values.update(table.values())
        relations += table.relations()
    hidden = protect(values, relations, threshold, suppress_zeros=suppress_zeros)
    return {
        table.name: hide_cells(table.frame, {(i, c) for t, i, c in hidden if t == table.name})
        for table in tables
    }


def hide_cells(frame: pl.DataFrame, cells: set[tuple[int, str]]) -> pl.DataFrame:
    """`frame` with the cells (row index, column) set to null."""
    if not cells:
        return frame
    index = pl.int_range(pl.len())
    updates = []
    for name in sorted({column for _, column in cells}):
        rows = sorted(i for i, column in cells if column == name)
        updates.append(pl.when(index.is_in(rows)).then(None).otherwise(pl.col(name)).alias(name))
    return frame.with_columns(updates)


def suppression_mask(
    frame: pl.DataFrame,
    count_columns: Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    breakdowns: Sequence[Breakdown] = (),
    column_totals: Sequence[str] | None = None,
    suppress_zeros: bool = False,
) -> set[tuple[int, str]]:
    """The cells (row index, column name) that `suppress_small_counts` hides."""
    table = Table(
        "",
        frame,
        tuple(count_columns),
        tuple(breakdowns),
        tuple(count_columns if column_totals is None else column_totals),
    )
    hidden = protect(table.values(), table.relations(), threshold, suppress_zeros=suppress_zeros)
    return {(i, c) for _, i, c in hidden}


def suppress_small_counts(
    frame: pl.DataFrame,
    count_columns: Sequence[str],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    breakdowns: Sequence[Breakdown] = (),
    column_totals: Sequence[str] | None = None,
    suppress_zeros: bool = False,
) -> pl.DataFrame:
    """`frame` with small counts (and what would reveal them) set to null.

    `frame` holds one row per category (e.g. per commune) and no total row or column; `count_columns`
    are the published counts; `breakdowns` the relations between them inside a row; `column_totals`
    the columns whose sum over the rows is published (default: every count column; `()` when the rows
    are unrelated indicators). Null means "secret statistique". Other columns (labels, means computed
    elsewhere) are left as they are: a mean over a hidden group must be hidden by its producer.
    """
    mask = suppression_mask(
        frame,
        count_columns,
        threshold,
        breakdowns=breakdowns,
        column_totals=column_totals,
        suppress_zeros=suppress_zeros,
    )
    return hide_cells(frame, mask)
