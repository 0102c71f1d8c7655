"""Campaigns as TOML files (`config/campaigns/*.toml`), validated, with French errors.

A campaign says which rules' flags it takes, where (geography filters), under which processing
register entry and exchange, with which sequence of attempts, which holdout share and seed, which
caps and which sending windows. The campaign's identifier is its file name without `.toml`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from outreach.errors import CampaignInvalid, CampaignNotFound, campaign_said
from outreach.questionnaires import Questionnaire, load_questionnaire
from privacy.canonical import DEPARTMENT_TIME_ZONES, caf_time_zone, closest_time_zone, communes_time_zone
from privacy.config_errors import ConfigProblem, parse_config

CAMPAIGNS_DIR = "campaigns"
TEMPLATES_DIR = "templates"

Channel = Literal["sms", "email", "appel", "courrier"]
CHANNELS: tuple[Channel, ...] = ("sms", "email", "appel", "courrier")

# The extract column telling that a usable contact of that kind exists.
CHANNEL_COLUMNS: dict[Channel, str] = {
    "sms": "canal_sms",
    "email": "canal_email",
    "appel": "canal_telephone",
    "courrier": "canal_courrier",
}

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CampaignSection(_Strict):
    """Who, why and under which legal frame."""

    titre: str = Field(min_length=1)
    action: Literal["2.2", "7.1"]
    regles: list[str] = Field(min_length=1)
    registre: str = Field(min_length=1, description="entrée du registre des traitements")
    echange: int | None = Field(
        default=None, gt=0, description="numéro de l'échange approuvé ; sinon le plus récent qui convient"
    )
    lien_court: str = Field(pattern=r"^https://\S+$", max_length=40)
    # No default: a Caf other than the one a default would name must never sign its letters.
    expediteur: str = Field(min_length=1, description="la Caf qui signe, ex. « Caf de La Réunion »")
    courriel_expediteur: str = Field(
        default="ne-pas-repondre@caf.fr", pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
    )


class GeographyFilter(_Strict):
    """Which households, by where they live. Every filter given must hold."""

    communes: list[str] = Field(default_factory=list)
    distance_min_km: float | None = Field(default=None, ge=0)
    distance_max_km: float | None = Field(default=None, ge=0)
    perimetres: list[str] = Field(default_factory=list)
    communes_eloignees: bool = False

    @field_validator("communes")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if len(code) != 5:
                raise ValueError(f"code commune `{code}` : un code INSEE a 5 caractères")
        return codes

    @model_validator(mode="after")
    def _distances(self) -> GeographyFilter:
        low, high = self.distance_min_km, self.distance_max_km
        if low is not None and high is not None and low > high:
            # Both bounds hold together: no household can be farther than 30 km and nearer than 5 km.
            raise ValueError(
                f"`distance_min_km` ({low:g}) est plus grand que `distance_max_km` ({high:g}) : "
                "aucun foyer ne peut être sélectionné"
            )
        return self


class SelectionSection(_Strict):
    """Who is left out besides opposition and caps."""

    exclure_accompagnes: list[str] = Field(
        default_factory=list, description="règles pour lesquelles un foyer déjà accompagné est écarté"
    )
    plafond_foyers: int | None = Field(default=None, gt=0)


class HoldoutSection(_Strict):
    """The control group: flagged, never contacted, followed all the same."""

    part: float = Field(default=0.10, ge=0, lt=1)
    graine: int = Field(ge=0)


class CapsSection(_Strict):
    """Contact pressure limits, across all campaigns (from the contact history)."""

    meme_droit_jours: int = Field(default=180, ge=0)
    tentatives_max_30_jours: int = Field(default=3, ge=1)
    pause_apres_refus_jours: int = Field(default=60, ge=0)


# The public holidays of each calendar of France (the `holidays` package's subdivisions): Alsace-Moselle
# adds Good Friday and 26 December, each overseas department the abolition of slavery and its own days.
HOLIDAY_CALENDARS: dict[str, str | None] = {
    "metropole": None,
    "alsace-moselle": "57",
    "guadeloupe": "971",
    "martinique": "972",
    "guyane": "973",
    "reunion": "974",
    "mayotte": "976",
}


# The calendar of the departments that do not keep the metropolitan one (INSEE department codes).
_DEPARTMENT_CALENDARS = {
    "57": "alsace-moselle",
    "67": "alsace-moselle",
    "68": "alsace-moselle",
    "971": "guadeloupe",
    "972": "martinique",
    "973": "guyane",
    "974": "reunion",
    "976": "mayotte",
}


def zone_calendar(zone: str) -> str:
    """The holiday calendar of the overseas department living in `zone`, else the metropolitan one."""
    departments = [code for code, lives_in in DEPARTMENT_TIME_ZONES.items() if lives_in == zone]
    return _DEPARTMENT_CALENDARS[departments[0]] if departments else "metropole"


def territory_calendar(communes: Iterable[str]) -> str | None:
    """The holiday calendar the territory's communes (INSEE codes) keep; None when they keep several
    (the national territory)."""
    found = {
        _DEPARTMENT_CALENDARS.get(code[:3]) or _DEPARTMENT_CALENDARS.get(code[:2]) or "metropole"
        for code in communes
    }
    return found.pop() if len(found) == 1 else None


class WindowSection(_Strict):
    """When SMS and calls may go out: working days, within hours; never on a public holiday (of the
    territory's calendar, `jours_feries`)."""

    heure_debut: time = time(9, 0)
    heure_fin: time = time(18, 0)
    jours: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    # By default the Caf's own time zone (`UPTAKE_FUSEAU`) and the calendar of its department.
    fuseau: str = Field(default_factory=lambda: caf_time_zone().key)
    jours_feries: str = Field(default_factory=lambda: zone_calendar(caf_time_zone().key))

    @field_validator("jours_feries")
    @classmethod
    def _calendar(cls, name: str) -> str:
        if name not in HOLIDAY_CALENDARS:
            raise ValueError(
                f"calendrier des jours fériés « {name} » inconnu : choisissez parmi "
                + ", ".join(f"« {known} »" for known in HOLIDAY_CALENDARS)
            )
        return name

    @field_validator("heure_debut", "heure_fin", mode="before")
    @classmethod
    def _a_time(cls, value: Any) -> Any:
        # pydantic would read a number as seconds after midnight, UTC (`9` → 00:00:09+00:00): an aware
        # time that cannot be compared with the other bound, and never what the data team meant.
        if isinstance(value, bool | int | float):
            raise ValueError(
                f"« {value} » n'est pas une heure : une heure est attendue, par exemple 09:00:00"
            )
        return value

    @field_validator("heure_debut", "heure_fin")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("une heure sans décalage horaire est attendue, par exemple 09:00:00")
        return value

    @field_validator("fuseau")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"fuseau horaire « {name} » inconnu") from None
        return name

    @field_validator("jours")
    @classmethod
    def _days(cls, days: list[str]) -> list[str]:
        for day in days:
            if day not in WEEKDAYS:
                raise ValueError(f"jour `{day}` inconnu")
        return days

    @model_validator(mode="after")
    def _order(self) -> WindowSection:
        if self.heure_fin <= self.heure_debut:
            raise ValueError("`heure_fin` doit être après `heure_debut`")
        return self


