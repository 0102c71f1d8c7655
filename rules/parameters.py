"""Dated legislative parameters, OpenFisca-like: each value with its effective date and legal source.

One YAML file per theme in `rules/parametres/` (`ppa.yaml` → parameters `ppa.<name>`). A
parameter is a number or a table keyed by an integer (zone, number of dependants...). A run
takes the values in force in its reference month; a month before the first value is an error.
"""

from __future__ import annotations

import datetime
import re
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import yaml

from rules.areas import AREAS, EVERYWHERE, areas_text
from rules.errors import FolderMissing, ParametersInvalid, ParametersMissing, Problem, name_hint, suggest
from rules.sourcefile import LocatedDict, position, read_yaml, yaml_problem

Value = float | dict[int, float]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
PARAMETER_FIELDS = ("description", "unite", "champ", "valeurs")
FRACTION = "fraction"  # a unit whose values lie between -1 and 1 (a rate, not a percentage)
VALUE_FIELDS = ("depuis", "valeur", "source", "reference")
# How far ahead a dated value may start: revaluations are published months before, never years.
FARTHEST_AHEAD = datetime.timedelta(days=2 * 366)


@dataclass(frozen=True)
class Version:
    """One value of a parameter, in force from `since` until the next version."""

    since: datetime.date
    value: Value
    source: str
    reference: str = ""
    line: int = 0  # in the parameter file, for errors that point at this value


@dataclass(frozen=True)
class Parameter:
    """A legislative parameter and its history."""

    name: str
    description: str
    unit: str
    versions: tuple[Version, ...]  # sorted by date
    path: str = ""  # the file it is written in
    areas: frozenset[str] = EVERYWHERE  # where its values hold (`champ`)

    @property
    def is_table(self) -> bool:
        return isinstance(self.versions[0].value, dict)

    def at(self, month: datetime.date) -> Version:
        """The version in force on the first day of `month`; `ParametersMissing` if none."""
        in_force = [v for v in self.versions if v.since <= month]
        if not in_force:
            raise ParametersMissing(self.name, month, self.versions[0].since, self.path)
        return in_force[-1]

    def where(self, version: Version) -> str:
        """`file:line` of one of its values."""
        return f"{self.path}:{version.line}" if version.line else self.path


@dataclass(frozen=True)
class Parameters:
    """Every known parameter, by dotted name."""

    by_name: dict[str, Parameter]
    folder: Path | None = None  # where they were read, named in hints

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def get(self, name: str) -> Parameter:
        """The parameter called `name` (the checker has made sure it exists)."""
        return self.by_name[name]

    def at(self, name: str, month: datetime.date) -> Version:
        """The version of `name` in force in `month`."""
        return self.by_name[name].at(month)


def default_parameters_dir() -> Path:
    """The parameter files shipped with the package."""
    return Path(__file__).resolve().parent / "parametres"


def load_parameters(folder: Path | None = None) -> Parameters:
    """Read every `*.yaml` of `folder` (default: the shipped files); `ParametersInvalid` if malformed."""
    folder = folder or default_parameters_dir()
    if not folder.is_dir() or not any(folder.glob("*.y*ml")):
        # One clear error rather than every parameter of the catalogue reported as unknown.
        raise FolderMissing(folder, "de paramètres", "--parametres")
    problems: list[Problem] = []
    found: dict[str, Parameter] = {}
    for path in sorted(folder.glob("*.yml")):
        problems.append(
            Problem(
                str(path),
                1,
                1,
                "fichier `.yml` non lu : les fichiers de paramètres finissent par `.yaml`",
                f"renommez-le `{path.stem}.yaml`",
            )
        )
    for path in sorted(folder.glob("*.yaml")):
        if not _NAME.match(path.stem):
            # The file's name begins each parameter's name: `rsa-mayotte.montant` would read as a
            # subtraction in a rule, and its parameters could never be cited.
            hint = name_hint(path.stem, verb="nommez-le", suffix=".yaml")
            problems.append(
                Problem(str(path), 1, 1, f"nom de fichier de paramètres invalide `{path.name}`", hint)
            )
            continue
        try:
            document = read_yaml(path)
        except yaml.MarkedYAMLError as exc:
            problems.append(Problem(str(path), *yaml_problem(exc)))
            continue
        if not isinstance(document, dict):
            problems.append(Problem(str(path), 1, 1, "le fichier doit être une table de paramètres"))
            continue
        for key, spec in document.items():
            name = f"{path.stem}.{key}"
            parameter = _parameter(name, spec, str(path), position(key), problems)
            if parameter is not None:
                found[name] = parameter
    if problems:
        raise ParametersInvalid(problems)
    return Parameters(found, folder)


