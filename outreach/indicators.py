"""Indicators of actions 2.2 and 7.1 (convention, fiches action and annexe 5), with disclosure control.

Action 2.2: people contacted, rights opened, mean monthly amount of the rights opened, by channel,
rule, commune and attempt; and the uplift against the holdout: the difference between the opening
rates of the contacted arm and of the holdout, with a 95 % confidence interval (normal approximation
for a difference of two proportions; intention to treat: every household drawn into the contacted
arm counts, reached or not).

Action 7.1: households in rent arrears or in non-decent housing, social accompaniments started,
pre-diagnostic questionnaires sent and returned, and the answers of those returned.

Households, not rows: a household flagged by several launches of the same action (the same campaign
launched twice on one run, or a later campaign) counts once. Its arm is the one of its earliest
assignment to an arm (contacted or holdout, by launch date): that is the draw whose effect is
measured, and a household once drawn into the holdout stays in it anyway (see `outreach.selection`).
A household only ever set aside counts as flagged (signalé) only. A right counts as opened for it
when a `droit_ouvert` is recorded for it in any launch of the action (once per household and rule).
A launch that drew nobody into the contacted arm is left out: it contacted no one, so its flagged
households and its holdout measure nothing.

Every published count goes through `privacy.disclosure` (null = secret statistique): the action 2.2
tables are protected together, with the relations that hold inside and between them (declared in
`_protect_22`); a mean or a rate computed on a hidden count is hidden with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import polars as pl
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from outreach.holdout import CONTACTED, HOLDOUT
from outreach.models import NOT_SENT, Assignment, Contact, Launch, Outcome, QuestionnaireAnswer
from outreach.outcomes import BOUNCED, UNDELIVERED
from outreach.questionnaire_answers import QuestionnaireResults, questionnaire_results
from privacy.disclosure import (
    DEFAULT_THRESHOLD,
    Breakdown,
    Relation,
    Table,
    protect_tables,
    suppress_small_counts,
)

Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Uplift:
    """Opening rates of both arms and their difference with its 95 % confidence interval."""

    n_contacted: int
    opened_contacted: int
    n_holdout: int
    opened_holdout: int

    @property
    def rate_contacted(self) -> float:
        """Share of the contacted arm whose right was opened."""
        return self.opened_contacted / self.n_contacted if self.n_contacted else math.nan

    @property
    def rate_holdout(self) -> float:
        """Share of the holdout whose right was opened (what happens without contact)."""
        return self.opened_holdout / self.n_holdout if self.n_holdout else math.nan

    @property
    def difference(self) -> float:
        """Uplift: rate of the contacted arm minus rate of the holdout."""
        return self.rate_contacted - self.rate_holdout

    @property
    def standard_error(self) -> float:
        """Unpooled standard error of the difference of two proportions."""
        if not self.n_contacted or not self.n_holdout:
            return math.nan
        pc, pt = self.rate_contacted, self.rate_holdout
        return math.sqrt(pc * (1 - pc) / self.n_contacted + pt * (1 - pt) / self.n_holdout)

    @staticmethod
    def rate_interval(opened: int, households: int) -> tuple[float, float]:
        """95 % confidence interval of one arm's opening rate (normal approximation)."""
        if not households:
            return math.nan, math.nan
        rate = opened / households
        margin = Z95 * math.sqrt(rate * (1 - rate) / households)
        return rate - margin, rate + margin

    @property
    def interval(self) -> tuple[float, float]:
        """95 % confidence interval of the difference."""
        margin = Z95 * self.standard_error
        return self.difference - margin, self.difference + margin


@dataclass(frozen=True)
class Tables:
    """The raw tables the indicators are computed from (pseudonymised, read once)."""

    launches: pl.DataFrame
    assignments: pl.DataFrame
    contacts: pl.DataFrame
    outcomes: pl.DataFrame
    answers: pl.DataFrame


ANSWER_SCHEMA = {
    "launch_id": pl.Int64,
    "id_foyer": pl.String,
    "questionnaire": pl.String,
    "libelle": pl.String,
    "ordre": pl.Int64,
    "reponse": pl.String,
}