class SmsSection(_Strict):
    """SMS limits."""

    max_segments: int = Field(default=2, ge=1, le=10)


class LetterSection(_Strict):
    """How the letters' PDF is laid out for the mail room's printers."""

    recto_verso: bool = Field(
        default=True,
        description=(
            "chaque courrier commence sur une page impaire (une page blanche au besoin) : imprimé en "
            "recto verso, aucun courrier ne se retrouve au dos d'un autre"
        ),
    )


class Attempt(_Strict):
    """One step of the sequence: a channel, a delay after the previous step, a condition."""

    canal: Channel
    delai_jours: int = Field(default=0, ge=0)
    condition: Literal["toujours", "sans_resultat"] = "sans_resultat"
    modele: str = Field(min_length=1, description="nom du modèle dans config/templates/, sans extension")
    resultat_auto: Literal["questionnaire_envoye"] | None = Field(
        default=None, description="résultat enregistré pour chaque foyer quand la tentative est produite"
    )
    questionnaire: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="questionnaire joint au courrier (config/questionnaires/, sans extension)",
    )

    @model_validator(mode="after")
    def _questionnaire_by_letter(self) -> Attempt:
        if self.questionnaire is not None and self.canal != "courrier":
            raise ValueError('un questionnaire ne se joint qu\'à un courrier (canal = "courrier")')
        return self


