"""The compiled catalogue against the same logic written by hand in polars, on one synthetic extract.

    .venv/bin/python benchmarks/rules.py --households 1000000

Both sides read the same Parquet extract (`scan_parquet` projected on the catalogue's columns) and
sink the long flag frame to Parquet; the two sides alternate for `--repetitions` rounds (so that
both meet the same load on a shared machine), the ratios compiled / hand-written of the best and of
the median times are printed, and the two flag files are asserted identical (same households,
rules, amounts, priorities, explanations and conditions). As a by-product it prints how the
estimates compare with the synthetic generator's own legislation oracle (its ground-truth file).
"""

# ruff: noqa: E402  (the import path is fixed before the imports, see below)
from __future__ import annotations

import sys
from pathlib import Path

# This script is named like the `rules` package: drop its own folder from the import path first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import datetime
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence

import polars as pl
from polars.testing import assert_frame_equal

from detection.contract import ContractSummary
from detection.geography import Geography
from detection.reference import load_reference
from detection.synthetic import SynthesisSpec, commune_table, write_synthetic
from detection.territory import TERRITORY_FILE, load_territory
from rules.catalogue import load_catalogue
from rules.compiler import compile_catalogue
from rules.formatting import french_integer, sentence
from rules.parameters import Parameters, load_parameters
from rules.types import INTEGER, NUMBER

REPO = Path(__file__).resolve().parent.parent
KEEP = ("code_commune",)
SEPARATOR = " ; "


class _Values:
    """Parameter values in force in the month, by dotted name."""

    def __init__(self, parameters: Parameters, month: datetime.date) -> None:
        self.parameters, self.month = parameters, month

    def __call__(self, name: str) -> float:
        value = self.parameters.at(name, self.month).value
        assert isinstance(value, float)
        return value

    def table(self, name: str, key: pl.Expr) -> pl.Expr:
        table = self.parameters.at(name, self.month).value
        assert isinstance(table, dict)
        chain = pl.when(key == next(iter(table))).then(pl.lit(table[next(iter(table))]))
        for k, v in list(table.items())[1:]:
            chain = chain.when(key == k).then(pl.lit(v))
        return chain.otherwise(None)