def tables_digest(tables: Tables) -> tuple[tuple[int, int], ...]:
    """What the indicators are computed from, summed up: equal digests, equal indicators (the row
    order aside, which they do not depend on). Within one process: polars' row hashes are not kept."""
    frames = (tables.launches, tables.assignments, tables.contacts, tables.outcomes, tables.answers)
    return tuple((frame.height, int(frame.hash_rows(seed=7).sum() or 0)) for frame in frames)


def load_tables(engine: Engine) -> Tables:
    """Read launches, assignments, contacts, outcomes and the answers of returned questionnaires."""
    with Session(engine) as session:
        launches = session.execute(select(Launch.id, Launch.campagne, Launch.action, Launch.lance_le)).all()
        assignments = session.execute(
            select(
                Assignment.launch_id,
                Assignment.id_foyer,
                Assignment.regle,
                Assignment.regles,
                Assignment.code_commune,
                Assignment.bras,
                Assignment.motif_exclusion,
            )
        ).all()
        # An e-mail that reached nobody (refused by the relay, withdrawn before it went) is no contact.
        contacts = session.execute(
            select(
                Contact.launch_id, Contact.id_foyer, Contact.canal, Contact.tentative, Contact.produit_le
            ).where(or_(Contact.envoi.is_(None), Contact.envoi.not_in(NOT_SENT)))
        ).all()
        outcomes = session.execute(
            select(
                Outcome.launch_id,
                Outcome.id_foyer,
                Outcome.regle,
                Outcome.resultat,
                Outcome.montant,
                Outcome.enregistre_le,
            )
        ).all()
        answers = session.execute(
            select(
                QuestionnaireAnswer.launch_id,
                QuestionnaireAnswer.id_foyer,
                QuestionnaireAnswer.questionnaire,
                QuestionnaireAnswer.libelle,
                QuestionnaireAnswer.ordre,
                QuestionnaireAnswer.reponse,
            )
        ).all()
    return Tables(
        pl.DataFrame(
            launches,
            schema={
                "launch_id": pl.Int64,
                "campagne": pl.String,
                "action": pl.String,
                "lance_le": pl.Datetime,
            },
            orient="row",
        ),
        pl.DataFrame(
            assignments,
            schema={
                "launch_id": pl.Int64,
                "id_foyer": pl.String,
                "regle": pl.String,
                "regles": pl.String,
                "code_commune": pl.String,
                "bras": pl.String,
                "motif_exclusion": pl.String,
            },
            orient="row",
        ),
        pl.DataFrame(
            [(lid, f, c, t, m.replace(tzinfo=None)) for lid, f, c, t, m in contacts],
            schema={
                "launch_id": pl.Int64,
                "id_foyer": pl.String,
                "canal": pl.String,
                "tentative": pl.Int64,
                "produit_le": pl.Datetime,
            },
            orient="row",
        ),
        pl.DataFrame(
            [(lid, f, r, res, amt, m.replace(tzinfo=None)) for lid, f, r, res, amt, m in outcomes],
            schema={
                "launch_id": pl.Int64,
                "id_foyer": pl.String,
                "regle": pl.String,
                "resultat": pl.String,
                "montant": pl.Float64,
                "enregistre_le": pl.Datetime,
            },
            orient="row",
        ),
        pl.DataFrame(answers, schema=ANSWER_SCHEMA, orient="row"),
    )


def _of_action(tables: Tables, action: str) -> Tables:
    ids = tables.launches.filter(pl.col("action") == action)["launch_id"].to_list()
    keep = pl.col("launch_id").is_in(ids)
    return Tables(
        tables.launches.filter(keep),
        tables.assignments.filter(keep),
        tables.contacts.filter(keep),
        tables.outcomes.filter(keep),
        tables.answers.filter(keep),
    )


def _hide_with(frame: pl.DataFrame, mean_column: str, count_column: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col(count_column).is_null()).then(None).otherwise(pl.col(mean_column)).alias(mean_column)
    )


