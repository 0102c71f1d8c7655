"""Write a synthetic extract, its contact directory and its ground truth, chunk by chunk.

Each chunk has its own random stream (`SeedSequence(seed, spawn_key=(chunk,))`), so a chunk can be
drawn without the ones before it and a seed always gives the same files (for the same chunk size).
Parquet: each chunk is written as a part file, then the parts are streamed into the final file by the
polars streaming engine (`scan_parquet(parts).sink_parquet`), so memory stays bounded by one chunk.
CSV (comma, decimal point): chunks are appended to the file.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from detection.synthetic.communes import CommuneTable
from detection.synthetic.contacts import ContactPools
from detection.synthetic.entitlement import values_for
from detection.synthetic.errors import SynthesisError
from detection.synthetic.households import SyntheticChunk, draw_chunk, matricules, opaque_ids

DEFAULT_MONTH = date(2025, 6, 1)
DEFAULT_CHUNK_SIZE = 500_000
MAX_HOUSEHOLDS = 100_000_000  # 8-digit matricules stay unique up to this size


@dataclass(frozen=True)
class SynthesisSpec:
    """What to draw: how many households, from which seed, for which month, raw or pseudonymised."""

    households: int
    seed: int = 0
    month: date = DEFAULT_MONTH
    raw: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.households <= MAX_HOUSEHOLDS:
            raise SynthesisError(
                f"nombre de foyers invalide ({self.households})",
                f"donnez un nombre entre 1 et {MAX_HOUSEHOLDS:_}".replace("_", " "),
            )
        if self.chunk_size < 1:
            raise SynthesisError("taille de bloc invalide", "donnez une taille de bloc d'au moins 1 foyer")
        if self.month.day != 1:
            raise SynthesisError("le mois de référence doit être un premier du mois", "écrivez AAAA-MM")
        values_for(self.month)  # refuses a month without legislation values before any file is written

    @property
    def chunks(self) -> int:
        """How many chunks the file is drawn in."""
        return -(-self.households // self.chunk_size)


@dataclass(frozen=True)
class SynthesisResult:
    """The files written."""

    households: int
    extract: Path
    truth: Path
    contacts: Path | None


def iter_chunks(
    spec: SynthesisSpec, communes: CommuneTable, *, with_contacts: bool = True
) -> Iterator[SyntheticChunk]:
    """The chunks of the file, in order, each from its own random stream."""
    pools = ContactPools.build(spec.seed)
    for index in range(spec.chunks):
        start = index * spec.chunk_size
        n = min(spec.chunk_size, spec.households - start)
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(index,)))
        keys = matricules(spec.seed, start, n, spec.households) if spec.raw else opaque_ids(rng, n)
        yield draw_chunk(rng, n, communes, spec.month, pools, keys, with_contacts=with_contacts)


def generate(spec: SynthesisSpec, communes: CommuneTable) -> SyntheticChunk:
    """The whole synthetic population in memory (small files, tests, the demo)."""
    parts = list(iter_chunks(spec, communes))
    return SyntheticChunk(
        extract=pl.concat([p.extract for p in parts]),
        contacts=pl.concat([p.contacts for p in parts if p.contacts is not None]),
        truth=pl.concat([p.truth for p in parts]),
    )


def default_truth_path(extract: Path) -> Path:
    """`<extract stem>.verite.parquet` beside the extract."""
    return extract.with_name(f"{extract.stem}.verite.parquet")


class _ChunkedFile:
    """One output file fed chunk by chunk: CSV appended, Parquet through part files."""

    def __init__(self, path: Path, workdir: Path, label: str) -> None:
        self.path, self.csv = path, path.suffix.lower() == ".csv"
        self.parts_dir = workdir / label
        self.parts: list[Path] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.csv:
            path.write_bytes(b"")
        else:
            self.parts_dir.mkdir()

    def add(self, frame: pl.DataFrame) -> None:
        if self.csv:
            with self.path.open("ab") as fh:
                frame.write_csv(fh, include_header=not self.parts)
            self.parts.append(self.path)
            return
        part = self.parts_dir / f"{len(self.parts):06d}.parquet"
        frame.write_parquet(part)
        self.parts.append(part)

    def finish(self) -> None:
        if self.csv:
            return
        if len(self.parts) == 1:
            shutil.move(self.parts[0], self.path)
        else:
            pl.scan_parquet(self.parts).sink_parquet(self.path)


def write_synthetic(
    spec: SynthesisSpec,
    communes: CommuneTable,
    extract: Path,
    *,
    contacts: Path | None = None,
    truth: Path | None = None,
    progress: Callable[[int], None] | None = None,
    replace: bool = False,
) -> SynthesisResult:
    """Write the extract (Parquet, or CSV by suffix), the ground truth and optionally the contacts.

    `progress` is called with the number of households written after each chunk. An existing file
    is replaced only when `replace` is true: a real extract must not be lost to a typo.
    """
    truth_path = truth or default_truth_path(extract)
    if len({extract.resolve(), truth_path.resolve(), (contacts or extract).resolve()}) < (
        3 if contacts else 2
    ):
        raise SynthesisError("deux sorties ont le même chemin", "donnez des fichiers différents")
    targets = [extract, truth_path] + ([contacts] if contacts is not None else [])
    for path in targets:
        if path.is_dir():
            raise SynthesisError(
                f"{path} est un dossier",
                f"donnez le chemin d'un fichier, par exemple {path / 'extrait.parquet'}",
            )
        if path.suffix.lower() not in (".parquet", ".csv"):
            raise SynthesisError(
                f"{path} : format « {path.suffix or 'sans extension'} » non pris en charge",
                "donnez un fichier .parquet ou .csv",
            )
    existing = [str(path) for path in targets if path.exists()]
    if existing and not replace:
        raise SynthesisError(
            f"{', '.join(existing)} existe déjà",
            "choisissez un autre nom, ou ajoutez --remplacer pour écraser ce qui s'y trouve",
        )
    try:
        extract.parent.mkdir(parents=True, exist_ok=True)
        working = tempfile.TemporaryDirectory(prefix=".synth-", dir=extract.parent)
    except OSError as exc:
        raise SynthesisError(
            f"impossible d'écrire dans le dossier {extract.parent} ({exc.strerror})",
            "choisissez un dossier où vous pouvez écrire",
        ) from None
    done = 0
    try:
        with working as tmp:
            workdir = Path(tmp)
            outputs = [_ChunkedFile(path, workdir, str(i)) for i, path in enumerate(targets)]
            for chunk in iter_chunks(spec, communes, with_contacts=contacts is not None):
                frames = [chunk.extract, chunk.truth]
                frames += [chunk.contacts] if chunk.contacts is not None else []
                for output, frame in zip(outputs, frames, strict=True):
                    output.add(frame)
                done += chunk.extract.height
                if progress is not None:
                    progress(done)
            for output in outputs:
                output.finish()
    except BaseException:
        # No partial output: a file that is there is complete.
        for path in targets:
            path.unlink(missing_ok=True)
        raise
    return SynthesisResult(households=done, extract=extract, truth=truth_path, contacts=contacts)
