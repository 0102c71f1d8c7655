"""Errors of the outreach domain: each says what is wrong, where, and how to fix it, in French.

None of them ever carries a name, a phone number, an e-mail or an address: at most a pseudonym,
a line number or a count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from privacy.errors import said_at, several

_ATTEMPT = re.compile(r"^tentatives\[(\d+)\]\.?(.*)$")


class OutreachError(Exception):
    """Base of the outreach errors; `str()` is a French message safe to show."""

    exit_code = 2


class CampaignInvalid(OutreachError):
    """A campaign file is wrong: names the file, the key and the fix.

    A key of the attempts counts them from 1, as the data team does (`tentatives[2].canal` is the
    second `[[tentatives]]` block), and is told « tentative 2 : clé `canal` »."""

    def __init__(
        self,
        path: str,
        key: str | None,
        problem: str,
        fix: str,
        *,
        line: int | None = None,
        others: Sequence[str] = (),
    ) -> None:
        self.path, self.key, self.problem, self.fix, self.line = path, key, problem, fix, line
        said = campaign_said(key, problem, fix, line=line)
        # The file's other mistakes of the same reading: all fixed in one go, not one run each.
        super().__init__(several(path, [said, *others]))


def campaign_said(key: str | None, problem: str, fix: str, *, line: int | None = None) -> str:
    """One mistake of a campaign file without the file, an attempt's key told « tentative 2 : clé
    `canal` » (`tentatives[2].canal`, counted from 1)."""
    attempt = _ATTEMPT.match(key or "")
    if attempt:
        return f"tentative {attempt[1]} : {said_at(attempt[2] or None, problem, fix, line=line)}"
    return said_at(key, problem, fix, line=line)


class CampaignNotFound(OutreachError):
    """No campaign file has that name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        listed = ", ".join(known) or "aucune"
        super().__init__(
            f"campagne `{name}` introuvable dans config/campaigns/ (campagnes connues : {listed}). "
            "Vérifiez le nom (nom du fichier sans .toml) ou listez-les avec `uptake campaigns list`."
        )


class NobodyReachable(OutreachError):
    """Every household the campaign kept lacks contact details for its channels: launched, the run
    would count as launched (no second launch on it) having contacted nobody. Nothing is launched."""

    def __init__(self, campaign: str, run_id: int, households: int, channels: Sequence[str]) -> None:
        self.campaign, self.run_id, self.households = campaign, run_id, households
        super().__init__(
            f"campagne {campaign} non lancée sur l'exécution {run_id} : aucun des {households} foyer(s) "
            f"retenu(s) n'a de coordonnées utilisables pour ses canaux ({', '.join(channels)}) dans "
            "l'annuaire chiffré. L'annuaire de ce mois a-t-il été importé (« uptake contacts import ») ? "
            "Importez-le, puis relancez : rien n'a été enregistré"
        )


class CampaignNotLaunchable(OutreachError):
    """A campaign names what does not exist (a rule, a commune, a register entry…): launched, it would
    select fewer households than written, or none, without a word. Nothing is launched."""

    def __init__(self, path: str, problems: Sequence[CampaignInvalid]) -> None:
        self.path, self.problems = path, list(problems)
        listed = "\n".join(f"  – {problem}" for problem in problems)
        super().__init__(
            f"campagne {path} non lancée : {len(problems)} problème(s), ceux que « uptake campaigns "
            f"check » signale ; corrigez le fichier puis relancez.\n{listed}"
        )


class TemplateRefused(OutreachError):
    """A message template cannot be used as written: names the template, the line when known (and
    its text: the data team's, never a household's), and the fix."""

    def __init__(
        self, template: str, problem: str, fix: str, *, line: int | None = None, written: str = ""
    ) -> None:
        self.template, self.problem, self.fix, self.line = template, problem, fix, line
        where = f"modèle `{template}` refusé"
        if line is not None:
            where += f", ligne {line}" + (f" (« {written} »)" if written else "")
        # One full stop after each sentence, whatever the caller's ended with.
        sentence = f"{fix[:1].upper()}{fix[1:]}".rstrip(".")
        super().__init__(f"{where} : {problem.rstrip('.')}. {sentence}.")


