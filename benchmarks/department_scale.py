"""A large Caf's month after detection: the steps whose cost grew faster than the number of households.

    .venv/bin/python benchmarks/department_scale.py --base 36090ab [--households 200000] [--communes 650]

Two measures, each in its own process, on the working copy and on the commit `--base` (checked out in
a temporary worktree), rounds alternating between the two:

- `contacts`: `uptake contacts import` of a synthetic directory of `--households` records (about one
  in twenty with an invalid telephone or e-mail, as the generator makes them), in a fresh data folder;
- `secret`: the disclosure control of the action 2.2 report's commune table (`privacy.disclosure`,
  the same tables and relations as `outreach.indicators`) over `--communes` communes, most of them
  with small counts, as for a department's month;
- `mois`: the whole month of `uptake demo --foyers N` (synthetic territory, directory import,
  detection, campaign launches with their SMS, e-mails, letters and call lists, follow-ups, report),
  in a fresh data folder; the peak is that of the demo's own process (`--households` at most 200,000).

Prints, per measure, the best time and the peak memory of each side, and the ratios new / base of
the time and of the peak memory (below 1: the working copy is faster, or holds less).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run inside the code folder under test: the disclosure control of a commune table like the report's
# (flagged = contacted + controls + set aside; rights opened in each arm; margins in a summary table).
SECRET_CHILD = """
import random, sys
import polars as pl
from privacy.disclosure import Breakdown, Relation, Table, protect_tables
communes = int(sys.argv[1])
rng = random.Random(20261202)
rows = []
for _ in range(communes):
    flagged = int(rng.paretovariate(1.2) * 6)
    contacted = rng.randint(int(flagged * 0.7), flagged)
    controls = rng.randint(0, flagged - contacted)
    rows.append((flagged, contacted, controls, rng.randint(0, contacted // 4), rng.randint(0, controls // 4)))
counts = ("foyers_signales", "foyers_contactes", "foyers_temoins", "droits_ouverts_contactes",
          "droits_ouverts_temoins")
frame = pl.DataFrame(rows, schema=list(counts), orient="row")
breakdowns = (
    Breakdown("foyers_signales", ("foyers_contactes", "foyers_temoins")),
    Breakdown("foyers_contactes", ("droits_ouverts_contactes",)),
    Breakdown("foyers_temoins", ("droits_ouverts_temoins",)),
)
table = Table("communes", frame, counts, breakdowns, ("foyers_contactes",))
margins = ("foyers_signales", "foyers_temoins", "droits_ouverts_contactes", "droits_ouverts_temoins")
summary = Table("synthese", pl.DataFrame({"valeur": [int(frame[c].sum()) for c in margins]}), ("valeur",))
links = [Relation(table.column(c), ("synthese", i, "valeur")) for i, c in enumerate(margins)]
hidden = protect_tables([table, summary], links, 11)["communes"]
print(sum(hidden[c].null_count() for c in counts))
"""


def measured(code_dir: Path, args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, peak resident memory (MB) and last output line of one child process in `code_dir`."""
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *args], cwd=code_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(args[:3])} a échoué dans {code_dir} :\n{output[-2000:]}")
    last = output.strip().splitlines()[0] if output.strip() else ""
    return seconds, usage.ru_maxrss / 1024, last


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base", required=True, help="commit to compare with (timed in a temporary worktree)"
    )
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--communes", type=int, default=650)
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--only", choices=("contacts", "secret", "mois"), help="one measure only")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uptake-scale-") as scratch:
        work = Path(scratch)
        base = work / "base"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), options.base],
            check=True,
            capture_output=True,
        )
        trees = {"nouveau": REPO, "base": base}
        try:
            env = {**os.environ, "UPTAKE_ACTEUR": "banc-essai"}
            directory = work / "contacts.csv"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "uptake",
                    "synth",
                    "--households",
                    str(options.households),
                    "--out",
                    str(work / "extrait.parquet"),
                    "--contacts",
                    str(directory),
                ],
                cwd=REPO,
                env={**env, "UPTAKE_HOME": str(work / "synth")},
                check=True,
                capture_output=True,
            )
            measures: dict[str, Callable[[Path], list[str]]] = {
                "contacts": lambda _home: ["-m", "uptake", "contacts", "import", str(directory)],
                "secret": lambda _home: ["-c", SECRET_CHILD, str(options.communes)],
                "mois": lambda home: [
                    *("-m", "uptake", "demo", "--foyers", str(options.households)),
                    *("--out", str(home / "demo")),
                ],
            }
            for name, arguments in measures.items():
                if options.only and name != options.only:
                    continue
                best: dict[str, tuple[float, float, str]] = {}
                for round_no in range(options.repetitions):
                    order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
                    for side in order:
                        home = work / f"{name}-{side}-{round_no}"
                        args = arguments(home)
                        result = measured(trees[side], args, {**env, "UPTAKE_HOME": str(home)})
                        if side not in best or result[0] < best[side][0]:
                            best[side] = result
                for side, (seconds, peak, said) in best.items():
                    print(f"{name:9} {side:8} {seconds:9.2f} s  {peak:7.0f} Mo  {said[:70]}")
                print(f"{name:9} ratio nouveau / base = {best['nouveau'][0] / best['base'][0]:.3f}")
                print(f"{name:9} mémoire nouveau / base = {best['nouveau'][1] / best['base'][1]:.3f}")
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