def _parameter(
    name: str, spec: object, path: str, where: tuple[int, int], problems: list[Problem]
) -> Parameter | None:
    line, column = where
    if not _NAME.match(name.split(".", 1)[1]):
        hint = name_hint(name.split(".", 1)[1])
        problems.append(Problem(path, line, column, f"nom de paramètre invalide `{name}`", hint))
        return None
    if not isinstance(spec, LocatedDict) or not isinstance(spec.get("valeurs"), list) or not spec["valeurs"]:
        problems.append(
            Problem(
                path,
                line,
                column,
                f"`{name}` : liste `valeurs` manquante",
                "chaque valeur : depuis, valeur, source",
            )
        )
        return None
    _unknown_keys(name, spec, PARAMETER_FIELDS, path, (line, column), problems)
    versions: list[Version] = []
    for item in spec["valeurs"]:
        at = position(item, (line, column))
        if not isinstance(item, dict):
            problems.append(Problem(path, *at, f"`{name}` : valeur mal formée", "depuis, valeur, source"))
            continue
        _unknown_keys(name, item, VALUE_FIELDS, path, at, problems)
        since, value, source = item.get("depuis"), item.get("valeur"), item.get("source")
        if not isinstance(since, datetime.date) or isinstance(since, datetime.datetime):
            problems.append(Problem(path, *at, f"`{name}` : `depuis` doit être une date", _date_hint(since)))
            continue
        if since > datetime.date.today() + FARTHEST_AHEAD:
            # A legal text applies months after it is published, not years: 2042 is a slip for 2024,
            # and the value would silently never apply.
            problems.append(
                Problem(
                    path,
                    *at,
                    f"`{name}` : `depuis` {since:%d/%m/%Y} est dans plus de deux ans",
                    "vérifiez l'année : une valeur publiée s'applique dans les mois qui suivent",
                )
            )
            continue
        if source is None or not str(source).strip():
            # A source of spaces only is no source: the value could no longer be traced to its text.
            problems.append(
                Problem(path, *at, f"`{name}` : valeur sans source légale", "citez le décret ou l'arrêté")
            )
            continue
        parsed = _value(value)
        if parsed is None:
            problems.append(Problem(path, *at, f"`{name}` : {_value_problem(item)}"))
            continue
        unit = str(spec.get("unite", "")).strip()
        # A rate may be negative (a variation per extra person), never more than the whole.
        outside = [v for v in (parsed.values() if isinstance(parsed, dict) else [parsed]) if abs(v) > 1]
        if unit == FRACTION and outside:
            # 59.85 written for 59,85 % would multiply the amounts by a hundred, and pass every check.
            problems.append(
                Problem(
                    path,
                    *at,
                    f"`{name}` : valeur {outside[0]:g} au-delà de 1 pour une fraction",
                    f"écrivez un pourcentage en fraction : {outside[0] / 100:g} pour {outside[0]:g} %",
                )
            )
            continue
        if versions and since <= versions[-1].since:
            # Written in date order, so that the reader sees the history as it went; a date given
            # twice would leave which value applies to chance.
            previous = versions[-1].since
            problem = (
                f"deux valeurs depuis le {since:%d/%m/%Y}"
                if since == previous
                else f"valeur depuis le {since:%d/%m/%Y} placée après celle du {previous:%d/%m/%Y}"
            )
            order = "une date par valeur, de la plus ancienne à la plus récente"
            problems.append(Problem(path, *at, f"`{name}` : {problem}", order))
            continue
        versions.append(
            Version(since, parsed, str(source).strip(), str(item.get("reference", "")).strip(), at[0])
        )
    if not versions:
        return None
    if len({isinstance(v.value, dict) for v in versions}) > 1:
        problems.append(Problem(path, line, column, f"`{name}` mélange nombres et tables", "une seule forme"))
        return None
    _same_keys(name, versions, path, problems)
    areas = read_areas(f"`{name}`", spec, path, (line, column), problems)
    if areas is None:
        return None
    return Parameter(
        name, str(spec.get("description", "")), str(spec.get("unite", "")), tuple(versions), path, areas
    )


