"""Time the synthesis of a national extract and its validation; print rows per second and peak memory.

    .venv/bin/python benchmarks/synthesis_validation.py --households 1000000

Each step runs in its own process so that its peak resident memory is its own. The peer measured in
the same run is a plain Parquet copy of the same file (`scan_parquet(...).sink_parquet(...)`): the
ratios say how many copies' worth of time synthesis and validation cost on this machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

# This folder holds `detection.py` and `rules.py`: it must not shadow the packages of those names.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

STEPS = ("synthese", "copie", "validation")


def _peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_step(step: str, households: int, chunk_size: int, workdir: Path) -> dict[str, float]:
    extract = workdir / "national.parquet"
    started = time.perf_counter()
    if step == "synthese":
        from detection.reference import load_reference
        from detection.synthetic import SynthesisSpec, commune_table, write_synthetic

        communes = commune_table(load_reference(), None)
        spec = SynthesisSpec(households, seed=1, chunk_size=chunk_size)
        write_synthetic(spec, communes, extract, replace=True)  # this script's own work folder
    elif step == "copie":
        pl.scan_parquet(extract).sink_parquet(workdir / "copie.parquet")
    else:
        from detection.validation import validate_extract

        validated = validate_extract(extract)
        assert validated.rows == households
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": _peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=14_000_000)
    parser.add_argument("--chunk-size", type=int, default=500_000)
    parser.add_argument("--workdir", type=Path, default=None, help="dossier de travail (défaut : temporaire)")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step:  # child process: one step, its result as JSON on stdout
        print(json.dumps(_run_step(args.step, args.households, args.chunk_size, args.workdir)))
        return

    with tempfile.TemporaryDirectory(prefix="uptake-bench-", dir=args.workdir) as tmp:
        results: dict[str, dict[str, float]] = {}
        for step in STEPS:
            command = [
                sys.executable,
                __file__,
                "--step",
                step,
                "--households",
                str(args.households),
                "--chunk-size",
                str(args.chunk_size),
                "--workdir",
                tmp,
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[step] = json.loads(done.stdout.strip().splitlines()[-1])
        size_mib = (Path(tmp) / "national.parquet").stat().st_size / 2**20

    copy_seconds = results["copie"]["seconds"]
    print(f"{_n(args.households)} foyers, blocs de {_n(args.chunk_size)}, fichier de {_n(size_mib)} Mio")
    print(f"{'étape':<12}{'secondes':>10}{'CPU (s)':>10}{'foyers/s':>14}{'RSS max (Mio)':>16}{'× copie':>10}")
    for step in STEPS:
        r = results[step]
        rate, ratio = args.households / r["seconds"], r["seconds"] / copy_seconds
        print(
            f"{step:<12}{r['seconds']:>10.1f}{r['cpu_seconds']:>10.1f}{_n(rate):>14}"
            f"{_n(r['peak_rss_mib']):>16}{ratio:>10.1f}"
        )


def _n(value: float) -> str:
    """A number with French thousands separators."""
    return f"{value:_.0f}".replace("_", " ")


if __name__ == "__main__":
    main()
