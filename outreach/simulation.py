"""Simulated outcomes for the demonstration: deterministic from a seed and the households' pseudonyms,
with a known effect of contact.

`simulate_next_month` plays one month after a launch on synthetic data:

- contacted households get call outcomes typed as a social worker would (`joint`, `message_laisse`,
  `injoignable`, `refus`, `demarche_engagee`, a few `opposition`, and for action 7.1
  `accompagnement_engage`);
- the next month's extract is the current one, one month later, where each flagged household of
  either arm has started to receive the benefit of its rule with probability `base_rate`, plus
  `contact_effect` in the contacted arm (the amount paid is the estimate).

Reconciling that extract (`outreach.reconcile`) then finds the rights opened in both arms, and the
report's uplift should recover `contact_effect` within its confidence interval.

`stop_replies_file` writes the numbers that replied STOP, as the SMS provider sends them back;
`returned_letters_file` and `returned_questionnaires_file` write what a mail room would type back:
the references of the letters that came back undelivered, and for a share of the questionnaires a
launch sent, their answers (reference, date, answers); both are imported as real ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import mailbox
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from detection.records import load_flags
from detection.validation import validate_extract
from outreach.holdout import CONTACTED, HOLDOUT
from outreach.models import Assignment, Contact, Launch, Outcome
from outreach.outcomes import UNDELIVERED, record_outcome
from outreach.questionnaires import FIXED_COLUMNS, NO, YES, Questionnaire, reference
from outreach.reconcile import RULE_BENEFITS

# Share of each call outcome for a contacted household (the rest: no outcome recorded).
CALL_OUTCOMES_22 = (
    ("joint", 0.30),
    ("message_laisse", 0.20),
    ("injoignable", 0.20),
    ("refus", 0.05),
    ("demarche_engagee", 0.15),
    ("opposition", 0.02),
)
CALL_OUTCOMES_71 = (
    ("joint", 0.25),
    ("accompagnement_engage", 0.30),
    ("injoignable", 0.20),
    ("refus", 0.05),
    ("message_laisse", 0.15),
    ("opposition", 0.02),
)
# How a returned questionnaire answers a yes/no question (share of "oui"); the rest answer "non", and
# one answer in ten is left blank. A number question gets 1 to 30 (years in the dwelling).
YES_SHARE = 0.35
# An undelivered letter is back at the sender about a week after it left.
LETTER_RETURN_DAYS = 7
BLANK_SHARE = 0.10


@dataclass(frozen=True)
class SimulationResult:
    """The next month's extract and what was simulated (counts only)."""

    next_extract: pl.DataFrame
    outcomes_recorded: int
    opening_contacted: int
    opening_holdout: int