def hand_written(
    households: pl.LazyFrame,
    month: datetime.date,
    geography: Geography,
    parameters: Parameters,
    fingerprint: str,
    versions: Mapping[str, str],
    keep: Sequence[str] = KEEP,
) -> pl.LazyFrame:
    """The seven rules of the catalogue, written directly in polars; `keep` columns carried along."""
    v = _Values(parameters, month)
    c = pl.col
    couple = c("en_couple")
    kids = c("nb_enfants")
    n = 1 + couple.cast(pl.Int32) + kids
    months_since = (month.year * 12 + month.month) - (
        c("date_evenement").dt.year().cast(pl.Int32) * 12 + c("date_evenement").dt.month().cast(pl.Int32)
    )
    isolated = (
        ~couple
        & (kids > 0)
        & (
            (c("nb_enfants_moins_3_ans") > 0)
            | pl.when(c("evenement_vie").is_in(["separation", "deces_conjoint"]))
            .then(months_since <= 12)
            .otherwise(False)
        )
    )
    scale = (
        1
        + pl.when(n >= 2).then(v("foyer.taux_deuxieme_personne")).otherwise(0)
        + pl.when(n >= 3).then(v("foyer.taux_troisieme_personne")).otherwise(0)
        + pl.when(n >= 4)
        .then(
            pl.when(couple)
            .then(v("foyer.taux_troisieme_personne"))
            .otherwise(v("foyer.taux_personne_supplementaire"))
        )
        .otherwise(0)
        + pl.max_horizontal(n - 4, 0) * v("foyer.taux_personne_supplementaire")
    )
    majore = v("foyer.majoration_isolement") + v("foyer.majoration_isolement_par_enfant") * kids
    fl_rate = (
        pl.when(n == 1)
        .then(v("foyer.forfait_logement_1_personne"))
        .when(n == 2)
        .then(v("foyer.forfait_logement_2_personnes") * (1 + v("foyer.taux_deuxieme_personne")))
        .otherwise(
            v("foyer.forfait_logement_3_personnes")
            * (1 + v("foyer.taux_deuxieme_personne") + v("foyer.taux_troisieme_personne"))
        )
    )
    zone = c("zone_logement")

    def ceiling(z: pl.Expr | int) -> pl.Expr:
        key = z if isinstance(z, pl.Expr) else pl.lit(z)
        return (
            pl.when(kids == 0)
            .then(
                pl.when(couple)
                .then(v.table("al.plafond_loyer_couple", key))
                .otherwise(v.table("al.plafond_loyer_seul", key))
            )
            .otherwise(
                v.table("al.plafond_loyer_un_enfant", key)
                + (kids - 1) * v.table("al.plafond_loyer_enfant_supplementaire", key)
            )
        )

    rent = pl.min_horizontal(c("loyer"), ceiling(zone))
    charges = v("al.forfait_charges") + kids * v("al.forfait_charges_par_enfant")
    ratio = (rent / ceiling(2)).round(4)
    s1, s2, t2, t3 = v("al.tl_seuil_1"), v("al.tl_seuil_2"), v("al.tl_taux_2"), v("al.tl_taux_3")
    tl = (
        pl.when(ratio >= s2)
        .then(t3 * (ratio - s2) + t2 * (s2 - s1))
        .otherwise(pl.max_horizontal(0, t2 * (ratio - s1)))
    )
    tf = (
        pl.when(kids == 0)
        .then(pl.when(couple).then(v("al.tf_couple")).otherwise(v("al.tf_seul")))
        .otherwise(
            v.table("al.tf_personnes_a_charge", pl.min_horizontal(kids, 4))
            + pl.max_horizontal(kids - 4, 0) * v("al.tf_par_personne_supplementaire")
        )
    )
    r0 = (
        pl.when(kids == 0)
        .then(pl.when(couple).then(v("al.r0_couple")).otherwise(v("al.r0_seul")))
        .otherwise(
            v.table("al.r0_personnes_a_charge", pl.min_horizontal(kids, 5))
            + pl.max_horizontal(kids - 5, 0) * v("al.r0_par_personne_supplementaire")
        )
    )
    earned = c("revenus_activite_allocataire") + c("revenus_activite_conjoint")
    annual = 12 * ((1 - v("al.abattement_revenus_activite")) * earned + c("autres_ressources"))
    p0 = pl.max_horizontal(v("al.p0_taux") * (rent + charges), v("al.p0_forfait"))
    participation = p0 + (tf + tl) * pl.max_horizontal(0, annual - r0)
    tenant = (c("statut_logement") == "locataire") & (c("loyer") > 0)
    al = (
        pl.when(tenant)
        .then(
            (
                pl.max_horizontal(0, rent + charges - participation - v("al.abattement_forfaitaire"))
                * (1 - v("al.taux_crds"))
            ).round(2)
        )
        .otherwise(0)
    )
    frame = households.with_columns(
        _n=n,
        _isolated=isolated,
        _scale=scale,
        _majore=majore,
        _fl_rate=fl_rate,
        _rent=rent,
        _annual=annual,
        _al=al,
    )
    kept_al = (
        pl.when(c("percoit_al"))
        .then(c("montant_al"))
        .when(c("_al") >= v("al.montant_minimum_verse"))
        .then(c("_al"))
        .otherwise(0)
    )
    free = c("statut_logement").is_in(["proprietaire", "accedant", "heberge"])
    resources = earned + c("autres_ressources") + c("montant_prestations_familiales")

    def forfait(base: float) -> pl.Expr:
        amount = c("_fl_rate") * base
        return (
            pl.when(free).then(amount).when(kept_al > 0).then(pl.min_horizontal(kept_al, amount)).otherwise(0)
        )

    def forfaitaire(base: float) -> pl.Expr:
        return pl.when(c("_isolated")).then(base * c("_majore")).otherwise(base * c("_scale"))

    ppa_base, smic = v("ppa.montant_forfaitaire"), v("smic.horaire_brut")
    start, full = v("ppa.bonification_seuil_smic") * smic, v("ppa.bonification_plafond_smic") * smic

    def bonus(column: str) -> pl.Expr:
        share = pl.min_horizontal(1, pl.max_horizontal(0, (c(column) - start) / (full - start)))
        return v("ppa.bonification_taux_max") * ppa_base * share

    ppa_mf = forfaitaire(ppa_base)
    ppa = (
        ppa_mf
        + v("ppa.taux_revenus_activite") * earned
        + bonus("revenus_activite_allocataire")
        + bonus("revenus_activite_conjoint")
        - pl.max_horizontal(ppa_mf, resources + forfait(ppa_base))
    ).round(2)
    rsa_mf = forfaitaire(v("rsa.montant_forfaitaire"))
    rsa = (rsa_mf - resources - forfait(v("rsa.montant_forfaitaire"))).round(2)
    remote = geography.remote_expr()
    overseas = c("code_commune").str.starts_with("97")
    in_mayotte = c("code_commune").str.starts_with("976")  # its own RSA, prime d'activité and SMIC
    frame = frame.with_columns(_ppa=ppa, _rsa=rsa, _rsa_mf=rsa_mf, _months=months_since)
    frame = frame.with_columns(
        _f_ppa=~c("percoit_ppa")
        & (earned > 0)
        & (c("age_allocataire") >= v("ppa.age_minimum"))
        & (c("_ppa") >= 15)
        & ~in_mayotte,
        _f_rsa=~c("percoit_rsa")
        & ((c("age_allocataire") >= v("rsa.age_minimum")) | (kids > 0))
        & (c("age_allocataire") < v("rsa.age_aspa"))
        & (c("_rsa") >= v("rsa.montant_minimum_verse"))
        & ~in_mayotte,
        # The housing benefit's scales are metropolitan (`champ` of its parameters).
        _f_al=~c("percoit_al") & tenant & (c("_al") >= v("al.montant_minimum_verse")) & ~overseas,
        _f_ev=c("evenement_vie").is_in(["naissance", "separation", "deces_conjoint", "perte_emploi"])
        & (c("_months") >= 0)
        & (c("_months") < 3)
        & ~c("accompagnement_social"),
        _f_imp=(c("statut_logement") == "locataire")
        & ((c("impaye_loyer_mois") >= 2) | ((c("loyer") > 0) & (c("dette_locative") >= 2 * c("loyer"))))
        & ~c("accompagnement_social"),
        _f_nd=c("logement_non_decent") & (geography.perimeter_expr("OPAH") | geography.perimeter_expr("PIG")),
        _f_rdv=remote,
    )
    common = (pl.lit(fingerprint).alias("empreinte_parametres"), *[c(k) for k in keep])

    def minimum(floor: float) -> pl.Expr:
        return pl.concat_str(
            [
                pl.lit("montant estimé au moins égal au minimum versé ("),
                french_integer(pl.lit(floor)),
                pl.lit(" €)"),
            ]
        )

    def held(*pairs: tuple[pl.Expr, str]) -> pl.Expr:
        return pl.concat_str(
            [pl.when(e).then(pl.lit(t)) for e, t in pairs], separator=" ou ", ignore_nulls=True
        )

    def part(
        flag: str,
        rule: str,
        amount: pl.Expr,
        priority: pl.Expr,
        text: pl.Expr,
        conditions: list[pl.Expr],
    ) -> pl.LazyFrame:
        return frame.filter(c(flag)).select(
            c("id_foyer"),
            pl.lit(rule).alias("regle"),
            pl.lit(versions[rule]).alias("version_regle"),  # metadata, not logic
            amount.cast(pl.Float64).alias("montant_estime"),
            priority.cast(pl.Int32).alias("priorite"),
            text.alias("explication"),
            pl.concat_str(conditions, separator=SEPARATOR, ignore_nulls=True).alias("conditions_remplies"),
            *common,
        )

    by_remoteness = pl.when(remote).then(1).otherwise(2)
    none = pl.lit(None, dtype=pl.Float64)
    parts = [
        part(
            "_f_al",
            "al_non_recours",
            c("_al"),
            by_remoteness,
            sentence(
                [
                    "Loyer ",
                    (c("loyer"), NUMBER),
                    " €/mois (retenu ",
                    (c("_rent"), NUMBER),
                    " €), ressources annuelles ",
                    (c("_annual"), NUMBER),
                    " €, ne perçoit pas d'aide au logement, montant estimé ",
                    (c("_al"), NUMBER),
                    " €/mois.",
                ]
            ),
            [
                pl.lit("ne perçoit pas d'aide au logement"),
                pl.lit("locataire payant un loyer"),
                minimum(v("al.montant_minimum_verse")),
            ],
        ),
        part(
            "_f_ev",
            "evenement_vie",
            none,
            by_remoteness,
            pl.concat_str(
                [
                    pl.lit("Événement de vie ("),
                    pl.when(c("evenement_vie") == "naissance")
                    .then(pl.lit("naissance"))
                    .when(c("evenement_vie") == "separation")
                    .then(pl.lit("séparation"))
                    .when(c("evenement_vie") == "deces_conjoint")
                    .then(pl.lit("décès du conjoint"))
                    .otherwise(pl.lit("perte d'emploi")),
                    pl.lit(") le "),
                    c("date_evenement").dt.strftime("%d/%m/%Y").fill_null("non renseigné"),
                    pl.lit(", pas encore d'accompagnement social."),
                ]
            ),
            [
                pl.lit("événement de vie déclaré"),
                pl.lit("événement de moins de 3 mois"),
                pl.lit("pas encore d'accompagnement social"),
            ],
        ),
        part(
            "_f_imp",
            "impaye_locatif",
            none,
            pl.lit(1),
            sentence(
                [
                    "Impayé de loyer signalé : ",
                    (c("impaye_loyer_mois"), INTEGER),
                    " mois, dette ",
                    (c("dette_locative"), NUMBER),
                    " € pour un loyer de ",
                    (c("loyer"), NUMBER),
                    " €/mois ; pas encore d'accompagnement social.",
                ]
            ),
            [
                pl.lit("locataire"),
                held(
                    (c("impaye_loyer_mois") >= 2, "au moins 2 mois de loyer impayés"),
                    (
                        (c("loyer") > 0) & (c("dette_locative") >= 2 * c("loyer")),
                        "dette d'au moins 2 mois de loyer",
                    ),
                ),
                pl.lit("pas encore d'accompagnement social"),
            ],
        ),
        part(
            "_f_nd",
            "logement_non_decent",
            none,
            pl.lit(1),
            pl.lit(
                "Logement non décent constaté, commune couverte par un programme d'amélioration de l'habitat."
            ),
            [
                pl.lit("logement non décent constaté"),
                held(
                    (geography.perimeter_expr("OPAH"), "commune dans le périmètre d'une OPAH"),
                    (geography.perimeter_expr("PIG"), "commune dans le périmètre d'un PIG"),
                ),
            ],
        ),
        part(
            "_f_ppa",
            "ppa_non_recours",
            c("_ppa"),
            by_remoteness,
            sentence(
                [
                    "Revenus d'activité ",
                    (earned, NUMBER),
                    " €/mois, ne perçoit pas la prime d'activité, montant estimé ",
                    (c("_ppa"), NUMBER),
                    " €/mois.",
                ]
            ),
            [
                pl.lit("ne perçoit pas la prime d'activité"),
                pl.lit("revenus d'activité dans le foyer"),
                pl.lit("allocataire d'au moins 18 ans"),
                minimum(v("ppa.montant_minimum_verse")),
            ],
        ),
        part(
            "_f_rdv",
            "rdv_droits_eloignes",
            none,
            pl.lit(3),
            sentence(
                [
                    "Commune à ",
                    (geography.distance_expr(), NUMBER),
                    " km du point de service le plus proche : invitation à un rendez-vous des droits.",
                ]
            ),
            [pl.lit("commune parmi les plus éloignées des services")],
        ),
        part(
            "_f_rsa",
            "rsa_non_recours",
            c("_rsa"),
            by_remoteness,
            sentence(
                [
                    "Ressources ",
                    (resources, NUMBER),
                    " €/mois pour un montant forfaitaire de ",
                    (c("_rsa_mf"), NUMBER),
                    " €, ne perçoit pas le RSA, montant estimé ",
                    (c("_rsa"), NUMBER),
                    " €/mois.",
                ]
            ),
            [
                pl.lit("ne perçoit pas le RSA"),
                held(
                    (c("age_allocataire") >= v("rsa.age_minimum"), "allocataire d'au moins 25 ans"),
                    (kids > 0, "enfant à charge"),
                ),
                pl.lit("moins de 65 ans (sinon l'ASPA est à demander d'abord)"),
                minimum(v("rsa.montant_minimum_verse")),
            ],
        ),
    ]
    # Unordered, as the engine does: an ordered concat makes polars buffer the shared frame.
    return pl.union(parts)


