"""`uptake pseudonymise` and `uptake keys rotate --raw` on raw files they must not destroy or cannot read."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def _raw(folder: Path) -> Path:
    raw = folder / "brut.parquet"
    pl.DataFrame({"matricule": ["1000001", "1000002"], "loyer": [412.5, 0.0]}).write_parquet(raw)
    return raw


def test_pseudonymising_the_raw_extract_onto_itself_is_refused_and_keeps_it(cli, tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    before = raw.read_bytes()
    result = cli("pseudonymise", str(raw), "--out", str(raw))
    assert result.code == 2
    assert "la sortie est le fichier brut lui-même" in " ".join(result.stderr.split())
    assert raw.read_bytes() == before


def test_a_truncated_raw_extract_is_a_french_error_for_pseudonymise_and_keys_rotate(
    cli, tmp_path: Path
) -> None:
    whole = _raw(tmp_path).read_bytes()
    cut = tmp_path / "coupe.parquet"
    cut.write_bytes(whole[: len(whole) // 2])
    for args in (
        ("pseudonymise", str(cut), "--out", str(tmp_path / "x.parquet")),
        ("keys", "rotate", "--raw", str(cut)),
    ):
        result = cli(*args)
        said = " ".join(result.stderr.split())
        assert result.code == 2, result.output
        assert f"{cut} : ce n'est pas un fichier Parquet complet" in said
        assert "Erreur interne" not in said and "ComputeError" not in said


def test_an_existing_output_is_replaced_only_when_asked(cli, tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    out = tmp_path / "extrait.parquet"
    out.write_bytes(b"un autre fichier")

    refused = cli("pseudonymise", str(raw), "--out", str(out))
    assert refused.code == 2 and out.read_bytes() == b"un autre fichier"
    assert "--remplacer" in " ".join(refused.stderr.split())

    replaced = cli("pseudonymise", str(raw), "--out", str(out), "--remplacer")
    assert replaced.code == 0, replaced.output
    assert pl.read_parquet(out).height == 2


def test_a_missing_directory_file_writes_not_even_the_extract(cli, tmp_path: Path) -> None:
    raw = _raw(tmp_path)
    out, contacts_out = tmp_path / "extrait.parquet", tmp_path / "contacts.csv"
    result = cli(
        "pseudonymise", str(raw), "--out", str(out),
        "--contacts", str(tmp_path / "absent.csv"), "--contacts-out", str(contacts_out),
    )  # fmt: skip
    assert result.code == 2
    assert "absent.csv : fichier introuvable" in " ".join(result.stderr.split())
    assert not out.exists() and not contacts_out.exists()
