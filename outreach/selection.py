"""Selection: from a run's flags to one decision per household — its arm, or why it was left out.

Every household flagged by one of the campaign's rules gets exactly one row: `bras` is `contacte`
or `temoin` (holdout), or `motif_exclusion` says why it was left out. Exclusions come first (so the
two arms are drawn from the same contactable population), then the order (priority, estimated
amount, distance from services), then the capacity cap, then the holdout draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from detection.geography import Geography
from outreach.campaigns import CHANNEL_COLUMNS, Campaign
from outreach.holdout import HOLDOUT, assign_arms

# The household has no contact details usable on the campaign's channels.
NO_CHANNEL = "aucun_canal"
# Why a flagged household was not contacted, most important first (a household gets the first).
EXCLUSION_REASONS: dict[str, str] = {
    "opposition": "opposition au contact (extrait, registre des oppositions ou résultat enregistré)",
    "hors_geographie": "hors des filtres géographiques de la campagne",
    "pause_apres_refus": "refus enregistré récemment (pause après refus)",
    "plafond_tentatives": "plafond de sollicitations sur 30 jours atteint",
    "deja_accompagne": "déjà accompagné par un travailleur social",
    "contact_recent_meme_droit": "déjà contacté récemment pour le même droit",
    NO_CHANNEL: "aucun moyen de contact utilisable pour cette campagne",
    "capacite_atteinte": "capacité de la campagne atteinte",
}
_RANK = {reason: i for i, reason in enumerate(EXCLUSION_REASONS)}

SELECTION_COLUMNS = (
    "id_foyer",
    "regle",
    "regles",
    "code_commune",
    "priorite",
    "montant_estime",
    "distance_services_km",
    "explication",
    "canaux",
    "bras",
    "motif_exclusion",
    "rang",
)


@dataclass(frozen=True)
class History:
    """What earlier campaigns did: contacts made (`id_foyer`, `regle`, `moment`) and outcomes
    (`id_foyer`, `resultat`, `moment`), across all campaigns; and the households drawn into this
    campaign's holdout recently (`holdout`), who stay in it rather than being drawn again."""

    contacts: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"id_foyer": pl.String, "regle": pl.String, "moment": pl.Datetime("us")}
        )
    )
    outcomes: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"id_foyer": pl.String, "resultat": pl.String, "moment": pl.Datetime("us")}
        )
    )
    holdout: frozenset[str] = frozenset()


