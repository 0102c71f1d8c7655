"""What every front door needs: settings, an engine on a migrated database, the territory."""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from uptake.settings import Settings, load_settings

# The domain packages are imported where a resource is first opened: a command loads only what it
# uses (the outreach machinery alone takes half a second to import).
if TYPE_CHECKING:
    from sqlalchemy import Engine

    from detection.geography import Geography
    from detection.territory import Territory
    from outreach.campaigns import Campaign, KnownNames
    from outreach.launch import OutreachEnv
    from privacy.keys import Keyring


def utc_now() -> dt.datetime:
    """The current moment, in UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class AppContext:
    """Lazily opened resources for one command or one web process."""

    settings: Settings
    # Only `uptake db upgrade` may create a database that UPTAKE_DATABASE_URL names and that does not exist.
    creates_database: bool = False
    # What the call lists judge calling hours by, and the moment « Rester connecté » restarts a
    # session's idle limit from: a test gives the moment.
    clock: Callable[[], dt.datetime] = field(default=utc_now)

    @classmethod
    def from_env(cls) -> AppContext:
        """The context described by the environment (`UPTAKE_HOME`, `UPTAKE_DATABASE_URL`...)."""
        return cls(load_settings())

    def now(self) -> dt.datetime:
        """The current moment by `clock`, in UTC (as the database stores moments)."""
        return self.clock().astimezone(dt.UTC)

    @cached_property
    def engine(self) -> Engine:
        """An engine on the configured database, migrated to the newest schema on first use; a
        transaction that writes to the audit log signs its end with this context's keyring."""
        from sqlalchemy.exc import DatabaseError, OperationalError

        from privacy import audit
        from uptake.db import DatabaseUnusable, make_engine, unreachable, upgrade
        from uptake.settings import database_problem, not_a_database

        # Checked before anything opens it: opening would create a missing file, and a mistyped
        # address would send the work to a new, empty database (`uptake db upgrade` may create it).
        problem = database_problem(self.settings, creating=self.creates_database)
        if problem is not None:
            raise DatabaseUnusable(problem)
        engine = make_engine(self.settings.database_url)
        try:
            upgrade(engine)
        except OperationalError:
            raise unreachable(self.settings.database_url) from None
        except DatabaseError:
            raise DatabaseUnusable(not_a_database(self.settings)) from None
        audit.seal_commits(engine, _keyring_of(self))
        return engine

    @cached_property
    def keyring(self) -> Keyring:
        """The keyring of the data folder (master secret: environment or `$UPTAKE_HOME/master.key`);
        a key the database already depends on is never generated again (`privacy.keyuse`)."""
        from uptake.db import DatabaseUnusable

        keyring = _open_keyring(self.settings)
        try:
            engine = self.engine
        except DatabaseUnusable:
            keyring.blind = "base injoignable ou absente"  # existing keys still open
            return keyring
        _require_keys(engine, keyring)
        return keyring

    @cached_property
    def territory(self) -> Territory:
        """The configured territory (`config/territoire.toml`)."""
        from detection.territory import TERRITORY_FILE, load_territory

        return load_territory(self.settings.config_dir / TERRITORY_FILE)

    @property
    def key_territory(self) -> str:
        """The id under which the territory's keys are derived: its EPCI, else `national`."""
        return self.territory.epci or "national"

    @cached_property
    def geography(self) -> Geography:
        """The geography of the configured territory."""
        from detection.geography import Geography

        return Geography.of(self.territory)

    @cached_property
    def rule_titles(self) -> dict[str, str]:
        """The French title of each rule of the catalogue, by rule id."""
        from detection.runs import load_rules

        catalogue, _ = load_rules(
            self.geography,
            catalogue_dir=self.settings.catalogue_dir,
            parameters_dir=self.settings.parameters_dir,
        )
        return {rule.id: rule.titre for rule in catalogue.rules}

    def outreach_env(self, actor: str) -> OutreachEnv:
        """What producing campaign outputs needs, acting as `actor` (recorded in the audit log)."""
        from outreach.campaigns import TEMPLATES_DIR
        from outreach.launch import OutreachEnv

        templates = self.settings.config_dir / TEMPLATES_DIR
        return OutreachEnv(self.engine, self.keyring, self.geography, templates, actor)

    def launchable_campaign(self, name: str) -> Campaign:
        """The campaign `name` of the configuration, as `uptake campaigns check` accepts it:
        `CampaignNotLaunchable` when it names a rule, a commune or a perimeter that does not exist, or
        sending hours not the territory's (a launch would select fewer households than written, or
        none, silently)."""
        from outreach.campaigns import find_campaign, reference_problems
        from outreach.errors import CampaignNotLaunchable

        campaign = find_campaign(self.settings.config_dir, name)
        # The register entry and the exchange are the launch's own checks (it refuses, in words, to
        # produce personal data without them); the rest would only thin the selection silently.
        problems = [
            problem
            for problem in reference_problems(campaign, self._campaign_names)
            if not (problem.key or "").startswith(("campagne.registre", "campagne.echange"))
        ]
        if problems:
            raise CampaignNotLaunchable(str(campaign.path), problems)
        return campaign

    @cached_property
    def _campaign_names(self) -> KnownNames:
        # Read once per context: the catalogue and the territory are loaded to know them.
        from uptake.health import campaign_names

        return campaign_names(self.settings)

    def campaign_dir(self, campaign: Campaign) -> Path:
        """Default folder of a campaign's lists: `$UPTAKE_HOME/campagnes/<campaign>/`."""
        return self.settings.home / "campagnes" / campaign.id


def _open_keyring(settings: Settings) -> Keyring:
    from privacy.keys import open_keyring

    return open_keyring(settings.keys_dir, settings.home / "master.key")


def _require_keys(engine: Engine, keyring: Keyring) -> None:
    from sqlalchemy.orm import Session

    from privacy.keyuse import require_keys

    with Session(engine) as session:
        require_keys(session, keyring)


def _keyring_of(context: AppContext) -> Callable[[], Keyring]:
    """The context's keyring, without the engine's registration keeping the context (and so the
    engine and its connections) alive."""
    alive, settings = weakref.ref(context), context.settings

    def keyring() -> Keyring:
        holder = alive()
        return holder.keyring if holder is not None else _open_keyring(settings)

    return keyring