def households(tables: Tables) -> pl.DataFrame:
    """One row per household flagged by a launch of `tables` that drew someone into the contacted
    arm: its earliest assignment to an arm, else its earliest assignment (set aside, `bras` null);
    `ouvert`: a right was recorded as opened for it in one of the launches of `tables`."""
    active = tables.assignments.filter(pl.col("bras") == CONTACTED)["launch_id"].unique().to_list()
    opened = (
        tables.outcomes.filter(pl.col("resultat") == "droit_ouvert")
        .select("id_foyer")
        .unique()
        .with_columns(pl.lit(True).alias("ouvert"))
    )
    return (
        tables.assignments.filter(pl.col("launch_id").is_in(active))
        .join(tables.launches.select("launch_id", "lance_le"), on="launch_id", how="left")
        .sort(pl.col("bras").is_null(), "lance_le", "launch_id", nulls_last=True)
        .unique("id_foyer", keep="first", maintain_order=True)
        .join(opened, on="id_foyer", how="left")
        .with_columns(pl.col("ouvert").fill_null(False))
    )


def uplift(tables: Tables) -> Uplift:
    """Uplift of the 2.2 launches in `tables`, on distinct households (see `households`)."""
    arms = households(tables)
    counts = {
        arm: (
            arms.filter(pl.col("bras") == arm).height,
            int(arms.filter(pl.col("bras") == arm)["ouvert"].sum()),
        )
        for arm in (CONTACTED, HOLDOUT)
    }
    return Uplift(counts[CONTACTED][0], counts[CONTACTED][1], counts[HOLDOUT][0], counts[HOLDOUT][1])


def _opened_with_attempt(tables: Tables, arms: pl.DataFrame) -> pl.DataFrame:
    """Rights opened for the households of the contacted arm (once per household and rule, the first
    recorded), each with the last attempt produced before it was recorded (the latest attempt if the
    dates cannot tell; `aucun contact abouti` if never reached)."""
    contacted = arms.filter(pl.col("bras") == CONTACTED).select("id_foyer")
    opened = (
        tables.outcomes.filter(pl.col("resultat") == "droit_ouvert")
        .join(contacted, on="id_foyer")
        .sort("enregistre_le", "launch_id")
        .unique(["id_foyer", "regle"], keep="first", maintain_order=True)
        .select("id_foyer", "regle", "montant", "enregistre_le")
    )
    keys = ["id_foyer", "regle", "enregistre_le"]
    return (
        opened.join(tables.contacts.drop("launch_id"), on="id_foyer", how="left")
        .with_columns((pl.col("produit_le") <= pl.col("enregistre_le")).fill_null(False).alias("_before"))
        .sort("_before", "produit_le", nulls_last=False)
        .group_by(keys, maintain_order=True)
        .agg(pl.col("canal").last(), pl.col("tentative").last(), pl.col("montant").first())
        .with_columns(pl.col("canal").fill_null("aucun contact abouti"))
    )


@dataclass(frozen=True)
class Indicators22:
    """Action 2.2 indicators, after disclosure control."""

    summary: pl.DataFrame
    amount: pl.DataFrame
    by_channel: pl.DataFrame
    by_rule: pl.DataFrame
    by_commune: pl.DataFrame
    by_attempt: pl.DataFrame
    uplift: pl.DataFrame
    raw_uplift: Uplift
    uplift_published: bool


@dataclass(frozen=True)
class Indicators71:
    """Action 7.1 indicators, after disclosure control."""

    summary: pl.DataFrame
    by_commune: pl.DataFrame
    questionnaires: QuestionnaireResults


def _summary(rows: list[tuple[str, int]], threshold: int) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={"indicateur": pl.String, "valeur": pl.Int64}, orient="row")
    # Different indicators, not parts of one another: no margin between the rows.
    return suppress_small_counts(frame, ["valeur"], threshold, column_totals=())


