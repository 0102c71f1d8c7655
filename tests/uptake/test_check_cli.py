"""`uptake check` says, part by part, whether the installation is ready, and changes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text, update

from outreach.letters import installed_font
from tests.conftest import CONFIG_DIR
from uptake.db import make_engine, transaction
from uptake.health import CHECKS
from uptake.models import User
from uptake.scheduler import announce_daemon
from uptake.settings import load_settings


def _lines(output: str) -> dict[str, str]:
    """Each part's finding, by part name: `✓ Territoire : …` → {"Territoire": "✓ …"}.

    A finding wider than the terminal goes on in lines indented under its text.
    """
    found: dict[str, str] = {}
    part = ""
    for line in output.splitlines():
        if line[:2] in ("✓ ", "✗ "):
            part, _, said = line[2:].partition(" : ")
            found[part] = f"{line[0]} {said.rstrip()}"
        elif part and line.startswith("  ") and line.strip():
            found[part] += " " + line.strip()
        else:
            part = ""
    return found


def _config_with_a_broken_campaign(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the configuration whose 7.1 campaign gives its holdout share as a word."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    campaign = config / "campaigns" / "action-7-1-logement.toml"
    campaign.write_text(
        campaign.read_text(encoding="utf-8").replace("part = 0.10", 'part = "dix"'), encoding="utf-8"
    )
    return config, campaign


def _schedule_monthly(cli, inbox: Path) -> None:
    added = cli(
        "schedule", "add", "mensuel", "--cron", "0 6 5 * *", "--job", "detection", "--inbox", str(inbox)
    )
    assert added.code == 0, added.output


def test_a_new_installation_is_checked_without_creating_anything(cli, uptake_home: Path) -> None:
    result = cli("check")
    parts = _lines(result.stdout)
    assert result.code == 1
    assert list(parts) == [part for part, _ in CHECKS]
    assert parts["Base de données"].endswith("pas encore créée (elle l'est à la première commande)")
    assert parts["Clés"].startswith("✓") and parts["Clés"].endswith("(créée au premier usage)")
    assert parts["Registre des traitements"].startswith("✗")
    assert "uptake register load" in parts["Registre des traitements"]
    assert parts["Planifications"].startswith("✗")
    assert parts["Comptes"].startswith("✗ aucun compte actif de délégué à la protection des données")
    assert parts["Courriers"].startswith(f"✓ PDF des courriers en {installed_font().name}")
    # Read from this command's environment: the daemon's may differ (systemd's EnvironmentFile).
    assert "le démon lit son propre environnement" in parts["Alertes"]
    assert "aucune adresse de contact dans la déclaration d'accessibilité" in parts["Accessibilité"]
    several = _lines(
        cli(
            "check", env={"UPTAKE_CONTACT_ACCESSIBILITE": "a11y@caf-04.example.fr, dpo@caf-04.example.fr"}
        ).stdout
    )
    assert several["Accessibilité"].startswith("✗ UPTAKE_CONTACT_ACCESSIBILITE : 2 adresses données")
    wrong = _lines(cli("check", env={"UPTAKE_CONTACT_ACCESSIBILITE": "referent-caf"}).stdout)
    assert wrong["Accessibilité"].startswith("✗ UPTAKE_CONTACT_ACCESSIBILITE : « referent-caf » n'est pas")
    assert "À corriger : Registre des traitements, Comptes, Planifications." in result.stdout
    assert not uptake_home.exists()  # no database, no key, no folder


def test_checking_an_installation_whose_database_exists_creates_no_master_secret(
    cli, uptake_home: Path
) -> None:
    # A master secret the check made up would be the one the commands use, while the daemon may be
    # given its own (UPTAKE_MASTER_KEY in its environment): keys written under two secrets.
    assert cli("db", "upgrade").code == 0
    master = uptake_home / "master.key"
    assert not master.exists()

    parts = _lines(cli("check").stdout)

    assert parts["Clés"].startswith("✓") and parts["Clés"].endswith("(créée au premier usage)")
    assert not master.exists()


def test_a_master_secret_lost_while_the_database_depends_on_its_keys_is_not_ready(
    cli, uptake_home: Path
) -> None:
    assert cli("register", "load").code == 0  # the audit log is signed: its key is in use
    (uptake_home / "master.key").unlink()

    parts = _lines(cli("check").stdout)

    assert parts["Clés"].startswith(f"✗ {uptake_home / 'master.key'} : clé maîtresse absente")
    assert "signature-ed25519" in parts["Clés"] and "Restaurez-la depuis la sauvegarde" in parts["Clés"]
    assert not (uptake_home / "master.key").exists()


def test_a_signing_key_replaced_by_another_valid_one_is_not_ready_and_refused_by_the_commands(
    cli, uptake_home: Path
) -> None:
    from privacy.keys import SIGNING_KEY, open_keyring

    assert cli("register", "load").code == 0  # the audit log is signed: the key's fingerprint recorded
    assert _lines(cli("check").stdout)["Clés"].endswith(
        "1 clé(s) conforme(s) à l'empreinte notée par la base"
    )
    # The keys folder of another installation opened by the same master secret.
    keyring = open_keyring(uptake_home / "keys", uptake_home / "master.key", environ={})
    keyring.store(SIGNING_KEY, bytes(range(32)))

    check = _lines(cli("check").stdout)["Clés"]
    again = cli("register", "load")

    assert check.startswith(f"✗ {keyring.path(SIGNING_KEY)} : clé remplacée")
    assert "la clé publique notée par le DPO ne connaît pas" in check
    assert f"Restaurez le dossier {uptake_home / 'keys'} qui va avec cette base" in check
    assert again.code == 2 and "clé remplacée" in again.output


def test_an_installation_with_its_register_schedules_and_daemon_is_ready(cli, uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    assert cli("register", "load").code == 0
    assert (
        cli("users", "add", "dpo1", "--role", "dpo", "--password-stdin", stdin="phrase-de-passe-du-dpo").code
        == 0
    )
    _schedule_monthly(cli, inbox)
    assert cli("schedule", "add", "purge", "--cron", "30 2 * * *", "--job", "purge").code == 0
    assert _lines(cli("check").stdout)["Planifications"].startswith("✗ Aucun démon actif")

    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    # What `uptake scheduler` writes when it starts, on another host here (this one's are told by their
    # process): a long poll keeps it alive through the slow checks.
    announce_daemon(engine, "serveur-planif:4242", 3600.0)
    engine.dispose()
    result = cli("check")
    parts = _lines(result.stdout)
    assert result.code == 0, result.stdout
    assert all(said.startswith("✓") for said in parts.values())
    assert parts["Base de données"].endswith(": à jour")
    assert parts["Registre des traitements"] == "✓ 1 fiche(s), chargée(s) dans la base"
    assert parts["Comptes"] == (
        "✓ Délégué à la protection des données : 1 ; 1 mot(s) de passe provisoire(s), à remplacer à la "
        "première connexion"
    )
    assert parts["Planifications"].startswith("✓ 2 planification(s) ; Démon actif")
    assert "Tout est prêt." in result.stdout

    # An account handed over four months ago and never used is pointed out; still ready.
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    months_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=120)
    with transaction(engine) as session:
        session.execute(update(User).values(created_at=months_ago, password_changed_at=months_ago))
    engine.dispose()
    result = cli("check")
    assert result.code == 0, result.stdout
    assert _lines(result.stdout)["Comptes"].endswith(
        " ; 1 sans connexion depuis plus de 90 jours, à désactiver (uptake users disable-dormant, ou "
        "chaque jour : --job comptes_inactifs)"
    )
    assert "sans connexion depuis plus de 90 jours" in cli("users", "list").stdout
    sweep = ("schedule", "add", "comptes", "--cron", "0 6 * * *", "--job", "comptes_inactifs")
    assert cli(*sweep, "--param", "days=150").code == 0
    result = cli("check")
    assert result.code == 0, result.stdout
    assert _lines(result.stdout)["Comptes"].endswith("première connexion")  # not unused for 150 days
    assert "sans connexion" not in cli("users", "list").stdout  # the same delay as the scheduled sweep
    assert cli("schedule", "remove", "comptes").code == 0
    assert cli(*sweep, "--param", "days=60").code == 0
    assert _lines(cli("check").stdout)["Comptes"].endswith(
        " ; 1 sans connexion depuis plus de 60 jours, désactivé(s) à la prochaine exécution de « comptes »"
    )
    assert "sans connexion depuis plus de 60 jours" in cli("users", "list").stdout

    # A social worker left without a sector (created before sectors were required) is pointed out.
    worker = ("users", "add", "ts1", "--role", "travailleur_social", "--secteur", "04088", "--password-stdin")
    assert cli(*worker, stdin="phrase-de-passe-du-ts1").code == 0
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    with transaction(engine) as session:
        session.execute(update(User).where(User.login == "ts1").values(secteurs=[]))
    engine.dispose()
    said = _lines(cli("check").stdout)["Comptes"]
    assert "travailleur(s) social(aux) sans secteur, à qui aucun foyer n'est proposé : ts1" in said

    # Killed (kill -9, a power cut): its sign of life stays, old. Not ready any more.
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE uptake_scheduler_daemons SET last_seen_at = '2020-01-01 00:00:00'"))
    engine.dispose()
    killed = cli("check")
    assert killed.code == 1 and "Tout est prêt." not in killed.stdout
    assert _lines(killed.stdout)["Planifications"].startswith("✗ Aucun démon actif (dernier signe de vie de")


def test_a_broken_part_is_told_and_the_other_parts_are_still_checked(cli, tmp_path: Path) -> None:
    config, campaign = _config_with_a_broken_campaign(tmp_path)
    result = cli("check", env={"UPTAKE_CONFIG": str(config)})
    parts = _lines(result.stdout)
    assert result.code == 1
    assert (
        parts["Campagnes"] == f"✗ {campaign} : ligne 25, clé `temoin.part` : un nombre est attendu. "
        "Donnez un nombre (par exemple 0.10)."
    )
    assert parts["Territoire"].startswith("✓") and parts["Règles et paramètres"].startswith("✓")


def test_a_schedule_whose_drop_folder_is_gone_is_not_ready(cli, uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _schedule_monthly(cli, inbox)
    inbox.rmdir()
    said = _lines(cli("check").stdout)["Planifications"]
    assert said.startswith("✗")
    assert f"Le dossier de dépôt de « mensuel » n'existe pas ({inbox}) : créez-le" in said


def test_without_an_active_detection_schedule_the_installation_is_not_ready(cli, uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot"
    inbox.mkdir()
    _schedule_monthly(cli, inbox)
    assert cli("schedule", "add", "purge", "--cron", "30 2 * * *", "--job", "purge").code == 0
    assert cli("schedule", "pause", "mensuel").code == 0
    said = " ".join(cli("check").stdout.split())
    assert "✗ Planifications : Aucune détection planifiée (ou sa planification est suspendue)" in said


def test_scheduled_campaigns_without_a_stop_job_are_not_ready(cli, uptake_home: Path) -> None:
    inbox = uptake_home.parent / "depot-stop"
    inbox.mkdir()
    assert cli("schedule", "add", "relances", "--cron", "0 8 * * 1-5", "--job", "relances").code == 0
    said = " ".join(cli("check").stdout.split())
    assert "aucune tâche ne traite les réponses STOP aux SMS" in said
    added = cli("schedule", "add", "stop", "--cron", "0 7 * * 1-5", "--job", "stop", "--inbox", str(inbox))
    assert added.code == 0, added.output
    assert "réponses STOP" not in " ".join(cli("check").stdout.split())


def test_a_finding_wider_than_the_terminal_wraps_under_its_text(cli, tmp_path: Path) -> None:
    config, _ = _config_with_a_broken_campaign(tmp_path)
    result = cli("check", env={"UPTAKE_CONFIG": str(config), "COLUMNS": "60"})
    lines = result.stdout.splitlines()
    assert all(len(line) <= 60 for line in lines)
    first = next(i for i, line in enumerate(lines) if line.startswith("✗ Campagnes : "))
    assert lines[first + 1].startswith("  ") and lines[first + 1].strip()
    assert _lines(result.stdout)["Campagnes"].endswith("Donnez un nombre (par exemple 0.10).")


def test_the_disclosure_threshold_is_told_and_a_wrong_one_is_not_ready(cli, uptake_home: Path) -> None:
    default = _lines(cli("check").stdout)["Secret statistique"]
    assert (
        default
        == "✓ effectifs inférieurs à 11 masqués dans tout chiffre publié (par défaut ; UPTAKE_SEUIL_SECRET)"
    )
    five = _lines(cli("check", env={"UPTAKE_SEUIL_SECRET": "5"}).stdout)["Secret statistique"]
    assert five == "✓ effectifs inférieurs à 5 masqués dans tout chiffre publié (UPTAKE_SEUIL_SECRET)"
    wrong = _lines(cli("check", env={"UPTAKE_SEUIL_SECRET": "cinq"}).stdout)["Secret statistique"]
    assert wrong.startswith("✗ UPTAKE_SEUIL_SECRET : « cinq » n'est pas un seuil de secret statistique.")


def test_the_time_zone_is_told_and_one_the_territory_does_not_live_in_is_not_ready(
    cli, uptake_home: Path
) -> None:
    default = _lines(cli("check").stdout)["Fuseau horaire"]
    assert (
        default
        == "✓ jours comptés et heures affichées dans le fuseau Europe/Paris (par défaut ; UPTAKE_FUSEAU)"
    )
    reunion = _lines(cli("check", env={"UPTAKE_FUSEAU": "Indian/Reunion"}).stdout)  # for Forcalquier
    assert reunion["Fuseau horaire"].startswith(
        "✗ l'installation compte les jours et affiche les heures dans le fuseau Indian/Reunion "
        "(UPTAKE_FUSEAU), alors que les communes du territoire sont dans le fuseau Europe/Paris"
    )
    assert reunion["Fuseau horaire"].endswith("définissez UPTAKE_FUSEAU=Europe/Paris")
    assert 'Écrivez fuseau = "Europe/Paris" dans la section [fenetres]' in reunion["Campagnes"]
    wrong = _lines(cli("check", env={"UPTAKE_FUSEAU": "europe/paris"}).stdout)
    assert wrong["Fuseau horaire"].startswith(
        "✗ UPTAKE_FUSEAU : « europe/paris » n'est pas un fuseau horaire connu. "
        "Vouliez-vous dire « Europe/Paris » ?"
    )
    # Every part the wrong zone stops says so once, pointing to the first.
    assert wrong["Campagnes"] == "✗ même cause que « Fuseau horaire » ci-dessus"
    assert wrong["Territoire"].startswith("✓ ")


def test_a_territory_whose_communes_live_in_several_time_zones_is_not_ready(cli, tmp_path: Path) -> None:
    # A Réunion territory with Forcalquier left over: its households would be called at Réunion hours.
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "territoire.toml").write_text(
        '[territoire]\nnom = "CIREST"\ncommunes = ["97402", "97409", "97410", "97421", "04088"]\n\n'
        '[[points_service]]\nnom = "Maison France Services"\ncommune = "97409"\n',
        encoding="utf-8",
    )
    parts = _lines(cli("check", env={"UPTAKE_CONFIG": str(config), "UPTAKE_FUSEAU": "Indian/Reunion"}).stdout)
    assert parts["Territoire"].startswith(
        f"✗ {config / 'territoire.toml'} : ligne 3, clé `territoire.communes`"
    )
    assert (
        "sont dans 2 fuseaux horaires (Europe/Paris : 04088 Forcalquier ; Indian/Reunion : 97402 Bras-Panon, "
        "97409 Saint-André, 97410 Saint-Benoît, 97421 Salazie)" in parts["Territoire"]
    )
    assert parts["Fuseau horaire"] == "✗ même cause que « Territoire » ci-dessus"


def test_the_national_territory_is_told_to_span_several_time_zones(
    uptake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(CONFIG_DIR / "national.toml", config / "territoire.toml")
    monkeypatch.setenv("UPTAKE_CONFIG", str(config))
    said = dict(CHECKS)["Fuseau horaire"](load_settings())
    assert said.endswith(
        "; territoire national, sur 6 fuseaux horaires : appels et SMS partent aux heures du fuseau de "
        "chaque campagne (section [fenetres]), quel que soit celui du foyer"
    )


def test_campaign_emails_left_unsent_for_a_day_are_told_with_the_command_that_sends_them(
    cli, uptake_home: Path
) -> None:
    import datetime as dt

    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from outreach.models import Contact
    from tests.outreach.factories import email_contact
    from uptake.db import upgrade

    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    upgrade(engine)
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        session.add_all(
            email_contact(i, state, produced, launch_id=3)
            for i, (produced, state) in enumerate(
                [(now - dt.timedelta(days=3), None)] * 2
                + [(now - dt.timedelta(days=2), "en_cours"), (now - dt.timedelta(hours=2), None)]
            )
        )
    said = _lines(cli("check").stdout)["Courriels de campagne"]
    assert said.startswith("✗ Lancement n°3 (action-2-2-non-recours) : courriels en attente depuis le")
    assert "2 à envoyer (« uptake campaigns send action-2-2-non-recours --launch 3 --smtp HOTE:PORT »" in said
    assert "1 d'un envoi interrompu, peut-être reçus (--reprendre" in said

    with Session(engine) as session, session.begin():
        session.execute(update(Contact).values(envoi="remis"))
    engine.dispose()
    assert _lines(cli("check").stdout)["Courriels de campagne"] == (
        "✓ aucun courriel de campagne en attente depuis plus d'un jour"
    )


def _config_with_territory(tmp_path: Path, communes: list[str]) -> Path:
    """A copy of the configuration whose territory is `communes` (service point and perimeters in
    the first one)."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    first = communes[0]
    (config / "territoire.toml").write_text(
        f'[territoire]\nnom = "Essai"\ncommunes = {communes}\n\n'
        f'[[points_service]]\nnom = "Caf"\ncommune = "{first}"\n\n'
        f'[[perimetres]]\nnom = "OPAH"\ntype = "OPAH"\ncommunes = ["{first}"]\n\n'
        f'[[perimetres]]\nnom = "PIG"\ntype = "PIG"\ncommunes = ["{first}"]\n',
        encoding="utf-8",
    )
    return config