def naive_utc(moment: datetime) -> datetime:
    """`moment` as a naive UTC datetime (how the tables store time); naive input is taken as UTC."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _geography_expr(campaign: Campaign, geography: Geography) -> pl.Expr:
    geo = campaign.geographie
    expr = geography.in_territory_expr()
    if geo.communes:
        expr = expr & pl.col("code_commune").is_in(geo.communes)
    if geo.distance_min_km is not None:
        expr = expr & (pl.col("distance_services_km") >= geo.distance_min_km)
    if geo.distance_max_km is not None:
        expr = expr & (pl.col("distance_services_km") <= geo.distance_max_km)
    if geo.perimetres:
        inside = pl.lit(False)
        for name in geo.perimetres:
            inside = inside | geography.perimeter_expr(name)
        expr = expr & inside
    if geo.communes_eloignees:
        expr = expr & geography.remote_expr()
    return expr.fill_null(False)


def order_expressions() -> list[pl.Expr]:
    """Most urgent first: priority (1 = highest), then the larger estimate, then the farther away."""
    return [
        pl.col("priorite").fill_null(99),
        pl.col("montant_estime").fill_null(0.0) * -1,
        pl.col("distance_services_km").fill_null(0.0) * -1,
        pl.col("id_foyer"),
    ]


def select_households(
    flags: pl.DataFrame,
    campaign: Campaign,
    geography: Geography,
    *,
    opposed: set[str],
    history: History,
    now: datetime,
) -> pl.DataFrame:
    """One row per household flagged by the campaign's rules, with its arm or its exclusion reason."""
    now = naive_utc(now)
    caps = campaign.plafonds
    flags = flags.filter(pl.col("regle").is_in(campaign.campagne.regles))
    for column in (*CHANNEL_COLUMNS.values(), "opposition_contact", "accompagnement_social"):
        if column not in flags.columns:
            flags = flags.with_columns(pl.lit(False).alias(column))

    contacts = history.contacts.with_columns(pl.col("moment").cast(pl.Datetime("us")))
    outcomes = history.outcomes.with_columns(pl.col("moment").cast(pl.Datetime("us")))
    refused = set(
        outcomes.filter(
            (pl.col("resultat") == "refus")
            & (pl.col("moment") > now - timedelta(days=caps.pause_apres_refus_jours))
        )["id_foyer"].to_list()
    )
    opposed_all = opposed | set(outcomes.filter(pl.col("resultat") == "opposition")["id_foyer"].to_list())
    recent_same_right = contacts.filter(
        pl.col("moment") > now - timedelta(days=caps.meme_droit_jours)
    ).select("id_foyer", "regle", pl.lit(True).alias("_recent_same"))
    busy = set(
        contacts.filter(pl.col("moment") > now - timedelta(days=30))
        .group_by("id_foyer")
        .len()
        .filter(pl.col("len") >= caps.tentatives_max_30_jours)["id_foyer"]
        .to_list()
    )
    channels = campaign.channels
    usable = pl.concat_list(
        [pl.when(pl.col(CHANNEL_COLUMNS[c]).fill_null(False)).then(pl.lit(c)) for c in channels]
    ).list.drop_nulls()

    flags = (
        flags.join(recent_same_right.unique(), on=["id_foyer", "regle"], how="left")
        .with_columns(
            _geography_expr(campaign, geography).alias("_in_geo"),
            usable.list.join(",").alias("canaux"),
        )
        .with_columns(
            pl.when(
                pl.col("opposition_contact").fill_null(False) | pl.col("id_foyer").is_in(sorted(opposed_all))
            )
            .then(pl.lit("opposition"))
            .when(~pl.col("_in_geo"))
            .then(pl.lit("hors_geographie"))
            .when(pl.col("id_foyer").is_in(sorted(refused)))
            .then(pl.lit("pause_apres_refus"))
            .when(pl.col("id_foyer").is_in(sorted(busy)))
            .then(pl.lit("plafond_tentatives"))
            .when(
                pl.col("accompagnement_social").fill_null(False)
                & pl.col("regle").is_in(campaign.selection.exclure_accompagnes)
            )
            .then(pl.lit("deja_accompagne"))
            .when(pl.col("_recent_same").fill_null(False))
            .then(pl.lit("contact_recent_meme_droit"))
            .when(pl.col("canaux") == "")
            .then(pl.lit(NO_CHANNEL))
            .otherwise(pl.lit(None, dtype=pl.String))
            .alias("motif_exclusion")
        )
        .with_columns(
            pl.col("motif_exclusion")
            .replace_strict(_RANK, default=None, return_dtype=pl.Int32)
            .alias("_rank")
        )
        .sort(order_expressions())
    )

    kept = flags.filter(pl.col("motif_exclusion").is_null())
    candidates = kept.group_by("id_foyer", maintain_order=True).agg(
        pl.all().first(), pl.col("regle").alias("_regles")
    )
    candidates = candidates.with_columns(pl.col("_regles").list.join(",").alias("regles")).sort(
        order_expressions()
    )
    excluded = (
        flags.filter(~pl.col("id_foyer").is_in(candidates["id_foyer"].to_list()))
        .sort("_rank", *order_expressions())
        .group_by("id_foyer", maintain_order=True)
        .agg(pl.all().first(), pl.col("regle").alias("_regles"))
        .with_columns(pl.col("_regles").list.join(",").alias("regles"))
    )

    cap = campaign.selection.plafond_foyers
    if cap is not None and candidates.height > cap:
        over = candidates.slice(cap).with_columns(pl.lit("capacite_atteinte").alias("motif_exclusion"))
        excluded = pl.concat([excluded, over], how="diagonal_relaxed")
        candidates = candidates.head(cap)

    # A household of a recent holdout stays in it (never contacted), so that the holdout measures the
    # absence of contact over the whole period; the others are drawn.
    kept = candidates.filter(pl.col("id_foyer").is_in(sorted(history.holdout))).select(
        "id_foyer", pl.lit(HOLDOUT).alias("bras")
    )
    fresh = candidates.filter(~pl.col("id_foyer").is_in(sorted(history.holdout)))
    drawn = pl.concat(
        [
            assign_arms(
                fresh.select("id_foyer", "regle", "code_commune"),
                campaign.temoin.part,
                campaign.temoin.graine,
            ).select("id_foyer", "bras"),
            kept,
        ]
    )
    candidates = candidates.join(drawn.select("id_foyer", "bras"), on="id_foyer").with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rang")
    )
    excluded = excluded.with_columns(
        pl.lit(None, dtype=pl.String).alias("bras"), pl.lit(None, dtype=pl.Int32).alias("rang")
    )
    columns = [c for c in SELECTION_COLUMNS if c in candidates.columns or c in excluded.columns]
    return pl.concat([candidates.select(columns), excluded.select(columns)], how="diagonal_relaxed").select(
        columns
    )