class RunFlagsPurged(OutreachError):
    """The run's flags were deleted at the end of their retention."""

    def __init__(self, run_id: int, purged_on: str) -> None:
        super().__init__(
            f"les drapeaux de l'exécution n° {run_id} ont été supprimés le {purged_on} (fin de leur "
            "durée de conservation) : lancez la campagne sur une exécution plus récente "
            "(voir `uptake runs list`)."
        )


class RunNotFound(OutreachError):
    """The detection run asked for does not exist or has no flags."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"exécution de détection `{run_id}` introuvable. Donnez l'identifiant d'une exécution "
            "acceptée (voir `uptake run`)."
        )


class AlreadyLaunched(OutreachError):
    """The campaign was already launched on this detection run: a second launch would contact its
    households again and count them twice in the indicators."""

    def __init__(self, campaign: str, run_id: int, launch_id: int, launched_on: str) -> None:
        self.launch_id = launch_id
        super().__init__(
            f"la campagne {campaign} a déjà été lancée sur l'exécution {run_id} (lancement n°{launch_id}, "
            f"le {launched_on}) : ses relances se font par `uptake campaigns followup {campaign} --launch "
            f"{launch_id}`, et un nouveau lancement attend une nouvelle exécution de détection. Rien n'a été "
            "écrit."
        )


class OutsideSendingWindow(OutreachError):
    """A message would leave outside the sending window of its channel."""

    def __init__(self, channel: str, moment: str, next_allowed: str, reason: str) -> None:
        self.channel = channel
        super().__init__(
            f"envoi {channel} refusé le {moment} : {reason}. Prochain créneau autorisé : le {next_allowed}."
        )


class LineProblem:
    """One bad line of an imported file (line number as a spreadsheet shows it, header = 1)."""

    def __init__(self, line: int, column: str, problem: str) -> None:
        self.line, self.column, self.problem = line, column, problem

    def __str__(self) -> str:
        return f"ligne {self.line}, colonne `{self.column}` : {self.problem}"


class OutcomeImportInvalid(OutreachError):
    """An outcomes file has bad lines: every one is listed, nothing was imported."""

    def __init__(self, path: str, problems: list[LineProblem]) -> None:
        self.path, self.problems = path, problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … et {len(problems) - 50} autres" if len(problems) > 50 else ""
        super().__init__(
            f"{path} : {len(problems)} problème(s), rien n'a été importé. Corrigez ces lignes puis "
            f"relancez l'import :\n{shown}{more}"
        )


class OutcomeInvalid(OutreachError):
    """One outcome cannot be recorded (unknown code, missing amount...).

    `problem` and `fix` are kept apart so that a form can word its own sentence; `field` names what
    is wrong (`resultat` or `montant`), for the form to point at it.
    """

    def __init__(self, problem: str, fix: str, field: str = "resultat") -> None:
        self.problem, self.field = problem, field
        # The fix starts a sentence of its own, after the problem's full stop.
        self.fix = f"{fix[:1].upper()}{fix[1:]}".rstrip(".") + "."
        super().__init__(f"résultat refusé : {problem}. {self.fix}")

    @property
    def sentences(self) -> str:
        """The problem and its fix as sentences of their own (`Le montant est négatif. Donnez…`)."""
        return f"{self.problem[:1].upper()}{self.problem[1:]}. {self.fix}"


class ReconciliationInvalid(OutreachError):
    """The extract given for reconciliation cannot be used."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"rapprochement impossible : {problem}. {fix}")


class ReportNotSent(OutreachError):
    """The indicators report could not be e-mailed (it is written all the same)."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"rapport écrit mais non envoyé : {problem}. Vérifiez le relais de messagerie, puis relancez "
            "l'envoi (la commande, ou la planification)"
        )


class LaunchNotFound(OutreachError):
    """No launch has that number."""

    def __init__(self, launch_id: int) -> None:
        super().__init__(f"lancement n°{launch_id} introuvable (voir `uptake campaigns list`).")


class LaunchOfAnotherCampaign(OutreachError):
    """The launch asked for exists, but another campaign made it: its follow-ups are that campaign's."""

    def __init__(
        self, launch_id: int, campaign: str, owner: str, work: str = "produisez ses relances"
    ) -> None:
        super().__init__(
            f"le lancement n°{launch_id} est un lancement de {owner}, pas de {campaign} : {work} "
            f"avec la campagne {owner}, ou donnez un lancement de {campaign} (voir `uptake campaigns list`)."
        )