def _interleaved(runs: dict[str, Callable[[], None]], repetitions: int) -> dict[str, list[float]]:
    """Time each run `repetitions` times, alternating the runs so that both meet the same machine load."""
    times: dict[str, list[float]] = {label: [] for label in runs}
    for round_number in range(repetitions):
        labels = list(runs) if round_number % 2 == 0 else list(reversed(runs))
        for label in labels:
            started = time.perf_counter()
            runs[label]()
            times[label].append(time.perf_counter() - started)
    for label, values in times.items():
        print(
            f"  {label:<16} meilleur {min(values):6.2f} s  médiane {statistics.median(values):6.2f} s  "
            f"(essais : {', '.join(f'{t:.2f}' for t in values)})"
        )
    return times


def _oracle_agreement(flags: Path, truth: Path) -> None:
    print("Accord avec l'oracle du générateur synthétique (non-recours vrai et montant du droit) :")
    estimated = pl.read_parquet(flags)
    facts = pl.read_parquet(truth)
    for rule, amount, gap in (
        ("ppa_non_recours", "ppa_droit", "non_recours_ppa"),
        ("rsa_non_recours", "rsa_droit", "non_recours_rsa"),
        ("al_non_recours", "al_droit", "non_recours_al"),
    ):
        ours = estimated.filter(pl.col("regle") == rule).select("id_foyer", "montant_estime")
        theirs = facts.filter(pl.col(gap)).select("id_foyer", amount)
        both = ours.join(theirs, on="id_foyer")
        diff = (both["montant_estime"] - both[amount]).abs()
        within = int((diff <= 5).sum())
        print(
            f"  {rule:<16} signalés {ours.height:>8}  oracle {theirs.height:>8}  communs {both.height:>8}  "
            f"écart ≤ 5 € : {within / max(both.height, 1):6.1%}  écart moyen {diff.mean() or 0:6.2f} €"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--mois", default="2025-06", help="mois de référence AAAA-MM")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    year, month_number = (int(x) for x in args.mois.split("-"))
    month = datetime.date(year, month_number, 1)

    territory = load_territory(REPO / "config" / TERRITORY_FILE)
    geography = Geography.of(territory)
    summary = ContractSummary()
    parameters = load_parameters()
    catalogue = load_catalogue(
        columns=summary.column_kinds, enums=summary.enum_values, perimeters=geography.perimeter_names()
    )
    compiled = compile_catalogue(catalogue, parameters, month, geography)
    columns = sorted(catalogue.columns_read | set(KEEP))

    with tempfile.TemporaryDirectory(prefix="uptake-bench-rules-") as tmp:
        work = Path(tmp)
        extract, truth = work / "extrait.parquet", work / "verite.parquet"
        print(f"Extrait synthétique de {args.households:,} foyers ({args.mois})…".replace(",", " "))
        communes = commune_table(load_reference(), sorted(territory.communes))
        write_synthetic(
            SynthesisSpec(args.households, seed=args.seed, month=month), communes, extract, truth=truth
        )

        def scan() -> pl.LazyFrame:
            return pl.scan_parquet(extract).select(columns)

        compiled_out, hand_out = work / "compile.parquet", work / "main.parquet"
        print("Temps (lecture de l'extrait, règles, écriture des signalements en Parquet) :")
        times = _interleaved(
            {
                "catalogue": lambda: compiled.flags(scan(), keep=KEEP).sink_parquet(compiled_out),
                "écrit à la main": lambda: hand_written(
                    scan(), month, geography, parameters, compiled.fingerprint, compiled.rule_versions
                ).sink_parquet(hand_out),
            },
            args.repetitions,
        )
        order = ["regle", "id_foyer"]
        ours, theirs = pl.read_parquet(compiled_out).sort(order), pl.read_parquet(hand_out).sort(order)
        assert_frame_equal(ours, theirs, check_exact=False, abs_tol=1e-6)
        counts = ours.group_by("regle").len().sort("regle")
        print(f"Mêmes signalements des deux côtés : {ours.height} lignes.")
        for rule, count in counts.iter_rows():
            print(f"  {rule:<22} {count:>9}")
        best = min(times["catalogue"]) / min(times["écrit à la main"])
        median = statistics.median(times["catalogue"]) / statistics.median(times["écrit à la main"])
        print(
            f"Rapport catalogue / écrit à la main : {best:.2f}× (meilleurs temps), {median:.2f}× (médianes)"
        )
        _oracle_agreement(compiled_out, truth)


if __name__ == "__main__":
    main()
