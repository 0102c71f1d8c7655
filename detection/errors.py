"""Errors of the detection domain: each carries what a user needs to fix the input, in French."""

from __future__ import annotations

from collections.abc import Sequence

from privacy.errors import said_at, several


class DetectionError(Exception):
    """Base of the detection errors; `str()` is a French message safe to show (no personal data)."""

    exit_code = 1


class ConfigInvalid(DetectionError):
    """A configuration file is wrong: names the file, the line when known, the key and the fix.

    With `also`, the other mistakes of the same file: all are listed, one per line, so that one
    reading tells everything to correct; `problems` holds them all, this one first.
    """

    exit_code = 2

    def __init__(
        self,
        path: str,
        key: str | None,
        problem: str,
        fix: str,
        *,
        line: int | None = None,
        also: Sequence[ConfigInvalid] = (),
    ) -> None:
        self.path, self.key, self.problem, self.fix, self.line = path, key, problem, fix, line
        self.problems: tuple[ConfigInvalid, ...] = (self, *also)
        super().__init__(
            several(path, [said_at(p.key, p.problem, p.fix, line=p.line) for p in self.problems])
        )


class UnknownCommune(DetectionError):
    """A commune code absent from the commune reference."""

    exit_code = 2

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"code commune inconnu `{code}` : il n'existe pas dans le référentiel des communes "
            "(code INSEE du COG, 5 caractères, par exemple 04088 pour Forcalquier)"
        )


class OutputUnusable(DetectionError):
    """The output folder of a run cannot receive its flags: what is wrong and how to fix it."""

    exit_code = 2

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = path
        super().__init__(f"dossier de sortie {path} : {problem} : {fix}")


class RuleVersionWentBack(DetectionError):
    """A rule's new content carries a version below one already used: the versions would no longer
    tell which content came after which."""

    exit_code = 2

    def __init__(self, gone_back: list[tuple[str, str, str, int]]) -> None:
        self.gone_back = gone_back
        listed = " ; ".join(
            f"{rule} (version {version}, alors que l'exécution n° {run_id} a déjà utilisé la version "
            f"{highest})"
            for rule, version, highest, run_id in gone_back
        )
        # What is wrong and the fix, without what a run does about it (`uptake check` says it too).
        self.told = (
            f"version de règle revenue en arrière : {listed}. Une nouvelle version d'une règle porte un "
            "numéro plus grand que toutes celles déjà utilisées, pour que l'ordre des versions dise l'ordre "
            "des contenus : donnez à la règle une version au-dessus de la plus haute déjà utilisée"
        )
        super().__init__(f"{self.told}, puis relancez. Rien n'a été exécuté")


class RuleChangedWithoutVersion(DetectionError):
    """A rule's content differs from what an earlier run used under the same version: its flags could
    no longer be explained by their version."""

    exit_code = 2

    def __init__(self, changed: list[tuple[str, str, int]]) -> None:
        self.changed = changed
        listed = " ; ".join(
            f"{rule} (version {version}, autre contenu à l'exécution n° {run_id})"
            for rule, version, run_id in changed
        )
        # What is wrong and the fix, without what a run does about it (`uptake check` says it too).
        self.told = (
            f"règle modifiée sans changer de version : {listed}. Une version désigne un seul contenu, pour "
            "qu'un drapeau s'explique par la version de sa règle : montez le champ `version` de la règle "
            "modifiée (par exemple 1.1.0 → 1.2.0)"
        )
        super().__init__(f"{self.told}, puis relancez. Rien n'a été exécuté")