def test_rules_that_will_not_flag_communes_of_the_territory_are_told_without_failing(
    cli, tmp_path: Path
) -> None:
    # Saint-Denis and Saint-Paul de La Réunion, where the catalogue has no housing benefit scale (a
    # territory mixing them with metropolitan communes is refused: it would span two time zones).
    config = _config_with_territory(tmp_path, ["97411", "97415"])
    env = {"UPTAKE_CONFIG": str(config), "UPTAKE_FUSEAU": "Indian/Reunion"}

    rules = _lines(cli("check", env=env).stdout)["Règles et paramètres"]

    assert rules.startswith("✓ 7 règle(s), paramètres en vigueur en ")
    # The shipped cases naming Forcalquier's communes fail here: said, the rules being right all the same.
    assert (
        "cas de test de logement_non_decent, rdv_droits_eloignes nomment une commune hors du territoire ou "
        "dépendent de sa géographie (éloignement, distances, périmètres) : écrits pour un autre territoire, "
        "ils ne bloquent pas les exécutions ; à adapter dans la copie du catalogue désignée par UPTAKE_REGLES"
    ) in rules
    assert rules.endswith(
        "; al_non_recours ne signale pas les foyers de 2 commune(s) du territoire (La Réunion) : "
        "hors de son champ (« uptake rules explain al_non_recours »)"
    )
    default = _lines(cli("check").stdout)["Règles et paramètres"]
    assert "al_non_recours" not in default