class _CampaignFile(_Strict):
    campagne: CampaignSection
    geographie: GeographyFilter = GeographyFilter()
    selection: SelectionSection = SelectionSection()
    temoin: HoldoutSection
    plafonds: CapsSection = CapsSection()
    fenetres: WindowSection = WindowSection()
    sms: SmsSection = SmsSection()
    courrier: LetterSection = LetterSection()
    tentatives: list[Attempt] = Field(min_length=1)


@dataclass(frozen=True)
class Campaign:
    """A validated campaign and where it came from."""

    id: str
    path: Path
    sha256: str
    campagne: CampaignSection
    geographie: GeographyFilter
    selection: SelectionSection
    temoin: HoldoutSection
    plafonds: CapsSection
    fenetres: WindowSection
    sms: SmsSection
    courrier: LetterSection
    tentatives: tuple[Attempt, ...]
    # The questionnaires the letters carry, by name (loaded with the templates).
    questionnaires: Mapping[str, Questionnaire] = field(default_factory=dict)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The channels of the sequence, in order, without repetition."""
        return tuple(dict.fromkeys(a.canal for a in self.tentatives))


_FIXES = {
    "missing": "ajoutez cette clé",
    "extra_forbidden": "supprimez cette clé ou corrigez son orthographe",
    "string_type": "mettez la valeur entre guillemets (texte)",
    "float_type": "donnez un nombre (par exemple 0.10)",
    "float_parsing": "donnez un nombre (par exemple 0.10)",
    "int_type": "donnez un nombre entier",
    "int_parsing": "donnez un nombre entier",
    "bool_type": "écrivez true ou false",
    "literal_error": "choisissez une des valeurs indiquées",
    "string_pattern_mismatch": "donnez une adresse https courte (40 caractères au plus)",
    "string_too_long": "raccourcissez la valeur",
    "too_short": "donnez au moins un élément",
    "time_type": "écrivez une heure comme 09:00",
    "time_parsing": "écrivez une heure comme 09:00",
    "greater_than_equal": "donnez une valeur plus grande",
    "less_than": "donnez une valeur plus petite (la part témoin est entre 0 et 1, par exemple 0.10)",
}


# Fixes for a key, when the kind of pydantic error (a validator's `value_error`) says too little.
_KEY_FIXES = {
    "fenetres.heure_debut": "écrivez l'heure sans guillemets ni décalage, par exemple heure_debut = 09:00:00",
    "fenetres.heure_fin": "écrivez l'heure sans guillemets ni décalage, par exemple heure_fin = 18:00:00",
    "geographie": "inversez les deux valeurs ou retirez l'une d'elles",
}
_ATTEMPT_KEY = re.compile(r"^tentatives\[(\d+)\](.*)$")


def attempt_key(key: str | None) -> str | None:
    """A key of the attempts as the data team counts them, from 1 (`tentatives[2].canal` for the
    second `[[tentatives]]` block); pydantic counts from 0."""
    found = _ATTEMPT_KEY.match(key or "")
    return f"tentatives[{int(found[1]) + 1}]{found[2]}" if found else key


def _suggested(close: str | None, fix: str, label: str = "") -> str:
    """`fix`, preceded by « vouliez-vous dire … ? » when a known name is close to the mistyped one."""
    return f"vouliez-vous dire « {close} »{label} ? {fix[:1].upper()}{fix[1:]}" if close else fix


def _zone_fix(name: str) -> str:
    fix = 'donnez un fuseau de la base IANA, par exemple fuseau = "Europe/Paris"'
    return _suggested(closest_time_zone(name), fix)


def _fix_for(key: str | None, problem: str, fix: str) -> str:
    if key == "fenetres.fuseau":
        found = re.search(r"« (.*) » inconnu", problem)
        return _zone_fix(found[1]) if found else fix
    return _KEY_FIXES.get(key or "", fix)


def load_campaign(path: Path, templates_dir: Path | None = None) -> Campaign:
    """Read and validate one campaign file; any problem raises `CampaignInvalid`.

    When `templates_dir` is given, every attempt's template must exist there.
    """
    where = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CampaignInvalid(where, None, "fichier introuvable", "vérifiez le chemin") from None
    try:
        parsed = parse_config(data, _CampaignFile, _FIXES)
    except ConfigProblem as problem:
        fix = _fix_for(problem.key, problem.problem, problem.fix)
        others = [
            campaign_said(
                attempt_key(other.key),
                other.problem,
                _fix_for(other.key, other.problem, other.fix),
                line=other.line,
            )
            for other in problem.problems[1:]
        ]
        raise CampaignInvalid(
            where, attempt_key(problem.key), problem.problem, fix, line=problem.line, others=others
        ) from None
    if parsed.tentatives[0].condition != "toujours" and parsed.tentatives[0].delai_jours != 0:
        raise CampaignInvalid(
            where, "tentatives[1].delai_jours", "la première tentative part au lancement", "mettez 0"
        )
    questionnaires: dict[str, Questionnaire] = {}
    if templates_dir is not None:
        for i, attempt in enumerate(parsed.tentatives, start=1):
            missing = [p.name for p in template_files(templates_dir, attempt) if not p.is_file()]
            if missing:
                raise CampaignInvalid(
                    where,
                    f"tentatives[{i}].modele",
                    f"modèle introuvable ({', '.join(missing)})",
                    f"créez le fichier dans {templates_dir} ou corrigez le nom",
                )
            if attempt.questionnaire and attempt.questionnaire not in questionnaires:
                questionnaires[attempt.questionnaire] = load_questionnaire(
                    templates_dir.parent, attempt.questionnaire
                )
    return Campaign(
        id=path.stem,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        campagne=parsed.campagne,
        geographie=parsed.geographie,
        selection=parsed.selection,
        temoin=parsed.temoin,
        plafonds=parsed.plafonds,
        fenetres=parsed.fenetres,
        sms=parsed.sms,
        courrier=parsed.courrier,
        tentatives=tuple(parsed.tentatives),
        questionnaires=questionnaires,
    )


def template_files(templates_dir: Path, attempt: Attempt) -> list[Path]:
    """The files an attempt's template needs: e-mails have an HTML and a plain-text part."""
    if attempt.canal == "email":
        return [templates_dir / f"{attempt.modele}.html.j2", templates_dir / f"{attempt.modele}.txt.j2"]
    suffix = ".html.j2" if attempt.canal == "courrier" else ".txt.j2"
    return [templates_dir / f"{attempt.modele}{suffix}"]