SUMMARY_22 = (
    "Foyers signalés",
    "Personnes contactées",
    "Foyers du groupe témoin",
    "Foyers contactés dont un droit a été ouvert",
    "Foyers témoins dont un droit a été ouvert",
    "Droits ouverts (foyers contactés)",
    "Courriers revenus non distribués (foyers)",
    "Courriels non distribués (foyers)",
)
_COMMUNE_COUNTS = (
    "foyers_signales",
    "foyers_contactes",
    "foyers_temoins",
    "droits_ouverts_contactes",
    "droits_ouverts_temoins",
)
# Inside a row: flagged = contacted arm + holdout + set aside (not published); each arm ⊇ its
# households (or rights, one per household and rule) with a right opened.
_ARMS = Breakdown("foyers_signales", ("foyers_contactes", "foyers_temoins"))
_COMMUNE_BREAKDOWNS = (
    _ARMS,
    Breakdown("foyers_contactes", ("droits_ouverts_contactes",)),
    Breakdown("foyers_temoins", ("droits_ouverts_temoins",)),
)
_RULE_BREAKDOWNS = (_ARMS, Breakdown("foyers_contactes", ("droits_ouverts_contactes",)))


def _protect_22(
    summary: pl.DataFrame,
    by_commune: pl.DataFrame,
    by_rule: pl.DataFrame,
    by_channel: pl.DataFrame,
    by_attempt: pl.DataFrame,
    threshold: int,
) -> dict[str, pl.DataFrame]:
    """The action 2.2 tables protected together, with the relations that really hold between them.

    Margins: the summary's flagged, holdout and opened counts are the sums of the commune columns (one
    row per household); the contacted arm's size is published through its opening rate; the rights
    opened are the sums over rules, over channels (last contact before the opening) and, channel by
    channel, over attempts. Sums over overlapping rows (a household flagged by two rules, reached by
    two channels) are used only when they happen to be exact or a bound.
    """
    tables = {
        "synthese": Table("synthese", summary, ("valeur",)),
        "communes": Table(
            "communes", by_commune, _COMMUNE_COUNTS, _COMMUNE_BREAKDOWNS, ("foyers_contactes",)
        ),
        "regles": Table(
            "regles",
            by_rule,
            ("foyers_signales", "foyers_contactes", "foyers_temoins", "droits_ouverts_contactes"),
            _RULE_BREAKDOWNS,
        ),
        "canaux": Table("canaux", by_channel, ("foyers_contactes", "droits_ouverts")),
        "tentatives": Table("tentatives", by_attempt, ("foyers_contactes", "droits_ouverts_apres")),
    }
    row = {label: i for i, label in enumerate(summary["indicateur"].to_list())}
    values = dict(zip(summary["indicateur"].to_list(), summary["valeur"].to_list(), strict=True))
    links: list[Relation] = []

    def margin(label: str, table: Table, column: str, *, exact_only: bool = False) -> None:
        # Exact (the column adds up to the summary line) or a bound (it cannot exceed it).
        summed, total = sum(table.frame[column].to_list()), values[label]
        if total == summed or (total > summed and not exact_only):
            links.append(
                Relation(table.column(column), ("synthese", row[label], "valeur"), complete=total == summed)
            )

    communes = tables["communes"]
    margin("Foyers signalés", communes, "foyers_signales")
    margin("Foyers du groupe témoin", communes, "foyers_temoins")
    margin("Foyers contactés dont un droit a été ouvert", communes, "droits_ouverts_contactes")
    margin("Foyers témoins dont un droit a été ouvert", communes, "droits_ouverts_temoins")
    margin("Droits ouverts (foyers contactés)", tables["regles"], "droits_ouverts_contactes")
    margin("Droits ouverts (foyers contactés)", tables["canaux"], "droits_ouverts")
    margin("Foyers signalés", tables["regles"], "foyers_signales", exact_only=True)
    margin("Foyers du groupe témoin", tables["regles"], "foyers_temoins", exact_only=True)
    margin("Personnes contactées", tables["canaux"], "foyers_contactes", exact_only=True)
    channels = by_channel["canal"].to_list()
    for column, total_column in (
        ("droits_ouverts_apres", "droits_ouverts"),
        ("foyers_contactes", "foyers_contactes"),
    ):
        for k, channel in enumerate(channels):
            rows = [i for i, c in enumerate(by_attempt["canal"].to_list()) if c == channel]
            parts = [by_attempt[column][i] for i in rows]
            if rows and by_channel[total_column][k] == sum(parts):
                links.append(
                    Relation(tuple(("tentatives", i, column) for i in rows), ("canaux", k, total_column))
                )
    return protect_tables(list(tables.values()), links, threshold)