def read_areas(
    owner: str, spec: LocatedDict, path: str, where: tuple[int, int], problems: list[Problem]
) -> frozenset[str] | None:
    """The areas of `spec`'s `champ` (everywhere when absent), for a parameter or a rule named
    `owner`; None after recording why it is wrong."""
    if "champ" not in spec:
        return EVERYWHERE
    raw = spec["champ"]
    at = position(next(key for key in spec if key == "champ"), where)
    example = f"ex. `champ: [{areas_text(EVERYWHERE - {'Mayotte'})}]`"
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(path, *at, f"{owner} : `champ` doit être une liste de territoires", example))
        return None
    unknown = [item for item in raw if item not in AREAS]
    for item in unknown:
        hint = suggest(str(item), tuple(AREAS)) or f"territoires connus : {areas_text(EVERYWHERE)}"
        problem = f"{owner} : territoire inconnu « {item} » dans `champ`"
        problems.append(Problem(path, *position(item, at), problem, hint))
    return None if unknown else frozenset(str(item) for item in raw)


def _unknown_keys(
    name: str,
    item: dict[object, object],
    known: tuple[str, ...],
    path: str,
    where: tuple[int, int],
    problems: list[Problem],
) -> None:
    """A misspelt key (`refrence:`) would otherwise be dropped without notice."""
    for key in item:
        if key not in known:
            problems.append(
                Problem(
                    path,
                    *position(key, where),
                    f"`{name}` : champ inconnu `{key}`",
                    suggest(str(key), known) or f"champs permis : {', '.join(known)}",
                )
            )


def _same_keys(name: str, versions: list[Version], path: str, problems: list[Problem]) -> None:
    """Every dated value of a table has the keys of the others: a key forgotten when copying a
    new arrêté would make the look-up empty for those households from that date on."""
    tables = [v for v in versions if isinstance(v.value, dict)]
    all_keys = set().union(*(set(v.value) for v in tables if isinstance(v.value, dict)))
    for version in tables:
        assert isinstance(version.value, dict)
        missing = sorted(all_keys - set(version.value))
        if missing:
            keys = ", ".join(str(k) for k in missing)
            problems.append(
                Problem(
                    path,
                    version.line,
                    1,
                    f"`{name}` : la valeur depuis le {version.since:%d/%m/%Y} n'a pas la clé {keys}",
                    "chaque valeur d'une table donne toutes les clés (zones, nombres de personnes…)",
                )
            )


# A day written the French way (01/04/2026, 1.4.2026) or without its zeros (2026-4-1): YAML reads
# both as text; the hint gives the author's own day as it must be written.
_FRENCH_DAY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_UNPADDED_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _date_hint(since: object) -> str:
    """How to write the `depuis` given as `since`, with the day meant when it can be told."""
    if isinstance(since, datetime.datetime):
        return f"écrivez le jour seul, sans heure : depuis: {since:%Y-%m-%d}"
    text = since.strip() if isinstance(since, str) else ""
    try:
        return f"écrivez la date sans guillemets : depuis: {datetime.date.fromisoformat(text)}"
    except ValueError:
        pass
    for pattern, order in ((_FRENCH_DAY, (2, 1, 0)), (_UNPADDED_DAY, (0, 1, 2))):
        found = pattern.fullmatch(text)
        if found:
            year, month, day = (int(found.group(i + 1)) for i in order)
            with suppress(ValueError):
                return f"écrivez-la AAAA-MM-JJ, sans guillemets : depuis: {datetime.date(year, month, day)}"
    return "écrivez-la AAAA-MM-JJ, sans guillemets, par exemple depuis: 2024-04-01"


def _value_problem(item: dict[object, object]) -> str:
    """Why `valeur` is not a number or a table, said so that the author sees the fix."""
    if "valeur" not in item or item["valeur"] is None:
        return "valeur manquante — écrivez `valeur: 633.21` (ou une table `{1: 329.71, 2: 287.35}`)"
    raw = item["valeur"]
    if isinstance(raw, str) and raw.strip().endswith("%"):
        return (
            f"valeur `{raw}` écrite en pourcentage — écrivez la fraction avec un point, 0.5985 pour 59,85 %"
        )
    if isinstance(raw, str) and re.fullmatch(r"-?\d+,\d+", raw.strip()):
        fixed = raw.strip().replace(",", ".")
        return f"valeur `{raw}` écrite avec une virgule — écrivez le nombre avec un point : {fixed}"
    return "valeur non numérique — un nombre, ou une table clé entière → nombre"


def _value(value: object) -> Value | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict) and value:
        table: dict[int, float] = {}
        for key, item in value.items():
            if not isinstance(key, int) or isinstance(item, bool) or not isinstance(item, int | float):
                return None
            table[key] = float(item)
        return table
    return None