def campaign_paths(config_dir: Path) -> list[Path]:
    """Every campaign file of the configuration, sorted by name."""
    folder = config_dir / CAMPAIGNS_DIR
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def find_campaign(config_dir: Path, name: str) -> Campaign:
    """The campaign `name` (its file name without `.toml`), validated with its templates."""
    paths = campaign_paths(config_dir)
    for path in paths:
        if path.stem == name:
            return load_campaign(path, config_dir / TEMPLATES_DIR)
    raise CampaignNotFound(name, [p.stem for p in paths])


def _closest(value: str, known: Collection[str], kind: str) -> str:
    """The fix naming the known value closest to a mistyped one, or else every known value."""
    close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
    if close:
        return f"corrigez le nom : la {kind} la plus proche est « {close[0]} »"
    listed = ", ".join(f"« {name} »" for name in sorted(known)) or "aucune"
    return f"corrigez le nom ({kind}s connues : {listed})"


@dataclass(frozen=True)
class KnownNames:
    """What a campaign may name: the catalogue's rules, the register entries loaded in the database,
    and those written in `config/registre/` (to tell a mistyped code from one not loaded yet).

    The territory's communes (code → name), its perimeters (types and names) and the exchanges
    recorded in the database (number → register entry) are checked when given (None: not known).
    """

    rule_ids: frozenset[str]
    loaded_register: frozenset[str]
    written_register: frozenset[str] = frozenset()
    communes: Mapping[str, str] | None = None
    perimeters: frozenset[str] | None = None
    exchanges: Mapping[int, str] | None = None
    # Rules that flag no household of the territory (all its communes outside their `champ`).
    silent_rules: frozenset[str] = frozenset()
    # Why `config/registre/` could not be read, when it could not: then `written_register` is empty.
    register_problem: str | None = None


