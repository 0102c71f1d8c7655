from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from privacy.directory import PSEUDONYM_PATTERN
from privacy.errors import InputInvalid
from privacy.keys import Keyring
from privacy.pseudonyms import key_text, pseudonym_of, pseudonymise_file, pseudonymise_frame

TERRITORY = "240400440"
# Matricules are short numbers: the whole space can be enumerated.
SPACE = [str(n) for n in range(1_000_000, 1_200_000)]


def test_a_plain_hash_is_reversed_by_enumeration_but_the_keyed_pseudonym_is_not(keyring: Keyring) -> None:
    secret_matricule = "1123456"
    plain = hashlib.sha256(secret_matricule.encode()).hexdigest()
    keyed = pseudonym_of(key_text(keyring, TERRITORY, "droits"), secret_matricule)

    candidates = pl.DataFrame({"matricule": SPACE})
    plain_table = candidates.with_columns(
        h=pl.col("matricule").map_elements(
            lambda m: hashlib.sha256(m.encode()).hexdigest(), return_dtype=pl.String
        )
    )
    assert plain_table.filter(pl.col("h") == plain)["matricule"].to_list() == [secret_matricule]
    # The same enumeration is useless against the keyed pseudonym without the key.
    assert plain_table.filter(pl.col("h") == keyed).is_empty()
    # ...and with another key (another partner's) it finds nothing either.
    other = pseudonymise_frame(candidates.lazy(), "00" * 32).collect()
    assert other.filter(pl.col("id_foyer") == keyed).is_empty()


def test_two_purposes_give_unlinkable_pseudonyms(keyring: Keyring) -> None:
    frame = pl.DataFrame({"matricule": SPACE[:5000]}).lazy()
    rights = pseudonymise_frame(frame, key_text(keyring, TERRITORY, "droits")).collect()["id_foyer"]
    housing = pseudonymise_frame(frame, key_text(keyring, TERRITORY, "logement")).collect()["id_foyer"]
    assert set(rights).isdisjoint(set(housing))
    # No shared prefix structure either: the first hex digit agrees by chance only (~1/16).
    agree = sum(a[0] == b[0] for a, b in zip(rights, housing, strict=True)) / 5000
    assert 0.03 < agree < 0.10


def test_two_territories_give_unlinkable_pseudonyms(keyring: Keyring) -> None:
    a = pseudonym_of(key_text(keyring, "240400440", "droits"), "1000001")
    b = pseudonym_of(key_text(keyring, "200067106", "droits"), "1000001")
    assert a != b


def test_vectorised_and_single_value_pseudonyms_agree_and_fit_the_contract(keyring: Keyring) -> None:
    key = key_text(keyring, TERRITORY, "droits")
    frame = pl.DataFrame({"matricule": ["1000001", " 1000002 "]}).lazy()
    out = pseudonymise_frame(frame, key).collect()["id_foyer"].to_list()
    assert out == [pseudonym_of(key, "1000001"), pseudonym_of(key, "1000002")]
    assert all(re.match(PSEUDONYM_PATTERN, p) for p in out)


def test_pseudonymising_a_csv_changes_only_the_matricule(keyring: Keyring, tmp_path: Path) -> None:
    raw = tmp_path / "brut.csv"
    raw.write_text("matricule;code_commune;loyer\n1000001;04088;412,50\n1000002;04178;0\n", encoding="utf-8")
    out = tmp_path / "pseudo.csv"
    key = key_text(keyring, TERRITORY, "droits")
    written = pseudonymise_file(raw, out, key)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id_foyer;code_commune;loyer"
    assert lines[1] == f"{pseudonym_of(key, '1000001')};04088;412,50"
    assert written.rows == 2
    assert "1000001" not in out.read_text(encoding="utf-8")


def test_pseudonymising_parquet_streams_to_parquet(keyring: Keyring, tmp_path: Path) -> None:
    raw = tmp_path / "brut.parquet"
    pl.DataFrame({"matricule": [1000001, 1000002], "nb_enfants": [2, 0]}).write_parquet(raw)
    out = tmp_path / "pseudo.parquet"
    key = key_text(keyring, TERRITORY, "droits")
    pseudonymise_file(raw, out, key)
    result = pl.read_parquet(out)
    assert result.columns == ["id_foyer", "nb_enfants"]
    assert result["nb_enfants"].to_list() == [2, 0]
    assert result["id_foyer"][0] == pseudonym_of(key, "1000001")