def indicators_22(tables: Tables, threshold: int = DEFAULT_THRESHOLD) -> Indicators22:
    """Action 2.2 indicators from the tables of every 2.2 launch, on distinct households."""
    t = _of_action(tables, "2.2")
    arms = households(t)
    opened_contacted = _opened_with_attempt(t, arms)
    raw = uplift(t)
    summary = pl.DataFrame(
        list(
            zip(
                SUMMARY_22,
                [
                    arms.height,
                    t.contacts["id_foyer"].n_unique(),
                    raw.n_holdout,
                    raw.opened_contacted,
                    raw.opened_holdout,
                    opened_contacted.height,
                    t.outcomes.filter(pl.col("resultat") == UNDELIVERED)["id_foyer"].n_unique(),
                    t.outcomes.filter(pl.col("resultat") == BOUNCED)["id_foyer"].n_unique(),
                ],
                strict=True,
            )
        ),
        schema={"indicateur": pl.String, "valeur": pl.Int64},
        orient="row",
    )

    by_channel = (
        t.contacts.group_by("canal")
        .agg(pl.col("id_foyer").n_unique().alias("foyers_contactes"))
        .join(
            opened_contacted.group_by("canal").agg(
                pl.len().alias("droits_ouverts"), pl.col("montant").mean().round(2).alias("montant_moyen")
            ),
            on="canal",
            how="full",
            coalesce=True,
        )
        .with_columns(pl.col("foyers_contactes").fill_null(0), pl.col("droits_ouverts").fill_null(0))
        .sort("canal")
    )
    by_attempt = (
        t.contacts.group_by("tentative", "canal")
        .agg(pl.col("id_foyer").n_unique().alias("foyers_contactes"))
        .join(
            opened_contacted.group_by("tentative", "canal").agg(pl.len().alias("droits_ouverts_apres")),
            on=["tentative", "canal"],
            how="left",
        )
        .with_columns(pl.col("droits_ouverts_apres").fill_null(0))
        .sort("tentative", "canal")
    )
    flagged_rules = arms.with_columns(pl.col("regles").str.split(",").alias("regle_signalee")).explode(
        "regle_signalee"
    )
    by_rule = (
        flagged_rules.group_by(pl.col("regle_signalee").alias("regle"))
        .agg(
            pl.len().alias("foyers_signales"),
            (pl.col("bras") == CONTACTED).sum().alias("foyers_contactes"),
            (pl.col("bras") == HOLDOUT).sum().alias("foyers_temoins"),
        )
        .join(
            opened_contacted.group_by("regle").agg(
                pl.len().alias("droits_ouverts_contactes"),
                pl.col("montant").mean().round(2).alias("montant_moyen"),
            ),
            on="regle",
            how="left",
        )
        .with_columns(pl.col("droits_ouverts_contactes").fill_null(0))
        .sort("regle")
    )
    by_commune = (
        arms.group_by("code_commune")
        .agg(
            pl.len().alias("foyers_signales"),
            (pl.col("bras") == CONTACTED).sum().alias("foyers_contactes"),
            (pl.col("bras") == HOLDOUT).sum().alias("foyers_temoins"),
            ((pl.col("bras") == CONTACTED) & pl.col("ouvert")).sum().alias("droits_ouverts_contactes"),
            ((pl.col("bras") == HOLDOUT) & pl.col("ouvert")).sum().alias("droits_ouverts_temoins"),
        )
        .sort("code_commune")
    )
    protected = _protect_22(summary, by_commune, by_rule, by_channel, by_attempt, threshold)
    summary = protected["synthese"]
    by_channel = _hide_with(protected["canaux"], "montant_moyen", "droits_ouverts")
    by_rule = _hide_with(protected["regles"], "montant_moyen", "droits_ouverts_contactes")
    by_commune, by_attempt = protected["communes"], protected["tentatives"]

    shown = dict(zip(summary["indicateur"].to_list(), summary["valeur"].is_not_null().to_list(), strict=True))
    # A rate gives its numerator away with its denominator: each arm's rate is published when both
    # are (the contacted arm's size is not in a table, only through its rate), the difference when
    # both arms' are.
    arm_shown = [
        raw.n_contacted >= threshold and shown["Foyers contactés dont un droit a été ouvert"],
        shown["Foyers du groupe témoin"] and shown["Foyers témoins dont un droit a été ouvert"],
    ]
    published = all(arm_shown)
    low, high = raw.interval
    contacted_low, contacted_high = raw.rate_interval(raw.opened_contacted, raw.n_contacted)
    holdout_low, holdout_high = raw.rate_interval(raw.opened_holdout, raw.n_holdout)
    uplift_frame = pl.DataFrame(
        {
            "bras": ["contactés", "témoins", "écart (contactés − témoins)"],
            "taux_ouverture": [raw.rate_contacted, raw.rate_holdout, raw.difference],
            "ic95_bas": [contacted_low, holdout_low, low],
            "ic95_haut": [contacted_high, holdout_high, high],
        },
        schema_overrides={"ic95_bas": pl.Float64, "ic95_haut": pl.Float64},
    )
    uplift_frame = uplift_frame.with_columns(
        pl.when(pl.Series([*arm_shown, published])).then(pl.col(column)).otherwise(None).alias(column)
        for column in ("taux_ouverture", "ic95_bas", "ic95_haut")
    )
    mean_opened = (
        round(float(opened_contacted["montant"].mean()), 2)  # type: ignore[arg-type]
        if shown["Droits ouverts (foyers contactés)"] and opened_contacted.height
        else None
    )
    amount = pl.DataFrame(
        {
            "indicateur": ["Montant mensuel moyen des droits ouverts, foyers contactés (€)"],
            "valeur": [mean_opened],
        },
        schema={"indicateur": pl.String, "valeur": pl.Float64},
    )
    return Indicators22(
        summary, amount, by_channel, by_rule, by_commune, by_attempt, uplift_frame, raw, published
    )