def reference_problems(campaign: Campaign, known: KnownNames) -> list[CampaignInvalid]:
    """Every name of `campaign` that points to nothing: a rule, a register entry, and (when `known`
    has them) a commune outside the territory, an unknown perimeter, an exchange that does not exist
    or belongs to another register entry. Each would make the launch select nobody or be refused."""
    where = str(campaign.path)
    problems: list[CampaignInvalid] = []
    for key, rules in (
        ("campagne.regles", campaign.campagne.regles),
        ("selection.exclure_accompagnes", campaign.selection.exclure_accompagnes),
    ):
        for rule in rules:
            if rule not in known.rule_ids:
                problems.append(
                    CampaignInvalid(
                        where,
                        key,
                        f"règle « {rule} » absente du catalogue",
                        # Misspelt, or removed from the catalogue since the campaign was written.
                        f"{_closest(rule, known.rule_ids, 'règle')}, ou retirez-la de la liste si elle "
                        "a quitté le catalogue",
                    )
                )
    chosen = campaign.campagne.regles
    if chosen and set(chosen) <= known.silent_rules:
        problems.append(
            CampaignInvalid(
                where,
                "campagne.regles",
                f"aucune de ces règles ne signale de foyer du territoire ({', '.join(chosen)} : toutes ses "
                "communes sont hors de leur champ) : la campagne ne contacterait personne",
                "choisissez des règles qui valent pour le territoire (uptake rules explain RÈGLE)",
            )
        )
    code = campaign.campagne.registre
    if code in known.written_register and code not in known.loaded_register:
        problems.append(
            CampaignInvalid(
                where,
                "campagne.registre",
                f"la fiche « {code} » du registre des traitements n'est pas chargée dans la base",
                "chargez le registre : uptake register load",
            )
        )
    elif code not in known.loaded_register:
        if known.register_problem is not None:
            # The entry may well be written there: the folder must be mended, not the campaign.
            fix = (
                f"le dossier du registre ne se lit pas ({known.register_problem}) : corrigez-le, puis "
                "chargez-le : uptake register load"
            )
        elif not known.loaded_register and not known.written_register:
            fix = (
                "aucune fiche n'est écrite ni chargée : ajoutez la fiche au dossier du registre "
                "(config/registre/), puis chargez-le : uptake register load"
            )
        else:
            fix = _closest(code, known.loaded_register | known.written_register, "fiche")
        problems.append(
            CampaignInvalid(
                where, "campagne.registre", f"fiche « {code} » absente du registre des traitements", fix
            )
        )
    problems.extend(_geography_problems(campaign, known))
    problems.extend(_exchange_problems(campaign, known))
    return problems


