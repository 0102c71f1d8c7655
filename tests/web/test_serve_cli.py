"""`uptake serve` through the real command: a server on loopback, on the CLI's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import run_cli
from tests.web.live import free_port


def test_serve_answers_on_loopback_with_the_accounts_created_by_the_cli(uptake_home: Path) -> None:
    created = run_cli(
        "users",
        "add",
        "dpo1",
        "--role",
        "dpo",
        "--password-stdin",
        env={"UPTAKE_HOME": str(uptake_home)},
        stdin="une-phrase-de-passe-solide\n",
    )
    assert created.code == 0, created.output
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uptake", "serve", "--port", str(port)],
        env={**os.environ, "UPTAKE_HOME": str(uptake_home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                page = httpx.get(f"{base}/connexion", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("uptake serve did not answer")
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        with httpx.Client(base_url=base) as client:
            token = client.get("/connexion").text.split('name="csrf_token" value="')[1].split('"')[0]
            signed = client.post(
                "/connexion",
                data={
                    "identifiant": "dpo1",
                    "mot_de_passe": "une-phrase-de-passe-solide",
                    "csrf_token": token,
                },
            )
            assert signed.status_code == 303
            assert signed.headers["location"] == "/dpo/echanges"
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert "une-phrase-de-passe-solide" not in output
    assert "/connexion" not in output  # no access log


def test_serve_refuses_to_start_with_a_wrong_setting_and_says_which(uptake_home: Path) -> None:
    for env, said in (
        (
            {"UPTAKE_FUSEAU": "Europe/Pari"},
            "UPTAKE_FUSEAU : « Europe/Pari » n'est pas un fuseau horaire connu",
        ),
        ({"UPTAKE_SEUIL_SECRET": "cinq"}, "UPTAKE_SEUIL_SECRET : « cinq » n'est pas un seuil"),
    ):
        refused = run_cli(
            "serve",
            "--workers",
            "2",
            "--port",
            str(free_port()),
            env={"UPTAKE_HOME": str(uptake_home), **env},
        )
        assert refused.code == 2 and said in " ".join(refused.stderr.split())
        assert "Traceback" not in refused.output


def _serve(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`uptake serve` expected to refuse to start: it must end on its own, well before the timeout."""
    return subprocess.run(
        [sys.executable, "-m", "uptake", "serve", *args],
        env={**os.environ, "UPTAKE_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_in_words_a_port_in_use_an_unknown_address_or_an_impossible_port(
    uptake_home: Path,
) -> None:
    assert run_cli("db", "upgrade", env={"UPTAKE_HOME": str(uptake_home)}).code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = _serve(uptake_home, "--port", str(port))
    assert in_use.returncode == 2 and "Traceback" not in in_use.stderr
    assert f"le port {port} sur 127.0.0.1 est déjà utilisé" in " ".join(in_use.stderr.split())
    unknown = _serve(uptake_home, "--host", "999.1.1.1", "--port", str(free_port()))
    assert unknown.returncode == 2 and "adresse d'écoute « 999.1.1.1 » inconnue" in " ".join(
        unknown.stderr.split()
    )
    impossible = _serve(uptake_home, "--port", "99999")
    assert impossible.returncode == 2 and "inférieur ou égal à 65535" in " ".join(impossible.stderr.split())


def test_serve_does_not_start_on_a_file_that_is_not_a_database(uptake_home: Path) -> None:
    uptake_home.mkdir(parents=True, exist_ok=True)
    (uptake_home / "uptake.sqlite3").write_bytes(b"ceci n'est pas une base" * 100)
    refused = _serve(uptake_home, "--port", str(free_port()))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "uptake.sqlite3" in refused.stderr
