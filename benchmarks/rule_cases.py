"""How long the shipped rules' own cases take to run (`uptake rules test`, and `uptake check` each time).

    .venv/bin/python benchmarks/rule_cases.py [--repetitions 5]

Measured in one process, rounds alternating: `run_cases` as it runs (each rule compiled once per
month of its cases) against its peer, every case compiled for itself (`run_case` without a compiler
given, as before). Prints the median of each and the ratio; both must give the same results.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# This folder holds a `rules.py`: it must not shadow the `rules` package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()

    from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA
    from detection.geography import Geography
    from detection.runs import load_rules
    from detection.territory import load_territory
    from rules.cases import run_case, run_cases

    geography = Geography.of(load_territory(REPO / "config" / "territoire.toml"))
    catalogue, parameters = load_rules(geography)
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}

    def per_month() -> list[object]:
        return list(run_cases(catalogue, parameters, geography, defaults, HOUSEHOLD_SCHEMA))

    def per_case() -> list[object]:
        return [
            run_case(
                catalogue.select([rule.id]), rule, i, case, parameters, geography, defaults, HOUSEHOLD_SCHEMA
            )
            for rule in catalogue.rules
            for i, case in enumerate(rule.cases)
        ]

    assert per_month() == per_case()  # warm-up, and the same results
    times: dict[str, list[float]] = {"par mois": [], "par cas": []}
    for round_ in range(args.repetitions):
        order = [("par mois", per_month), ("par cas", per_case)]
        for name, run in order if round_ % 2 == 0 else reversed(order):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    cases = sum(len(rule.cases) for rule in catalogue.rules)
    new, old = statistics.median(times["par mois"]), statistics.median(times["par cas"])
    print(f"{cases} cas, médiane de {args.repetitions} manches")
    print(f"compilé une fois par règle et par mois : {new:.2f} s")
    print(f"compilé pour chaque cas (pair)         : {old:.2f} s")
    print(f"ratio_vs_per_case={new / old:.2f}")


if __name__ == "__main__":
    main()