def _draw(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str | None:
    point, total = rng.random(), 0.0
    for outcome, share in table:
        total += share
        if point < total:
            return outcome
    return None


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def simulate_next_month(
    engine: Engine,
    extract: pl.DataFrame,
    launch_id: int,
    *,
    seed: int,
    base_rate: float = 0.08,
    contact_effect: float = 0.12,
    actor: str = "simulation",
    now: dt.datetime | None = None,
) -> SimulationResult:
    """Record simulated outcomes for launch `launch_id` and return next month's extract (see module doc)."""
    moment = now or dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        launch = session.get(Launch, launch_id)
        assert launch is not None, "launch_id must be an existing launch"
        rows = session.execute(
            select(Assignment.id_foyer, Assignment.regle, Assignment.regles, Assignment.bras).where(
                Assignment.launch_id == launch_id, Assignment.bras.in_([CONTACTED, HOLDOUT])
            )
        ).all()
        reached = set(session.scalars(select(Contact.id_foyer).where(Contact.launch_id == launch_id)))
        table = CALL_OUTCOMES_71 if launch.action == "7.1" else CALL_OUTCOMES_22
        recorded = 0
        opening: dict[str, list[str]] = {}
        counts = {CONTACTED: 0, HOLDOUT: 0}
        for pseudonym, rule, rules, arm in sorted(rows):
            rng = random.Random(f"{seed}|{launch_id}|{pseudonym}")
            outcome = _draw(rng, table) if pseudonym in reached else None
            if outcome is not None:
                record_outcome(
                    session,
                    id_foyer=pseudonym,
                    resultat=outcome,
                    acteur=actor,
                    survenu_le=moment,
                    launch_id=launch_id,
                    regle=rule,
                    canal="appel",
                    source="simulation",
                    now=moment,
                )
                recorded += 1
            rate = base_rate + (contact_effect if arm == CONTACTED else 0.0)
            benefits = [r for r in str(rules).split(",") if r in RULE_BENEFITS]
            if benefits and outcome not in ("refus", "opposition") and rng.random() < rate:
                opening[pseudonym] = benefits
                counts[str(arm)] += 1
    updates = pl.DataFrame(
        {
            "id_foyer": list(opening),
            **{f"_open_{rule}": [rule in opening[p] for p in opening] for rule in RULE_BENEFITS},
        },
        schema={"id_foyer": pl.String, **{f"_open_{rule}": pl.Boolean for rule in RULE_BENEFITS}},
    )
    estimates = _estimates(engine, launch_id)
    month = next_month(extract["mois_reference"][0])
    following = extract.join(updates, on="id_foyer", how="left").join(estimates, on="id_foyer", how="left")
    changes = [pl.lit(month).alias("mois_reference")]
    for rule, (paid, amount) in RULE_BENEFITS.items():
        opened = pl.col(f"_open_{rule}").fill_null(False)
        changes += [
            (pl.col(paid) | opened).alias(paid),
            pl.when(opened & ~pl.col(paid))
            .then(pl.col(f"_montant_{rule}").fill_null(100.0).round(2))
            .otherwise(pl.col(amount))
            .alias(amount),
        ]
    following = following.with_columns(changes).select(extract.columns)
    return SimulationResult(following, recorded, counts[CONTACTED], counts[HOLDOUT])


def _estimates(engine: Engine, launch_id: int) -> pl.DataFrame:
    """Per household, the estimated monthly amount of each rule (from the run's flags, via the launch)."""
    with Session(engine) as session:
        launch = session.get(Launch, launch_id)
        assert launch is not None
        run_id = launch.run_id
    flags = load_flags(engine, run_id, rules=list(RULE_BENEFITS))
    wide = flags.select("id_foyer", "regle", "montant_estime").pivot(
        on="regle", index="id_foyer", values="montant_estime", aggregate_function="first"
    )
    for rule in RULE_BENEFITS:
        if rule not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(rule))
    return wide.select(
        "id_foyer", *(pl.col(r).cast(pl.Float64).alias(f"_montant_{r}") for r in RULE_BENEFITS)
    )


def simulate_month_file(
    engine: Engine,
    extract_path: Path,
    launch_ids: list[int],
    out_path: Path,
    *,
    seed: int,
    base_rate: float = 0.08,
    contact_effect: float = 0.12,
    actor: str = "simulation",
    now: dt.datetime | None = None,
) -> SimulationResult:
    """For the demo: simulate the month after `launch_ids` on the extract at `extract_path` and write the
    next month's extract (Parquet) at `out_path`; reconcile it afterwards with `reconcile_extract`."""
    current = validate_extract(extract_path).scan().collect()
    recorded = opened_c = opened_t = 0
    for launch_id in launch_ids:
        result = simulate_next_month(
            engine,
            current,
            launch_id,
            seed=seed,
            base_rate=base_rate,
            contact_effect=contact_effect,
            actor=actor,
            now=now,
        )
        recorded += result.outcomes_recorded
        opened_c += result.opening_contacted
        opened_t += result.opening_holdout
        # Each launch's openings build on the previous ones; the month moves once, at the end.
        current = result.next_extract.with_columns(
            pl.lit(current["mois_reference"][0]).alias("mois_reference")
        )
    following = current.with_columns(pl.lit(next_month(current["mois_reference"][0])).alias("mois_reference"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    following.write_parquet(out_path)
    return SimulationResult(following, recorded, opened_c, opened_t)


def returned_questionnaires_file(
    engine: Engine,
    launch_id: int,
    questionnaire: Questionnaire,
    out_path: Path,
    *,
    seed: int,
    share: float = 0.4,
    received: dt.date,
) -> int:
    """Write the answers of `share` of the questionnaires launch `launch_id` sent; returns their number."""
    with Session(engine) as session:
        came_back = set(session.scalars(select(Outcome.id_foyer).where(Outcome.resultat == UNDELIVERED)))
    lines = []
    for _, rank, pseudonym, _ in _letters_sent(engine, launch_id):
        if pseudonym in came_back:
            continue
        rng = random.Random(f"{seed}|questionnaire|{launch_id}|{pseudonym}")
        if rank is None or rng.random() >= share:
            continue
        answers = []
        for question in questionnaire.questions:
            if rng.random() < BLANK_SHARE:
                answers.append("")
            elif question.type == "nombre":
                answers.append(str(rng.randint(1, 30)))
            else:
                answers.append(YES if rng.random() < YES_SHARE else NO)
        lines.append([reference(launch_id, rank), received.isoformat(), *answers])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow([*FIXED_COLUMNS, *(q.id for q in questionnaire.questions)])
        writer.writerows(lines)
    return len(lines)


def _letters_sent(
    engine: Engine, launch_id: int | None = None
) -> list[tuple[int, int | None, str, dt.datetime]]:
    """(launch, rank, household, when produced) of every letter sent, of one launch or of all."""
    query = (
        select(Assignment.launch_id, Assignment.rang, Assignment.id_foyer, func.min(Contact.produit_le))
        .join(
            Contact,
            (Contact.launch_id == Assignment.launch_id) & (Contact.id_foyer == Assignment.id_foyer),
        )
        .where(Contact.canal == "courrier")
        .group_by(Assignment.launch_id, Assignment.rang, Assignment.id_foyer)
        .order_by(Assignment.launch_id, Assignment.rang)
    )
    if launch_id is not None:
        query = query.where(Assignment.launch_id == launch_id)
    with Session(engine) as session:
        return [
            (int(launch), rank, pseudonym, sent) for launch, rank, pseudonym, sent in session.execute(query)
        ]


def returned_letters_file(engine: Engine, out_path: Path, *, seed: int, share: float = 0.03) -> int:
    """Write the references of `share` of the letters sent as come back undelivered a week after they
    left (the mail room's list, typed back with `uptake outcomes import`); returns their number."""
    lines = []
    for launch_id, rank, pseudonym, sent in _letters_sent(engine):
        rng = random.Random(f"{seed}|pli|{launch_id}|{pseudonym}")
        if rank is not None and rng.random() < share:
            back = sent.date() + dt.timedelta(days=LETTER_RETURN_DAYS)
            lines.append([reference(launch_id, rank), UNDELIVERED, back.isoformat()])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["reference", "resultat", "date"])
        writer.writerows(lines)
    return len(lines)


def stop_replies_file(sms_batches: list[Path], out_path: Path, *, seed: int, share: float = 0.02) -> int:
    """Write, as the SMS provider would, the numbers of `share` of the SMS batches' recipients that
    replied STOP (to be imported with `uptake outcomes stop`); returns their number."""
    numbers: dict[str, None] = {}
    for batch in sms_batches:
        phones = pl.read_csv(batch, separator=";", columns=["telephone"], infer_schema=False)["telephone"]
        for phone in phones:
            if phone not in numbers and random.Random(f"{seed}|stop|{phone}").random() < share:
                numbers[phone] = None
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["telephone", "message"])
        writer.writerows([phone, "STOP"] for phone in numbers)
    return len(numbers)


