"""The synthetic generator: deterministic, contract-valid, territorial, realistic non-take-up, consistent
ground truth and contacts, raw mode, national scope in chunks, and its command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
import pytest
from email_validator import EmailNotValidError, validate_email

from detection.reference import load_reference
from detection.synthetic import (
    NON_TAKE_UP,
    CommuneTable,
    SynthesisError,
    SynthesisSpec,
    SyntheticChunk,
    commune_table,
    generate,
    write_synthetic,
)
from detection.validation import validate_extract
from outreach.attempts import is_mobile
from privacy.phones import french_e164

TERRITORY_EPCI = "240400440"


@pytest.fixture(scope="module")
def territory() -> CommuneTable:
    reference = load_reference()
    return commune_table(reference, reference.of_epci(TERRITORY_EPCI)["code_commune"].to_list())


@pytest.fixture(scope="module")
def population(territory: CommuneTable) -> SyntheticChunk:
    return generate(SynthesisSpec(20_000, seed=7, chunk_size=6_000), territory)


def test_same_seed_gives_identical_frames_and_another_seed_does_not(territory: CommuneTable) -> None:
    spec = SynthesisSpec(3_000, seed=11, chunk_size=1_000)
    first, second = generate(spec, territory), generate(spec, territory)
    other = generate(SynthesisSpec(3_000, seed=12, chunk_size=1_000), territory)
    for name in ("extract", "contacts", "truth"):
        assert getattr(first, name).equals(getattr(second, name))
    assert not first.extract.drop("id_foyer").equals(other.extract.drop("id_foyer"))
    assert set(first.extract["id_foyer"]).isdisjoint(other.extract["id_foyer"])


def test_same_seed_writes_byte_identical_files(territory: CommuneTable, tmp_path: Path) -> None:
    spec = SynthesisSpec(2_500, seed=3, chunk_size=1_000)
    for run in ("a", "b"):
        write_synthetic(spec, territory, tmp_path / run / "x.parquet", contacts=tmp_path / run / "c.csv")
    write_synthetic(spec, territory, tmp_path / "sans-contacts" / "x.parquet")
    for name in ("x.parquet", "x.verite.parquet", "c.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # Leaving the contacts out does not change the extract drawn from the same seed.
    assert (tmp_path / "a" / "x.parquet").read_bytes() == (
        tmp_path / "sans-contacts" / "x.parquet"
    ).read_bytes()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_territory_extract_passes_contract_validation(
    territory: CommuneTable, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"extrait{suffix}"
    write_synthetic(SynthesisSpec(4_000, seed=1, chunk_size=1_500), territory, out)
    validated = validate_extract(out)
    assert validated.rows == 4_000
    assert validated.dropped_columns == ()
    assert str(validated.mois_reference) == "2025-06-01"


def test_territory_households_live_in_its_communes_in_proportion_to_population(
    territory: CommuneTable, population: SyntheticChunk
) -> None:
    counts = population.extract["code_commune"].value_counts()
    observed = dict(zip(counts["code_commune"], counts["count"], strict=True))
    assert set(observed) <= set(territory.codes)
    n = population.extract.height
    expected = dict(zip(territory.codes, territory.weights * n, strict=True))
    chi2 = sum((observed.get(code, 0) - e) ** 2 / e for code, e in expected.items())
    assert chi2 < 32.9  # 99.9 % quantile of chi-square with 12 degrees of freedom
    assert observed["04088"] > n * 0.45  # Forcalquier holds half of the population


def test_non_take_up_shares_are_close_to_the_targets(population: SyntheticChunk) -> None:
    truth = population.truth
    for benefit, target in NON_TAKE_UP.items():
        entitled = truth.filter(pl.col(f"{benefit}_droit") > 0)
        assert entitled.height > 300
        share = entitled[f"non_recours_{benefit}"].mean()
        assert isinstance(share, float)
        assert abs(share - target) < 0.05, benefit


def test_population_looks_like_caf_households(population: SyntheticChunk) -> None:
    e = population.extract
    tenants = (e["statut_logement"] == "locataire").mean()
    assert isinstance(tenants, float) and 0.5 < tenants < 0.65
    couples = e["en_couple"].mean()
    assert isinstance(couples, float) and 0.2 < couples < 0.35
    no_earnings = (e["revenus_activite_allocataire"] == 0).mean()
    assert isinstance(no_earnings, float) and 0.3 < no_earnings < 0.6
    assert 0.0 < e["logement_non_decent"].mean() < 0.06  # type: ignore[operator]
    assert 0.0 < (e["impaye_loyer_mois"] > 0).mean() < 0.06  # type: ignore[operator]
    assert 0.005 < e["opposition_contact"].mean() < 0.03  # type: ignore[operator]
    assert (e["zone_logement"] == 3).all()  # the territory is in zone 3


def test_ground_truth_agrees_with_what_the_extract_says_is_paid(population: SyntheticChunk) -> None:
    both = population.extract.join(population.truth, on="id_foyer")
    assert both.height == population.extract.height
    for benefit, minimum in (("ppa", 15.0), ("rsa", 6.0), ("al", 10.0)):
        droit, paid, amount = (
            pl.col(f"{benefit}_droit"),
            pl.col(f"percoit_{benefit}"),
            pl.col(f"montant_{benefit}"),
        )
        non_claimant = pl.col(f"non_recours_{benefit}")
        assert both.filter(non_claimant & (paid | (droit < minimum))).is_empty(), benefit
        assert both.filter(paid & ((droit < minimum) | ((amount - droit).abs() > 0.035 * droit))).is_empty()
        assert both.filter(~paid & (amount != 0)).is_empty()
        assert both.filter((droit > 0) & ~paid & ~non_claimant).is_empty()


def test_life_events_are_recent_and_not_after_the_reference_month(population: SyntheticChunk) -> None:
    events = population.extract.filter(pl.col("evenement_vie").is_not_null())
    assert events.height > 0.05 * population.extract.height
    assert events["date_evenement"].null_count() == 0
    age_days = (pl.col("mois_reference") - pl.col("date_evenement")).dt.total_days()
    ages = events.select(age_days).to_series()
    assert ages.min() >= 0  # type: ignore[operator]
    assert (ages <= 183).mean() > 0.7  # type: ignore[operator]
    assert (ages > 183).any()
    births = population.extract.filter(pl.col("evenement_vie") == "naissance")
    assert (births["nb_enfants_moins_3_ans"] > 0).all()


def _is_mobile(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def _valid_email(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def test_contacts_match_the_channels_and_some_are_invalid(population: SyntheticChunk) -> None:
    assert population.contacts is not None
    both = population.extract.join(population.contacts, on="id_foyer")
    assert both.height == population.extract.height
    assert (both["canal_telephone"] == both["telephone"].is_not_null()).all()
    assert (both["canal_email"] == both["email"].is_not_null()).all()
    assert (both["canal_courrier"] == both["adresse"].is_not_null()).all()
    sms = both.filter(pl.col("canal_sms"))["telephone"]
    mobile_prefix = r"^(0[67]|\+33 [67]|0033[67])"
    assert sms.str.contains(mobile_prefix).all()
    landlines = both.filter(pl.col("canal_telephone") & ~pl.col("canal_sms"))["telephone"]
    assert not landlines.str.contains(mobile_prefix).any()
    for written_form in (r"^0\d \d\d \d\d", r"^0\d{9}$", r"^\+33 \d \d\d", r"^0033\d{9}$"):
        assert sms.str.contains(written_form).any(), written_form

    phones = both["telephone"].drop_nulls().to_list()[:4000]
    invalid_phones = sum(not _is_mobile(p) for p in phones) / len(phones)
    emails = both["email"].drop_nulls().to_list()[:4000]
    invalid_emails = sum(not _valid_email(e) for e in emails) / len(emails)
    assert 0.01 < invalid_phones < 0.06
    assert 0.01 < invalid_emails < 0.06
    assert set(both["civilite"].unique()) <= {"M.", "Mme", ""}


@pytest.mark.parametrize(
    ("epci", "country"), [("249740119", "+262"), ("200018653", "+590"), ("200060457", "+262")]
)
def test_households_of_an_overseas_department_have_its_numbers(epci: str, country: str) -> None:
    reference = load_reference()  # the CINOR (La Réunion), Cap Excellence (Guadeloupe), Dembeni-Mamoudzou
    overseas = commune_table(reference, reference.of_epci(epci)["code_commune"].to_list())
    population = generate(SynthesisSpec(3_000, seed=3, chunk_size=3_000), overseas)
    assert population.contacts is not None
    both = population.extract.join(population.contacts, on="id_foyer")
    phones = both.filter(pl.col("canal_telephone"))["telephone"].to_list()
    kept = [french_e164(p) for p in phones if _readable(p)]
    valid = [e164 for e164 in kept if e164 is not None]
    assert 0.9 < len(valid) / len(phones) < 0.99  # a few made invalid on purpose, as in France
    assert all(e164.startswith(country) for e164 in valid)
    sms = both.filter(pl.col("canal_sms"))["telephone"].to_list()
    assert all(is_mobile(e164) for e164 in (french_e164(p) for p in sms if _readable(p)) if e164)


def _readable(number: str) -> bool:
    try:
        phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return False
    return True


def test_raw_mode_keys_everything_by_matricule(territory: CommuneTable, tmp_path: Path) -> None:
    out, contacts = tmp_path / "brut.parquet", tmp_path / "contacts.parquet"
    result = write_synthetic(
        SynthesisSpec(3_000, seed=5, raw=True, chunk_size=1_000), territory, out, contacts=contacts
    )
    for path in (out, contacts, result.truth):
        frame = pl.read_parquet(path)
        assert "matricule" in frame.columns and "id_foyer" not in frame.columns
        assert frame["matricule"].str.contains(r"^\d{7}$").all()
        assert frame["matricule"].n_unique() == 3_000
    assert pl.read_parquet(out)["matricule"].equals(pl.read_parquet(contacts)["matricule"])


def test_national_scope_is_written_in_chunks_over_many_departments(tmp_path: Path) -> None:
    national = commune_table(load_reference(), None)
    progress: list[int] = []
    out = tmp_path / "national.parquet"
    result = write_synthetic(
        SynthesisSpec(200_000, seed=2, chunk_size=50_000), national, out, progress=progress.append
    )
    assert progress == [50_000, 100_000, 150_000, 200_000]
    assert result.households == 200_000
    frame = pl.scan_parquet(out).select("id_foyer", "code_commune", "zone_logement").collect()
    assert frame.height == 200_000
    assert frame["id_foyer"].n_unique() == 200_000
    assert frame["code_commune"].str.slice(0, 2).n_unique() > 90
    assert set(frame["zone_logement"].unique()) == {1, 2, 3}
    assert pl.scan_parquet(result.truth).select(pl.len()).collect().item() == 200_000
    assert not list(tmp_path.glob(".synth-*"))  # part files cleaned up


def test_a_month_without_legislation_values_is_refused_before_writing(
    territory: CommuneTable, tmp_path: Path
) -> None:
    from datetime import date

    with pytest.raises(SynthesisError, match="2023-04"):
        write_synthetic(SynthesisSpec(10, month=date(2022, 1, 1)), territory, tmp_path / "x.parquet")
    assert not list(tmp_path.iterdir())


def test_cli_writes_extract_truth_and_contacts(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "territoire.parquet"
    result = cli("synth", "--households", "800", "--out", str(out), "--contacts", str(tmp_path / "c.csv"))
    assert result.code == 0, result.output
    assert "800 foyers" in result.stdout
    assert validate_extract(out).rows == 800
    assert pl.read_parquet(tmp_path / "territoire.verite.parquet").height == 800
    assert pl.read_csv(tmp_path / "c.csv").columns[:4] == ["id_foyer", "civilite", "nom", "prenom"]


def test_cli_never_overwrites_an_existing_file_unless_asked(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "extrait.parquet"
    out.write_bytes(b"un vrai extrait")
    refused = cli("synth", "--households", "10", "--out", str(out))
    assert refused.code == 2 and "existe déjà" in refused.output and "--remplacer" in refused.output
    assert out.read_bytes() == b"un vrai extrait" and not (tmp_path / "extrait.verite.parquet").exists()

    assert cli("synth", "--households", "10", "--out", str(out), "--remplacer").code == 0
    assert validate_extract(out).rows == 10


def test_cli_refuses_a_malformed_month_in_french(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("synth", "--households", "10", "--out", str(tmp_path / "x.parquet"), "--month", "juin")
    assert result.code == 2
    assert "AAAA-MM" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_weights_follow_population_and_unknown_codes_are_refused() -> None:
    reference = load_reference()
    table = commune_table(reference, ["04088", "04087"])
    assert np.isclose(table.weights.sum(), 1.0)
    assert table.weights[list(table.codes).index("04088")] > 0.9
    with pytest.raises(SynthesisError, match="99999"):
        commune_table(reference, ["04088", "99999"])


def test_communes_without_a_known_population_weigh_the_same_and_empty_villages_nothing() -> None:
    reference = load_reference()
    mayotte = reference.of_epci("200060457")["code_commune"].to_list()  # no legal population given
    table = commune_table(reference, mayotte)
    assert len(mayotte) == 2 and np.allclose(table.weights, 0.5)
    # Beside a commune of known population, they weigh nothing, as before.
    mixed = commune_table(reference, [*mayotte, "04088"])
    assert mixed.weights[list(mixed.codes).index("04088")] == 1.0
    # Villages destroyed in 1916, of known population 0: nobody lives there to synthesise.
    with pytest.raises(SynthesisError, match="aucune population connue"):
        commune_table(reference, ["55039", "55050"])


def test_cli_national_raw_csv_uses_matricule(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "brut.csv"
    result = cli("synth", "-n", "300", "--scope", "national", "--raw", "--out", str(out), "--seed", "4")
    assert result.code == 0, result.output
    frame = pl.read_csv(out, schema_overrides={"matricule": pl.String, "code_commune": pl.String})
    assert frame.height == 300
    assert frame.columns[0] == "matricule" and "id_foyer" not in frame.columns
    assert frame["code_commune"].n_unique() > 200


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("dossier", "est un dossier"),
        ("extrait.txt", "format « .txt » non pris en charge"),
        ("interdit/extrait.parquet", "impossible d'écrire dans le dossier"),
    ],
)
def test_synth_refuses_an_output_it_cannot_write_as_asked(
    cli, tmp_path: Path, target: str, said: str
) -> None:
    (tmp_path / "dossier").mkdir()
    (tmp_path / "interdit").write_text("un fichier, pas un dossier", encoding="utf-8")
    refused = cli("synth", "--households", "10", "--out", str(tmp_path / target), "--remplacer")
    assert refused.code == 2 and said in " ".join(refused.output.split())
    assert ".synth-" not in refused.output and not list((tmp_path / "dossier").iterdir())
