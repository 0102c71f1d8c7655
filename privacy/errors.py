"""Errors of the privacy domain: never carry names, numbers or addresses, only pseudonyms and counts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def located(path: str, key: str | None, problem: str, fix: str, *, line: int | None = None) -> str:
    """The whole message: `fichier : clé `a.b` : problème. Correction.` (no key for the whole file),
    `fichier : ligne 9, clé `a.b` : …` when the line is known."""
    return f"{path} : {said_at(key, problem, fix, line=line)}"


def several(path: str, said: Sequence[str]) -> str:
    """The message of a file's mistakes (each `said_at`): `fichier : mistake.` for one; counted, one
    per line, for several, so that one reading tells everything to correct."""
    if len(said) == 1:
        return f"{path} : {said[0]}"
    listed = "\n".join(f"  – {one}" for one in said)
    return f"{path} : {len(said)} problèmes :\n{listed}"


def said_at(key: str | None, problem: str, fix: str, *, line: int | None = None) -> str:
    """One mistake without its file: `ligne 9, clé `a.b` : problème. Correction.`, for a list of the
    mistakes of one file."""
    places = [f"ligne {line}"] if line is not None else []
    if key and not key.startswith("("):
        places.append(f"clé `{key}`")
    where = f"{', '.join(places)} : " if places else ""
    advice = f" {fix[0].upper()}{fix[1:]}{'' if fix.endswith('.') else '.'}" if fix else ""
    end = "" if problem.endswith(("?", "!", ".")) else "."  # a question keeps its own mark
    return f"{where}{problem}{end}{advice}"


class PrivacyError(Exception):
    """Base of the privacy errors; `str()` is a French message safe to show."""

    exit_code = 2


class KeyringError(PrivacyError):
    """The keyring cannot be opened or used: names the file or variable and the fix."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(located(where, None, problem, fix))


class InputInvalid(PrivacyError):
    """An input file (raw extract, contact directory, register entry) is unusable as a whole."""

    def __init__(
        self,
        path: str,
        problem: str,
        fix: str,
        *,
        key: str | None = None,
        line: int | None = None,
        others: Sequence[str] = (),
    ) -> None:
        self.path, self.problem, self.fix, self.key, self.line = path, problem, fix, key, line
        said = said_at(key, problem, fix, line=line)
        # The file's other mistakes of the same reading (each `said_at`): all fixed in one go.
        super().__init__(several(path, [said, *others]))


class UnknownObject(PrivacyError):
    """An exchange, register entry or output id that does not exist."""

    def __init__(self, kind: str, ident: str) -> None:
        self.kind, self.ident = kind, ident
        super().__init__(
            f"{kind.capitalize()} « {ident} » introuvable. Vérifiez le numéro ou le code : la liste les "
            "donne tous (page ou commande « list »)."
        )


class ExchangeRefused(PrivacyError):
    """Personal data was asked for without an approved, unexpired, correctly signed exchange.

    `reasons` lists what is missing, each a short French sentence; nothing was written or decrypted.
    """

    exit_code = 3

    def __init__(self, exchange_id: int | None, reasons: Iterable[str]) -> None:
        self.exchange_id = exchange_id
        self.reasons = tuple(reasons)
        which = f"l'échange n°{exchange_id}" if exchange_id is not None else "cette demande"
        super().__init__(
            f"refus pour {which} : " + " ; ".join(self.reasons) + ". Rien n'a été écrit ni déchiffré."
        )


class DecisionInvalid(PrivacyError):
    """A DPO decision that cannot be taken (already decided, no register entry, bad dates...)."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem}. {fix[:1].upper()}{fix[1:]}.")