def delivery_report(
    recipients: list[tuple[str, str, str]], *, date: str = "Tue, 10 Mar 2026 10:00:00 +0100"
) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes it: a human part, the
    `message/delivery-status` part with one block per (address, action, status), the original
    headers. Synthetic addresses only."""
    blocks = "".join(
        f"\nFinal-Recipient: rfc822; {address}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; {status.replace('.', '')} refus\n"
        for address, action, status in recipients
    )
    return (
        "From: MAILER-DAEMON@relais.caf.example\n"
        "To: noreply@caf.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {date}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="LIMITE"\n\n'
        "--LIMITE\nContent-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host relais.caf.example.\n\n"
        "--LIMITE\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relais.caf.example\nArrival-Date: Mon, 9 Mar 2026 09:00:00 +0100\n"
        f"{blocks}\n"
        "--LIMITE\nContent-Type: text/rfc822-headers\n\n"
        "From: Caf <noreply@caf.example>\nSubject: Vos droits\n\n"
        "--LIMITE--\n"
    ).encode("ascii")


def delivery_reports_maildir(
    email_batches: list[Path], folder: Path, *, seed: int, share: float = 0.03, temporary: float = 0.01
) -> int:
    """Write into the Maildir `folder`, as the relay would, a delivery report for `share` of the
    e-mail batches' recipients (address unknown: permanent) and `temporary` more (mailbox full);
    returns the number of permanent failures. Read with `uptake outcomes bounces`."""
    box = mailbox.Maildir(folder, create=True)
    permanent = 0
    seen: set[str] = set()
    for batch in email_batches:
        with zipfile.ZipFile(batch) as archive:
            for name in sorted(archive.namelist()):
                recipient = str(
                    email.message_from_bytes(archive.read(name), policy=email.policy.default)["To"]
                )
                if recipient in seen:
                    continue
                seen.add(recipient)
                draw = random.Random(f"{seed}|echec|{recipient}").random()
                if draw < share:
                    box.add(delivery_report([(recipient, "failed", "5.1.1")]))
                    permanent += 1
                elif draw < share + temporary:
                    box.add(delivery_report([(recipient, "failed", "4.2.2")]))
    return permanent
