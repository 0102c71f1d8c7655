"""Load on the social workers' worklist page: 20 concurrent users on a 10,000-household campaign.

    .venv/bin/python benchmarks/worklist_load.py [--households 10000] [--users 20]
        [--requests 25] [--max-seconds 120] [--database-url URL]

Builds a throw-away data folder (SQLite by default, or the PostgreSQL database given), with one
call list of N synthetic households spread over the territory's communes and one social-worker
account per user (each attached to every commune), starts the real `uptake serve` in a subprocess
on 127.0.0.1 (loopback only), signs every user in, then has all of them load "Ma liste d'appels"
`--requests` times each, concurrently (httpx, asyncio), pausing `--think-ms` between two loads
(1 s by default, a person clicking quickly; 0 turns it into a stress test where every user always
has a request in flight). Bounded in count and in time.

Peers measured in the same run: the sign-in page (a template, no query) and the static stylesheet.
Prints median and p95 latency of each and the worklist's ratios to them; the aim is p95 < 100 ms.
Compare only numbers from one run: this machine's speed drifts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from detection.territory import load_territory  # noqa: E402
from outreach.models import WorklistItem  # noqa: E402
from uptake.db import make_engine, transaction, upgrade  # noqa: E402
from uptake.users import add_user  # noqa: E402

PASSWORD = "phrase-de-passe-du-banc-d-essai"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str, households: int, users: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    communes = list(load_territory(REPO / "config" / "territoire.toml").communes)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "launch_id": 1,
            "campagne": "action-2-2-non-recours",
            "id_foyer": f"bench{i:011d}abcdef",
            "regle": "ppa_non_recours",
            "tentative": 3,
            "rang": i + 1,
            "priorite": 1 + i % 3,
            "montant_estime": float(50 + i % 350),
            "code_commune": communes[i % len(communes)],
            "distance_services_km": float(i % 25),
            "motifs": "Revenus d'activité modestes, pas de prime d'activité versée.",
            "statut": "a_appeler",
            "appel_a_partir_de": now - dt.timedelta(hours=1),
            "cree_le": now - dt.timedelta(hours=1),
        }
        for i in range(households)
    ]
    with transaction(engine) as session:
        session.bulk_insert_mappings(WorklistItem.__mapper__, rows)
        for u in range(users):
            add_user(
                session,
                f"ts-banc-{u:02d}",
                role="travailleur_social",
                password=PASSWORD,
                actor="banc",
                secteurs=communes,
                temporary=False,
            )
    engine.dispose()


async def sign_in(client: httpx.AsyncClient, login: str) -> None:
    page = await client.get("/connexion")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the sign-in page"
    response = await client.post(
        "/connexion", data={"identifiant": login, "mot_de_passe": PASSWORD, "csrf_token": match.group(1)}
    )
    assert response.status_code == 303, f"sign-in failed: {response.status_code}"


async def user_session(
    base: str, login: str, paths: list[str], requests: int, deadline: float, think: float
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {p: [] for p in paths}
    rng = random.Random(login)
    await asyncio.sleep(think * rng.random())
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        await sign_in(client, login)
        for _ in range(requests):
            for path in paths:
                if time.monotonic() > deadline:
                    return timings
                start = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - start
                assert response.status_code == 200, f"{path}: {response.status_code}"
                timings[path].append(elapsed)
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))  # people do not click in step
    return timings


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="worklist loads per user")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--think-ms", type=float, default=1000.0, help="pause of each user between two page loads (0: stress)"
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes (uptake serve --workers)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="uptake-bench-web-") as tmp:
        home = Path(tmp) / "home"
        url = args.database_url or f"sqlite:///{home / 'uptake.sqlite3'}"
        print(
            f"Préparation : {args.households} foyers, {args.users} comptes ({url.split(':')[0]})…", flush=True
        )
        seed(url, args.households, args.users)
        port = free_port()
        env = {**os.environ, "UPTAKE_HOME": str(home), "UPTAKE_DATABASE_URL": url}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uptake",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/connexion", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            paths = ["/travail/liste", "/connexion", "/static/uptake.css"]
            deadline = time.monotonic() + args.max_seconds

            async def run_all() -> list[dict[str, list[float]]]:
                return await asyncio.gather(
                    *(
                        user_session(
                            base, f"ts-banc-{u:02d}", paths, args.requests, deadline, args.think_ms / 1000
                        )
                        for u in range(args.users)
                    )
                )

            started = time.perf_counter()
            results = asyncio.run(run_all())
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)

    merged = {p: [t for r in results for t in r[p]] for p in paths}
    stats = {
        p: (statistics.median(v) * 1000, percentile(v, 0.95) * 1000, len(v)) for p, v in merged.items() if v
    }
    print(
        f"{args.users} utilisateurs simultanés, {args.workers} processus serveur, "
        f"pause de {args.think_ms:.0f} ms entre deux pages, "
        f"{wall:.1f} s au total (boucle locale uniquement)"
    )
    for path, (median, p95, n) in stats.items():
        print(f"  {path:<20} n={n:<5} médiane={median:7.1f} ms  p95={p95:7.1f} ms")
    work_median, work_p95, _ = stats["/travail/liste"]
    print(
        f"worklist_median_ms={work_median:.1f} worklist_p95_ms={work_p95:.1f} "
        f"ratio_p95_vs_signin={work_p95 / stats['/connexion'][1]:.2f} "
        f"ratio_p95_vs_static={work_p95 / stats['/static/uptake.css'][1]:.2f} "
        f"aim_p95_under_100ms={'oui' if work_p95 < 100 else 'non'}"
    )


if __name__ == "__main__":
    main()