def indicators_71(tables: Tables, threshold: int = DEFAULT_THRESHOLD) -> Indicators71:
    """Action 7.1 indicators from the tables of every 7.1 launch."""
    t = _of_action(tables, "7.1")
    flagged = t.assignments.with_columns(pl.col("regles").str.split(",").alias("regle_signalee")).explode(
        "regle_signalee"
    )

    def households(expr: pl.Expr, frame: pl.DataFrame) -> int:
        return frame.filter(expr)["id_foyer"].n_unique()

    outcomes = t.outcomes
    arrears = households(pl.col("regle_signalee") == "impaye_locatif", flagged)
    indecent = households(pl.col("regle_signalee") == "logement_non_decent", flagged)
    accompaniments = households(pl.col("resultat") == "accompagnement_engage", outcomes)
    accompaniments_arrears = households(
        (pl.col("resultat") == "accompagnement_engage") & (pl.col("regle") == "impaye_locatif"), outcomes
    )
    sent = households(pl.col("resultat") == "questionnaire_envoye", outcomes)
    returned = households(pl.col("resultat") == "questionnaire_retourne", outcomes)
    summary = _summary(
        [
            ("Allocataires en situation d'impayé de loyer", arrears),
            ("Allocataires en logement non décent", indecent),
            ("Accompagnements sociaux engagés", accompaniments),
            ("dont pour impayés locatifs", accompaniments_arrears),
            ("Questionnaires de pré-diagnostic envoyés", sent),
            ("Questionnaires de pré-diagnostic retournés", returned),
            (
                "Courriers revenus non distribués (foyers)",
                households(pl.col("resultat") == UNDELIVERED, outcomes),
            ),
        ],
        threshold,
    )
    by_commune = (
        flagged.group_by("code_commune")
        .agg(
            pl.col("id_foyer")
            .filter(pl.col("regle_signalee") == "impaye_locatif")
            .n_unique()
            .alias("impayes"),
            pl.col("id_foyer")
            .filter(pl.col("regle_signalee") == "logement_non_decent")
            .n_unique()
            .alias("non_decents"),
        )
        .sort("code_commune")
    )
    # A household can be both in arrears and badly housed: no row total; each column adds up to its
    # line of the summary.
    by_commune = suppress_small_counts(by_commune, ["impayes", "non_decents"], threshold)
    return Indicators71(summary, by_commune, questionnaire_results(t.answers, threshold))
