"""How long an `uptake` command takes from the shell prompt back to the prompt, on an empty data folder.

    .venv/bin/python benchmarks/cli_startup.py [--repetitions 5] [--base REV]

Each command is started as a user starts it (`python -m uptake …`, a new process), on a throw-away
data folder whose database is created by a first call. Peers measured in the same run: the bare
interpreter (`python -c pass`) and `uptake --help`, which loads the command line alone (no command
module, no database). Prints the median of each and its ratio to `uptake --help`.

With `--base REV` (a commit of this repository), the same commands are also timed on that
commit, checked out in a temporary worktree, round after round alternating with the working copy,
and the ratio new / old is printed for each: this machine's speed drifts, compare only numbers
from one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PEERS = (("python -c pass", ["-c", "pass"]), ("uptake --help", ["-m", "uptake", "--help"]))
COMMANDS = (
    ("uptake audit verify", ["audit", "verify"]),
    ("uptake runs list", ["runs", "list"]),
    ("uptake schedule list", ["schedule", "list"]),
    ("uptake campaigns list", ["campaigns", "list"]),
    ("uptake register show", ["register", "show"]),
    ("uptake check", ["check"]),
)


def timed(code_dir: Path, args: list[str], home: Path) -> float:
    """Seconds one process takes, from start to exit (its output discarded)."""
    env = {**os.environ, "UPTAKE_HOME": str(home), "PYTHONPATH": str(code_dir), "NO_COLOR": "1"}
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=code_dir, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--base", help="commit to compare with (timed in a temporary worktree)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="uptake-cli-") as scratch:
        trees = {"actuel": REPO}
        if options.base:
            base = Path(scratch) / "base"
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(base), options.base],
                check=True,
                capture_output=True,
            )
            trees["base"] = base
        try:
            # One data folder per tree (the other commit may have other migrations), created first.
            homes = {name: Path(scratch) / f"home-{name}" for name in trees}
            for name, tree in trees.items():
                timed(tree, ["-m", "uptake", "runs", "list"], homes[name])
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(options.repetitions):
                for name, tree in trees.items():
                    for label, args in (*PEERS, *((label, ["-m", "uptake", *a]) for label, a in COMMANDS)):
                        samples.setdefault((name, label), []).append(timed(tree, args, homes[name]))
        finally:
            if options.base:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(trees["base"])],
                    check=False,
                    capture_output=True,
                )
    median = {key: statistics.median(values) for key, values in samples.items()}
    floor = median[("actuel", "uptake --help")]
    print(f"médiane de {options.repetitions} lancements, dossier de données vide (base SQLite créée)")
    header = f"{'commande':<24}{'actuel (s)':>12}{'/ --help':>10}"
    if options.base:
        header += f"{'base (s)':>11}{'actuel/base':>13}"
    print(header)
    for label, _ in (*PEERS, *COMMANDS):
        now = median[("actuel", label)]
        line = f"{label:<24}{now:>12.2f}{now / floor:>10.2f}"
        if options.base:
            before = median[("base", label)]
            line += f"{before:>11.2f}{now / before:>13.2f}"
        print(line)
    commands = [label for label, _ in COMMANDS]
    summary = f"median_command_s={statistics.median(median[('actuel', c)] for c in commands):.2f}"
    summary += f" ratio_vs_help={statistics.median(median[('actuel', c)] / floor for c in commands):.2f}"
    if options.base:
        ratios = [median[("actuel", c)] / median[("base", c)] for c in commands]
        summary += f" ratio_vs_base={statistics.median(ratios):.2f}"
    print(summary)


if __name__ == "__main__":
    main()