def test_a_campaign_whose_rules_flag_nobody_in_the_territory_is_not_ready(cli, tmp_path: Path) -> None:
    config = _config_with_territory(tmp_path, ["97411"])
    campaign = config / "campaigns" / "action-2-2-non-recours.toml"
    campaign.write_text(
        campaign.read_text(encoding="utf-8").replace(
            'regles = ["ppa_non_recours", "rsa_non_recours", "al_non_recours"]', 'regles = ["al_non_recours"]'
        ),
        encoding="utf-8",
    )

    found = _lines(cli("check", env={"UPTAKE_CONFIG": str(config), "UPTAKE_FUSEAU": "Indian/Reunion"}).stdout)

    assert found["Campagnes"].startswith(f"✗ {campaign} : clé `campagne.regles` : aucune de ces règles")
    assert "la campagne ne contacterait personne" in found["Campagnes"]
    assert found["Règles et paramètres"].startswith("✓ ")


def test_a_register_record_edited_added_or_removed_since_its_load_is_not_ready_until_reloaded(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    env = {"UPTAKE_CONFIG": str(config)}

    def register_part() -> str:
        return _lines(cli("check", env=env).stdout)["Registre des traitements"]

    assert cli("register", "load", env=env).code == 0
    assert register_part() == "✓ 1 fiche(s), chargée(s) dans la base"
    record = next((config / "registre").glob("*.toml"))
    text = record.read_text(encoding="utf-8")
    record.write_text(text.replace('aipd = "AIPD-CTG-2024-01 (fictive)"', 'aipd = "AIPD-CTG-2026-02"'))
    said = register_part()
    assert said.startswith("✗") and "modifiée(s) dans le dossier" in said and "(champs : aipd)" in said
    assert "uptake register load" in said
    other = record.with_name("autre.toml")
    other.write_text(text.replace('code = "CTG-FORCALQUIER-DROITS"', 'code = "AUTRE-TRAITEMENT"'))
    assert "AUTRE-TRAITEMENT absente(s) de la base" in register_part()
    assert cli("register", "load", env=env).code == 0
    assert register_part() == "✓ 2 fiche(s), chargée(s) dans la base"
    other.unlink()
    said = register_part()
    assert said.startswith("✗") and "AUTRE-TRAITEMENT retirée(s) du dossier, encore dans la base" in said


def test_a_database_created_empty_is_said_to_lack_its_tables_not_to_be_missing(cli, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "creee-vide.sqlite3"  # as `createdb` leaves a PostgreSQL database: there, empty
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE autre (x INTEGER)")
    parts = _lines(cli("check", env={"UPTAKE_DATABASE_URL": f"sqlite:///{path}"}).stdout)
    assert "tables pas encore créées" in parts["Base de données"]
    assert "pas encore créée (elle" not in parts["Base de données"]
