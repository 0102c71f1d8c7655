"""The rules' own test cases as a gate: a catalogue whose cases fail is not applied.

Running every case takes a second or two; their verdict depends only on what they run on: the
rule's definition and version, the parameters and settings in force in each case's month (the
`parameters fingerprint` a run records), the cases themselves, the territory, and the code and
reference data that compile and evaluate them. Each rule's verdict is recorded in the
`detection_case_verifications` table under a fingerprint of all that, so that a catalogue verified
once is not verified again, on any host sharing the database, until one of them changes.

A host with several data folders (a test suite, a Caf keeping one per territory) may also share the
verdicts between them: `UPTAKE_CACHE` names a folder where each verdict is kept as a small file
under its fingerprint (counts only, no household). A verdict found there is recorded in the database
as if the cases had run, since the fingerprint covers everything they depend on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
from sqlalchemy import DateTime, Engine, Float, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

import rules
from detection import contract
from detection.errors import DetectionError
from detection.geography import Geography, territory_fingerprint
from detection.models import Base
from detection.records import utcnow
from rules.cases import CaseResult, run_cases
from rules.catalogue import Catalogue, Rule, case_month
from rules.compiler import compile_catalogue
from rules.errors import RulesError
from rules.parameters import Parameters

# The folder of verdicts shared between the data folders of this host; unset: none.
CACHE_ENV = "UPTAKE_CACHE"

log = logging.getLogger(__name__)


class CaseVerification(Base):
    """One rule's cases run once: how many there were, failed, and failed on another territory's
    commune (see the `detection_0007` migration)."""

    __tablename__ = "detection_case_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    rule_id: Mapped[str] = mapped_column(String(200))
    rule_version: Mapped[str] = mapped_column(String(50))
    cases: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    elsewhere: Mapped[int] = mapped_column(Integer)
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    host: Mapped[str] = mapped_column(String(255))
    seconds: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class RuleVerdict:
    """What one rule's cases gave; `recorded` when read from an earlier verification."""

    rule_id: str
    version: str
    cases: int
    failed: int
    # Failed cases whose household lives outside the configured territory: written for another one,
    # they do not show that the rule is wrong.
    elsewhere: int
    verified_at: dt.datetime
    recorded: bool

    @property
    def wrong(self) -> int:
        """Failed cases that tell the rule computes something else than its author meant."""
        return self.failed - self.elsewhere


@dataclass(frozen=True)
class CatalogueVerdict:
    """The verdicts of every rule of a catalogue (of those selected for a run)."""

    rules: tuple[RuleVerdict, ...]

    @property
    def cases(self) -> int:
        return sum(v.cases for v in self.rules)

    @property
    def failed(self) -> int:
        return sum(v.failed for v in self.rules)

    @property
    def wrong(self) -> int:
        return sum(v.wrong for v in self.rules)

    @property
    def elsewhere(self) -> int:
        return sum(v.elsewhere for v in self.rules)

    @property
    def wrong_rules(self) -> list[RuleVerdict]:
        """The rules a run refuses to apply."""
        return [v for v in self.rules if v.wrong]

    @property
    def elsewhere_rules(self) -> list[str]:
        return [v.rule_id for v in self.rules if v.elsewhere]


class CasesFailed(DetectionError):
    """Some rules' own test cases fail: they compute something else than their authors meant, and a
    run would publish flags computed by them. Refused before the extract is read."""

    exit_code = 2

    def __init__(self, verdict: CatalogueVerdict) -> None:
        self.verdict = verdict
        wrong = verdict.wrong_rules
        listed = ", ".join(f"{v.rule_id} ({v.wrong} cas sur {v.cases})" for v in wrong)
        options = " ".join(f"--regle {v.rule_id}" for v in wrong)
        # What is wrong and the fix, without what a run does about it (`uptake check` says it too).
        self.told = (
            f"{verdict.wrong} cas de test en échec, règle(s) {listed} : ces règles ne calculent pas ce que "
            f"leurs cas attendent. Le détail : « uptake rules test {options} » ; corrigez la règle (en "
            "montant sa version) ou ses cas"
        )
        super().__init__(
            f"catalogue refusé : {self.told}, puis relancez ; pour appliquer les autres règles d'ici là, "
            "nommez-les avec --rules. Rien n'a été exécuté, aucun drapeau écrit"
        )