def test_rows_without_matricule_are_refused_and_nothing_is_left(keyring: Keyring, tmp_path: Path) -> None:
    raw = tmp_path / "brut.csv"
    raw.write_text("matricule,loyer\n1000001,1\n,2\n", encoding="utf-8")
    out = tmp_path / "pseudo.csv"
    with pytest.raises(InputInvalid, match="1 ligne"):
        pseudonymise_file(raw, out, key_text(keyring, TERRITORY, "droits"))
    assert not out.exists()


def _raw_parquet(folder: Path) -> Path:
    raw = folder / "brut.parquet"
    pl.DataFrame({"matricule": ["1000001", "1000002"], "loyer": [412.5, 0.0]}).write_parquet(raw)
    return raw


def test_the_raw_file_is_refused_as_its_own_output_and_stays_as_it_was(
    keyring: Keyring, tmp_path: Path
) -> None:
    raw = _raw_parquet(tmp_path)
    before = raw.read_bytes()
    with pytest.raises(InputInvalid, match="la sortie est le fichier brut lui-même") as refused:
        pseudonymise_file(raw, tmp_path / "." / "brut.parquet", key_text(keyring, TERRITORY, "droits"))
    assert "keys rotate --raw" in str(refused.value)
    assert raw.read_bytes() == before


def test_an_existing_output_is_replaced_only_when_asked(keyring: Keyring, tmp_path: Path) -> None:
    raw, out = _raw_parquet(tmp_path), tmp_path / "pseudo.parquet"
    out.write_bytes(b"fichier d'un autre jour")
    key = key_text(keyring, TERRITORY, "droits")
    with pytest.raises(InputInvalid, match=r"la sortie existe déjà\. .*--remplacer"):
        pseudonymise_file(raw, out, key)
    assert out.read_bytes() == b"fichier d'un autre jour"

    written = pseudonymise_file(raw, out, key, replace=True)

    assert written.rows == 2 and pl.read_parquet(out)["id_foyer"][0] == pseudonym_of(key, "1000001")


def test_a_replaced_output_is_untouched_when_the_new_file_is_refused(
    keyring: Keyring, tmp_path: Path
) -> None:
    raw, out = tmp_path / "brut.csv", tmp_path / "pseudo.csv"
    raw.write_text("matricule,loyer\n1000001,1\n,2\n", encoding="utf-8")
    out.write_text("id_foyer,loyer\nancien,1\n", encoding="utf-8")
    with pytest.raises(InputInvalid, match="1 ligne"):
        pseudonymise_file(raw, out, key_text(keyring, TERRITORY, "droits"), replace=True)
    assert out.read_text(encoding="utf-8") == "id_foyer,loyer\nancien,1\n"
    assert not list(tmp_path.glob(".*"))  # no partial file left


def test_an_output_that_is_a_folder_is_said_to_be_one(keyring: Keyring, tmp_path: Path) -> None:
    folder = tmp_path / "sortie.parquet"
    folder.mkdir()
    with pytest.raises(InputInvalid) as refused:
        pseudonymise_file(_raw_parquet(tmp_path), folder, key_text(keyring, TERRITORY, "droits"))
    assert str(refused.value).startswith(f"{folder} : la sortie est un dossier.")
    assert ".tmp" not in str(refused.value) and list(folder.iterdir()) == []


def _truncated_parquet(folder: Path) -> Path:
    whole = _raw_parquet(folder).read_bytes()
    cut = folder / "coupe.parquet"
    cut.write_bytes(whole[: len(whole) // 2])
    return cut


def _latin1_csv(folder: Path) -> Path:
    path = folder / "latin1.csv"
    path.write_bytes("matricule;nom\n1000001;Hélène\n".encode("latin-1"))
    return path


def _empty_csv(folder: Path) -> Path:
    path = folder / "vide.csv"
    path.write_bytes(b"")
    return path


def _folder(folder: Path) -> Path:
    path = folder / "dossier.parquet"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (_truncated_parquet, "ce n'est pas un fichier Parquet complet"),
        (_empty_csv, "fichier vide (0 octet)"),
        (_folder, "c'est un dossier"),
        (_latin1_csv, "n'est pas encodé en UTF-8 (premier caractère illisible ligne 2"),
    ],
)
def test_an_unreadable_raw_file_is_a_french_error_naming_it_and_the_cause(
    keyring: Keyring, tmp_path: Path, make: Callable[[Path], Path], said: str
) -> None:
    source = make(tmp_path)
    out = tmp_path / "sortie" / "pseudo.parquet"
    with pytest.raises(InputInvalid) as refused:
        pseudonymise_file(source, out, key_text(keyring, TERRITORY, "droits"))
    message = str(refused.value)
    assert message.startswith(f"{source} : ") and said in message
    assert "Error" not in message and "Hélène" not in message
    assert not out.parent.exists()  # nothing written, not even the folder
