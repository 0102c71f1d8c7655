"""Indicators of actions 2.2 and 7.1 (convention, fiches action and annexe 5), with disclosure control.

Action 2.2: people contacted, rights opened, mean monthly amount of the rights opened, by channel,
rule, commune and attempt; and the uplift against the holdout: the difference between the opening
rates of the contacted arm and of the holdout, with a 95 % confidence interval (normal approximation
for a difference of two proportions; intention to treat: every household drawn into the contacted
arm counts, reached or not).

Action 7.1: households in rent arrears or in non-decent housing, social accompaniments started,
pre-diagnostic questionnaires sent and returned, and the answers of those returned.

Every published count goes through `privacy.disclosure.suppress_small_counts` (null = secret
statistique); a mean or a rate computed on a hidden count is hidden with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import polars as pl
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from outreach.holdout import CONTACTED, HOLDOUT
from outreach.models import Assignment, Contact, Launch, Outcome, QuestionnaireAnswer
from outreach.outcomes import BOUNCED, UNDELIVERED
from outreach.questionnaire_answers import QuestionnaireResults, questionnaire_results
from privacy.disclosure import DEFAULT_THRESHOLD, suppress_small_counts

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
        contacts = session.execute(
            select(Contact.launch_id, Contact.id_foyer, Contact.canal, Contact.tentative, Contact.produit_le)
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


def uplift(tables: Tables) -> Uplift:
    """Uplift of the 2.2 launches in `tables` (households × launch; opened = any `droit_ouvert`)."""
    arms = tables.assignments.filter(pl.col("bras").is_in([CONTACTED, HOLDOUT]))
    opened = (
        tables.outcomes.filter(pl.col("resultat") == "droit_ouvert")
        .select("launch_id", "id_foyer")
        .unique()
        .with_columns(pl.lit(True).alias("ouvert"))
    )
    joined = arms.join(opened, on=["launch_id", "id_foyer"], how="left").with_columns(
        pl.col("ouvert").fill_null(False)
    )
    counts = {
        arm: (
            joined.filter(pl.col("bras") == arm).height,
            int(joined.filter(pl.col("bras") == arm)["ouvert"].sum()),
        )
        for arm in (CONTACTED, HOLDOUT)
    }
    return Uplift(counts[CONTACTED][0], counts[CONTACTED][1], counts[HOLDOUT][0], counts[HOLDOUT][1])


def _opened_with_attempt(tables: Tables) -> pl.DataFrame:
    """Rights opened in the contacted arm, each with the last attempt produced before it was recorded
    (the latest attempt if the dates cannot tell; `aucun contact abouti` if never reached)."""
    contacted = tables.assignments.filter(pl.col("bras") == CONTACTED).select("launch_id", "id_foyer")
    opened = tables.outcomes.filter(pl.col("resultat") == "droit_ouvert").join(
        contacted, on=["launch_id", "id_foyer"]
    )
    keys = ["launch_id", "id_foyer", "regle", "enregistre_le"]
    return (
        opened.join(tables.contacts, on=["launch_id", "id_foyer"], how="left")
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
    return suppress_small_counts(frame, ["valeur"], threshold, margins=False)


def indicators_22(tables: Tables, threshold: int = DEFAULT_THRESHOLD) -> Indicators22:
    """Action 2.2 indicators from the tables of every 2.2 launch."""
    t = _of_action(tables, "2.2")
    contacted_households = t.contacts.select("launch_id", "id_foyer").unique()
    opened = t.outcomes.filter(pl.col("resultat") == "droit_ouvert")
    opened_contacted = _opened_with_attempt(t)
    raw = uplift(t)
    counts_hidden = suppress_small_counts(
        pl.DataFrame(
            {
                "n": [raw.n_contacted, raw.n_holdout],
                "ouverts": [raw.opened_contacted, raw.opened_holdout],
            }
        ),
        ["n", "ouverts"],
        threshold,
        margins=False,
    )
    arm_shown = counts_hidden.select(pl.all_horizontal(pl.all().is_not_null())).to_series().to_list()
    published = all(arm_shown)
    low, high = raw.interval
    # The arms' counts are in the summary table; here every cell is a rate or an interval.
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
    # Each arm's rate is published when its own counts are (they are in the summary table anyway);
    # the difference only when both are.
    shown = [*arm_shown, published]
    uplift_frame = uplift_frame.with_columns(
        pl.when(pl.Series(shown)).then(pl.col(column)).otherwise(None).alias(column)
        for column in ("taux_ouverture", "ic95_bas", "ic95_haut")
    )
    summary = _summary(
        [
            ("Foyers signalés", t.assignments.height),
            ("Personnes contactées", contacted_households.height),
            ("Foyers du groupe témoin", raw.n_holdout),
            ("Foyers contactés dont un droit a été ouvert", raw.opened_contacted),
            ("Foyers témoins dont un droit a été ouvert", raw.opened_holdout),
            ("Droits ouverts (foyers contactés)", opened_contacted.height),
            (
                "Courriers revenus non distribués (foyers)",
                t.outcomes.filter(pl.col("resultat") == UNDELIVERED)["id_foyer"].n_unique(),
            ),
            (
                "Courriels non distribués (foyers)",
                t.outcomes.filter(pl.col("resultat") == BOUNCED)["id_foyer"].n_unique(),
            ),
        ],
        threshold,
    )
    hidden = (
        summary.filter(pl.col("indicateur") == "Droits ouverts (foyers contactés)")["valeur"].is_null().any()
    )
    mean_opened = None if hidden or not opened_contacted.height else opened_contacted["montant"].mean()
    mean_opened = None if mean_opened is None else round(float(mean_opened), 2)  # type: ignore[arg-type]
    amount = pl.DataFrame(
        {
            "indicateur": ["Montant mensuel moyen des droits ouverts, foyers contactés (€)"],
            "valeur": [mean_opened],
        },
        schema={"indicateur": pl.String, "valeur": pl.Float64},
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
    by_channel = _hide_with(
        suppress_small_counts(by_channel, ["foyers_contactes", "droits_ouverts"], threshold),
        "montant_moyen",
        "droits_ouverts",
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
        .sort("tentative")
    )
    by_attempt = suppress_small_counts(by_attempt, ["foyers_contactes", "droits_ouverts_apres"], threshold)

    flagged_rules = t.assignments.with_columns(
        pl.col("regles").str.split(",").alias("regle_signalee")
    ).explode("regle_signalee")
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
    by_rule = _hide_with(
        suppress_small_counts(
            by_rule,
            ["foyers_signales", "foyers_contactes", "foyers_temoins", "droits_ouverts_contactes"],
            threshold,
        ),
        "montant_moyen",
        "droits_ouverts_contactes",
    )

    opened_households = (
        opened.select("launch_id", "id_foyer").unique().with_columns(pl.lit(True).alias("ouvert"))
    )
    by_commune = (
        t.assignments.join(opened_households, on=["launch_id", "id_foyer"], how="left")
        .group_by("code_commune")
        .agg(
            pl.len().alias("foyers_signales"),
            (pl.col("bras") == CONTACTED).sum().alias("foyers_contactes"),
            (pl.col("bras") == HOLDOUT).sum().alias("foyers_temoins"),
            ((pl.col("bras") == CONTACTED) & pl.col("ouvert").fill_null(False))
            .sum()
            .alias("droits_ouverts_contactes"),
            ((pl.col("bras") == HOLDOUT) & pl.col("ouvert").fill_null(False))
            .sum()
            .alias("droits_ouverts_temoins"),
        )
        .sort("code_commune")
    )
    by_commune = suppress_small_counts(
        by_commune,
        [
            "foyers_signales",
            "foyers_contactes",
            "foyers_temoins",
            "droits_ouverts_contactes",
            "droits_ouverts_temoins",
        ],
        threshold,
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
    by_commune = suppress_small_counts(by_commune, ["impayes", "non_decents"], threshold)
    return Indicators71(summary, by_commune, questionnaire_results(t.answers, threshold))