def verify_catalogue(
    catalogue: Catalogue, parameters: Parameters, geography: Geography, engine: Engine | None
) -> CatalogueVerdict:
    """Each rule's verdict: read from its record when its cases already ran on the same content, run
    (and recorded, when `engine` is given) otherwise. A rule without cases has a verdict of none."""
    # Computed once: the national territory's is a list of 35,000 communes.
    around = {"territoire": territory_fingerprint(geography), "logiciel": software_fingerprint()}
    fingerprints = {
        rule.id: rule_fingerprint(catalogue, rule, parameters, geography, around) for rule in catalogue.rules
    }
    recorded: dict[str, CaseVerification] = {}
    known = [f for f in fingerprints.values() if f is not None]
    if engine is not None and known:
        with Session(engine) as session:
            rows = session.scalars(select(CaseVerification).where(CaseVerification.fingerprint.in_(known)))
            recorded = {row.fingerprint: row for row in rows}
    verdicts: dict[str, RuleVerdict] = {}
    to_run: list[Rule] = []
    for rule in catalogue.rules:
        fingerprint = fingerprints[rule.id]
        row = recorded.get(fingerprint or "")
        shared = _shared(fingerprint, rule) if row is None and fingerprint is not None else None
        if row is not None:
            verdicts[rule.id] = RuleVerdict(
                rule.id, rule.version, row.cases, row.failed, row.elsewhere, row.verified_at, True
            )
        elif shared is not None:
            verdicts[rule.id], seconds = shared
            if engine is not None and fingerprint is not None:
                _record(engine, fingerprint, verdicts[rule.id], seconds)
        elif rule.cases:
            to_run.append(rule)
        else:
            verdicts[rule.id] = RuleVerdict(rule.id, rule.version, 0, 0, 0, utcnow(), False)
    if to_run:
        start = time.perf_counter()
        results = _run(catalogue.select([rule.id for rule in to_run]), parameters, geography)
        seconds = round((time.perf_counter() - start) / len(to_run), 3)
        for rule in to_run:
            mine = [r for r in results if r.rule_id == rule.id]
            verdict = RuleVerdict(
                rule.id,
                rule.version,
                len(mine),
                sum(not r.passed for r in mine),
                sum(r.elsewhere for r in mine),
                utcnow(),
                False,
            )
            verdicts[rule.id] = verdict
            fingerprint = fingerprints[rule.id]
            if fingerprint is not None:
                if engine is not None:
                    _record(engine, fingerprint, verdict, seconds)
                _share(fingerprint, verdict, seconds)
    return CatalogueVerdict(tuple(verdicts[rule.id] for rule in catalogue.rules))


def _shared_folder() -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    return Path(folder).expanduser() / "verdicts-cas" if folder else None


def _shared(fingerprint: str, rule: Rule) -> tuple[RuleVerdict, float] | None:
    """The verdict kept under `fingerprint` in the shared folder, with how long its cases took; None
    when there is none (or it cannot be read: it is only a cache)."""
    folder = _shared_folder()
    if folder is None:
        return None
    try:
        kept = json.loads((folder / f"{fingerprint}.json").read_text(encoding="utf-8"))
        verdict = RuleVerdict(
            rule.id,
            rule.version,
            int(kept["cas"]),
            int(kept["echecs"]),
            int(kept["ailleurs"]),
            dt.datetime.fromisoformat(kept["verifie_le"]),
            True,
        )
        return verdict, float(kept["secondes"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("verdict partagé illisible (%s) : les cas de la règle sont exécutés", CACHE_ENV)
        return None


def _share(fingerprint: str, verdict: RuleVerdict, seconds: float) -> None:
    """Keep `verdict` in the shared folder, written whole (a reader never sees half a file)."""
    folder = _shared_folder()
    if folder is None:
        return
    kept = {
        "regle": verdict.rule_id,
        "version": verdict.version,
        "cas": verdict.cases,
        "echecs": verdict.failed,
        "ailleurs": verdict.elsewhere,
        "verifie_le": verdict.verified_at.isoformat(),
        "secondes": seconds,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{fingerprint}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, folder / f"{fingerprint}.json")
    except OSError:
        log.warning("verdict non partagé : dossier %s inaccessible en écriture", CACHE_ENV)


def _run(catalogue: Catalogue, parameters: Parameters, geography: Geography) -> list[CaseResult]:
    defaults = {c.name: c.default for c in contract.HOUSEHOLD_COLUMNS}
    return run_cases(catalogue, parameters, geography, defaults, contract.HOUSEHOLD_SCHEMA)


def _record(engine: Engine, fingerprint: str, verdict: RuleVerdict, seconds: float) -> None:
    row = CaseVerification(
        fingerprint=fingerprint,
        rule_id=verdict.rule_id,
        rule_version=verdict.version,
        cases=verdict.cases,
        failed=verdict.failed,
        elsewhere=verdict.elsewhere,
        verified_at=verdict.verified_at,
        host=socket.gethostname(),
        seconds=seconds,
    )
    try:
        with Session(engine) as session, session.begin():
            session.add(row)
    except IntegrityError:
        pass  # another process recorded the same verification meanwhile: the same verdict


def rule_fingerprint(
    catalogue: Catalogue, rule: Rule, parameters: Parameters, geography: Geography, around: dict[str, str]
) -> str | None:
    """The sha256 of everything `rule`'s cases depend on, or None when the rule does not compile for
    one of its cases' months (its cases are then run every time: the message says why). `around`:
    the fingerprints of the territory and of the software."""
    selected = catalogue.select([rule.id])
    months = sorted({month for case in rule.cases if (month := case_month(case)) is not None})
    try:
        # Each the fingerprint a run of that month records: the rule's version and content digest,
        # with every parameter value and setting it uses then.
        compiled = [compile_catalogue(selected, parameters, month, geography).fingerprint for month in months]
    except RulesError:
        return None
    facts = {
        "regle": rule.id,
        "version": rule.version,
        "cas": list(rule.cases),
        "empreintes_parametres": compiled,
        **around,
    }
    text = json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def software_fingerprint() -> str:
    """The sha256 of the code and reference data that compile and evaluate a case: the `rules`
    package, the contract, the geography and its commune reference, and the polars version. Another
    version of uptake on a host sharing the database verifies the cases again."""
    detection = Path(__file__).resolve().parent
    paths: Sequence[Path] = [
        *sorted(Path(rules.__file__).resolve().parent.glob("*.py")),
        detection / "contract.py",
        detection / "geography.py",
        *sorted((detection / "data").glob("*.csv*")),
    ]
    digest = hashlib.sha256(pl.__version__.encode())
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