def _geography_problems(campaign: Campaign, known: KnownNames) -> list[CampaignInvalid]:
    where, geo = str(campaign.path), campaign.geographie
    problems = []
    windows, communes = campaign.fenetres, list(known.communes or ())
    # The sending window must be the territory's: its hours, its public holidays.
    places = (
        ("fuseau", "fuseau", windows.fuseau, communes_time_zone(communes), "sont dans le fuseau {}",
         "les SMS et les appels partiraient hors des heures permises"),
        ("jours_feries", "jours fériés", windows.jours_feries, territory_calendar(communes),
         "suivent le calendrier « {} »", "des messages partiraient un jour férié"),
    )  # fmt: skip
    for key, label, written, expected, lives, consequence in places:
        if expected is not None and written != expected:
            said = (
                f"{label} « {written} », alors que les communes du territoire {lives.format(expected)} : "
                f"{consequence}"
            )
            fix = f'écrivez {key} = "{expected}" dans la section [fenetres]'
            problems.append(CampaignInvalid(where, f"fenetres.{key}", said, fix))
    if known.communes is not None:
        for code in geo.communes:
            if code in known.communes:
                continue
            close = difflib.get_close_matches(code, sorted(known.communes), n=1, cutoff=0.8)
            problems.append(
                CampaignInvalid(
                    where,
                    "geographie.communes",
                    f"la commune « {code} » n'est pas dans le territoire configuré : aucun foyer n'y sera "
                    "sélectionné",
                    _suggested(
                        close[0] if close else None,
                        f"donnez le code INSEE d'une des {len(known.communes)} communes du territoire "
                        "(liste : uptake territory)",
                        f" ({known.communes[close[0]]})" if close else "",
                    ),
                )
            )
    if known.perimeters is not None:
        for name in geo.perimetres:
            if name not in known.perimeters:
                close = difflib.get_close_matches(name, sorted(known.perimeters), n=1, cutoff=0.6)
                listed = ", ".join(f"« {p} »" for p in sorted(known.perimeters)) or "aucun"
                problems.append(
                    CampaignInvalid(
                        where,
                        "geographie.perimetres",
                        f"périmètre « {name} » inconnu dans config/territoire.toml : aucun foyer n'y sera "
                        "sélectionné",
                        _suggested(
                            close[0] if close else None,
                            f"donnez un type ou un nom de périmètre du territoire (connus : {listed})",
                        ),
                    )
                )
    return problems


def _exchange_problems(campaign: Campaign, known: KnownNames) -> list[CampaignInvalid]:
    wanted = campaign.campagne.echange
    if wanted is None or known.exchanges is None:
        return []
    where, code = str(campaign.path), campaign.campagne.registre
    if wanted not in known.exchanges:
        of_entry = sorted(n for n, entry in known.exchanges.items() if entry == code)
        listed = ", ".join(f"n°{n}" for n in of_entry)
        hint = f"échanges de la fiche « {code} » : {listed}" if listed else f"aucun échange pour « {code} »"
        return [
            CampaignInvalid(
                where,
                "campagne.echange",
                f"l'échange n°{wanted} n'existe pas",
                f"corrigez le numéro ({hint} ; voir uptake exchanges list) ou retirez la clé pour "
                "prendre l'échange approuvé le plus récent",
            )
        ]
    if known.exchanges[wanted] != code:
        return [
            CampaignInvalid(
                where,
                "campagne.echange",
                f"l'échange n°{wanted} relève de la fiche « {known.exchanges[wanted]} » du registre, "
                f"pas de « {code} »",
                "donnez un échange de la fiche de la campagne (voir uptake exchanges list)",
            )
        ]
    return []
