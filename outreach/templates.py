"""Rendering the data team's message texts (jinja2, sandboxed) and checking them before use.

The texts live in `config/templates/`. They are rendered in a `SandboxedEnvironment` with strict
undefined variables, so a typo or a variable the channel does not provide (an amount in an SMS)
is a refusal naming the template, never a silent blank. Checks:

- every first contact carries the notice of the rights of access, rectification and objection
  (CRPA L.114-8 II) and how to object;
- an SMS carries the STOP wording, no amount, and fits in the configured number of segments;
- nothing reaches the network by itself: an HTML text (letter, e-mail) loads no image, style sheet,
  font or frame from outside, runs no script, and no link's address carries the household's data
  (a letter's HTML file opened in a browser, or an e-mail in a mail client, would otherwise send the
  household's name to whoever runs the host).
"""

from __future__ import annotations

import difflib
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateRuntimeError,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from outreach.campaigns import Attempt, Campaign
from outreach.errors import TemplateRefused
from outreach.sms import SmsSize, measure, non_gsm_characters
from privacy.exchanges import DETECTION_FIELDS, PRESUMED_RIGHTS

RIGHTS_NOTICE = "mention-droits"
RIGHTS_NOTICE_SMS = "mention-droits-sms"

# How each rule's right is named in a message (French); an SMS gets the short form.
RIGHT_LABELS: dict[str, str] = {
    "ppa_non_recours": "la prime d'activité",
    "rsa_non_recours": "le RSA",
    "al_non_recours": "une aide au logement",
    "evenement_vie": "un accompagnement par un travailleur social",
    "impaye_locatif": "un accompagnement pour vos difficultés de loyer",
    "logement_non_decent": "une aide pour améliorer votre logement",
    "rdv_droits_eloignes": "un rendez-vous pour faire le point sur vos droits",
}

NARROW_NBSP = "\u202f"

# The variables through which a text tells its addressee's detection reasons (exchange field `motifs`).
_REASON_VARIABLES = frozenset({"montant_estime", "motifs"})
# The template files of each channel's message (the call script's text is not sent: see `disclosed`).
_CHANNEL_FILES = {"sms": ("txt",), "email": ("html", "txt"), "courrier": ("html",)}

_AMOUNT = re.compile(r"\d[\d\s.,]*\s*(€|euros?\b|EUR\b)", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedMessage:
    """One household's message: plain text (always), HTML (e-mails, letters), subject (e-mails)."""

    text: str
    html: str | None = None
    subject: str | None = None
    sms: SmsSize | None = None


def rights_text(rules: list[str]) -> str:
    """The rights a household may claim, in French (`la prime d'activité et le RSA`)."""
    labels = list(dict.fromkeys(RIGHT_LABELS.get(r, r) for r in rules))
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]


def _with_a(label: str) -> str:
    if label.startswith("le "):
        return "au " + label[3:]
    if label.startswith("les "):
        return "aux " + label[4:]
    return "à " + label


def rights_text_a(rules: list[str]) -> str:
    """The same preceded by `à` with French contractions (`à la prime d'activité et au RSA`)."""
    labels = [_with_a(label) for label in dict.fromkeys(RIGHT_LABELS.get(r, r) for r in rules)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]


def format_euros(amount: float | None) -> str | None:
    """`1234.5` → `1 234,50 €` (French typography); None stays None."""
    if amount is None:
        return None
    whole, cents = f"{amount:,.2f}".split(".")
    return whole.replace(",", NARROW_NBSP) + "," + cents + " €"


def format_estimate(amount: float | None) -> str | None:
    """An estimated amount as said to a household, to the euro: `510.53` → `511 €` (an estimate read
    to the cent would claim a precision it does not have); None stays None."""
    if amount is None:
        return None
    euros = int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{euros:,}".replace(",", NARROW_NBSP) + " €"


_UNKNOWN_FILTER = "filtre `{0}` inconnu"
_UNKNOWN_TEST = "test `{0}` inconnu"
_FIX_FILTER = (
    "utilisez un filtre de jinja2 (upper, lower, default…) ou retirez-le ; `montant_estime` est déjà un "
    "texte mis en forme, arrondi à l'euro (« 1 235 € ») : écrivez simplement {{ montant_estime }}"
)
# A filter or test jinja2 does not know, when the compiler let it through (inside a block, jinja2
# only fails when the line runs).
_UNKNOWN_AT_RUNTIME = re.compile(r"^No (filter|test) named '([^']+)' found\.?$")
# The stub jinja2 compiles for an unknown filter or test (`t_1`) is defined at the template's top:
# the line that uses it is its caller's.
_STUB = re.compile(r"^t_\d+$")

# jinja2's syntax errors, in French: its message's pattern, then the problem (`{0}`: what it quoted).
_SYNTAX_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"innermost block that needs to be closed is '(\w+)'"),
        "le bloc {{% {0} %}} n'est jamais fermé, il manque {{% end{0} %}}",
    ),
    (
        re.compile(r"end of template.*'end of print statement'", re.I),
        "une expression {{{{ … }}}} n'est pas fermée, il manque }}}}",
    ),
    (
        re.compile(r"end of template.*'end of statement block'", re.I),
        "une balise {{% … %}} n'est pas fermée, il manque %}}",
    ),
    (re.compile(r"unexpected end of template", re.I), "le modèle s'arrête au milieu d'une balise"),
    (re.compile(r"unknown tag '(\w+)'"), "balise {{% {0} %}} inconnue ou mal placée"),
    (re.compile(r"No filter named '([^']+)'"), _UNKNOWN_FILTER),
    (re.compile(r"No test named '([^']+)'"), _UNKNOWN_TEST),
    (re.compile(r"expected token '[^']+', got '([^']+)'"), "« {0} » inattendu à cet endroit"),
    (re.compile(r"unexpected '([^']+)'"), "« {0} » inattendu (une accolade en trop ou en moins ?)"),
)
_FIX_SYNTAX = "corrigez la syntaxe (jinja2 : {{ variable }}, {% if … %}…{% endif %})"
_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'$")


def _syntax_problem(message: str) -> str:
    for pattern, problem in _SYNTAX_PROBLEMS:
        found = pattern.search(message)
        if found:
            return problem.format(*found.groups())
    return "syntaxe incorrecte"


def _runtime_line(env: Environment, templates_dir: Path, exc: Exception) -> tuple[str, int] | None:
    """The template and line a rendering error arose at: the innermost frame of a template's code,
    whose Python line jinja2 maps back to the template's."""
    folder = templates_dir.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()  # a template's code runs under its file's name
        if _STUB.match(frame.name):
            continue
        if frame.lineno is not None and path.is_relative_to(folder) and path.is_file():
            name = path.relative_to(folder).as_posix()
            return name, env.get_template(name).get_corresponding_lineno(frame.lineno)
    return None


def _written(templates_dir: Path, name: str, line: int | None) -> str:
    """The template's line as written (the data team's text, never a household's), shortened."""
    if line is None:
        return ""
    try:
        text = (templates_dir / name).read_text(encoding="utf-8").splitlines()[line - 1].strip()
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    return f"{text[:60]}…" if len(text) > 60 else text


def template_refused(
    env: Environment, templates_dir: Path, name: str, exc: Exception, variables: list[str]
) -> TemplateRefused:
    """The French refusal of template `name` that failed with `exc`: its file, its line, what is wrong
    and how to fix it (for an unknown variable, the `variables` it may use)."""
    line: int | None
    if isinstance(exc, TemplateSyntaxError):
        where, line = exc.name or name, exc.lineno
        problem = _syntax_problem(exc.message or "")
        fix = _FIX_FILTER if problem.startswith(("filtre `", "test `")) else _FIX_SYNTAX
    else:
        where, line = _runtime_line(env, templates_dir, exc) or (name, None)
        problem, fix = _runtime_problem(exc, name, templates_dir, variables)
    written = _written(templates_dir, where, line)
    return TemplateRefused(str(templates_dir / where), problem, fix, line=line, written=written)


def _runtime_problem(exc: Exception, name: str, templates_dir: Path, variables: list[str]) -> tuple[str, str]:
    """What went wrong while rendering, and the fix (never the exception's text, which may quote a value)."""
    message = str(getattr(exc, "message", None) or "")
    if isinstance(exc, TemplateRuntimeError) and (stub := _UNKNOWN_AT_RUNTIME.match(message)):
        kind = _UNKNOWN_FILTER if stub.group(1) == "filter" else _UNKNOWN_TEST
        return kind.format(stub.group(2)), _FIX_FILTER
    if isinstance(exc, UndefinedError) and (unknown := _UNDEFINED.match(message)):
        return (
            f"variable « {unknown.group(1)} » inconnue ici",
            f"utilisez une des variables de ce canal : {', '.join(variables)} (voir "
            "config/campaigns/LISEZMOI.md)",
        )
    if isinstance(exc, UndefinedError) and (attribute := _NO_ATTRIBUTE.search(message)):
        return (
            f"attribut « {attribute.group(1)} » inconnu",
            "vérifiez son nom (questionnaire : titre, questions ; chaque question : id, texte, type)",
        )
    if isinstance(exc, TemplateNotFound):
        included = "" if exc.name == name else "inclus "
        return (
            f"le modèle {included}« {exc.name} » est introuvable",
            f"créez-le dans {templates_dir} ou corrigez son nom",
        )
    if isinstance(exc, SecurityError):
        return (
            "accès interdit par le bac à sable (attribut ou fonction interne)",
            "un modèle ne lit que ses variables",
        )
    return (
        "opération impossible à l'exécution du modèle (calcul entre un texte et un nombre, filtre sur "
        "une valeur absente…)",
        "vérifiez les expressions de cette ligne",
    )


# What a text would reach on the network by itself. A letter's HTML file is opened in a browser (to
# print the letters left out of the PDF) and an e-mail in a mail client: any address they fetch on
# their own tells the host who opened it, and with `?n={{ nom }}` the household's name.

# Attributes whose address is fetched as soon as the page is shown (on every tag).
_LOADING = frozenset(
    {
        *("src", "srcset", "imagesrcset", "background", "poster", "data", "lowsrc", "dynsrc"),
        *("codebase", "archive", "manifest", "ping", "longdesc", "icon", "profile", "action"),
    }
)
# The addresses a reader must click to follow (every other `href`, `<link>` or `<base>`, is fetched).
_CLICKED = {"a": frozenset({"href", "xlink:href"}), "area": frozenset({"href"})}
# Variables a link's address may use: the campaign's, never the household's.
_URL_VARIABLES = frozenset(
    {"lien", "expediteur", "campagne", "prestations_texte", "prestations_a", "premier_contact"}
)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)
# An image written inline stays on the page (an SVG may itself fetch: not among them).
_INLINE_IMAGE = re.compile(r"^data:image/(png|jpe?g|gif|webp)[;,]", re.IGNORECASE)
_SCRIPT_SCHEMES = frozenset({"javascript", "vbscript"})
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|$)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\r\n\f]?|(.))", re.DOTALL)
_CSS_URL = re.compile(r"url\(\s*([\"']?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_CSS_STRING = re.compile(r"([\"'])(.*?)\1", re.DOTALL)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]*)", re.IGNORECASE)
# A jinja2 tag in a template's source: expressions keep a placeholder, statements and comments go.
_JINJA_TAG = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_TEXT_URL = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)\S*$", re.IGNORECASE)
_RENDERED_URL = re.compile(r"(?:[a-z][a-z0-9+.\-]*://|www\.)\S+", re.IGNORECASE)

_FIX_NETWORK = (
    "retirez cette adresse : un modèle ne charge rien depuis le réseau ni n'exécute de script ; une "
    'image se place dans config/templates/ et s\'appelle par son nom (src="logo.png")'
)
_FIX_ASSET = (
    "placez le fichier dans le dossier des modèles (config/templates/), ou corrigez son nom : sans lui, "
    "les courriers seraient imprimés sans rien dire"
)
_FIX_LINK = (
    "une adresse de lien ne contient que du texte fixe ou {{ lien }} : retirez-en les variables du foyer "
    "(nom, adresse, courriel, téléphone, référence…)"
)
# The sample values of the household's own data, to find them in a link of a sample rendering.
_HOUSEHOLD_SAMPLES = ("nom", "prenom", "telephone", "email", "adresse", "reference")


def reaches_network(address: str) -> bool:
    """Whether a browser showing a page would fetch `address` from outside the page's folder: any
    address with a scheme (`http:`, `https:`, `ftp:`, `file:`…) or starting with `//`; a file name of
    the templates folder and an inline image (`data:image/png`) stay local."""
    # Browsers drop spaces and control characters, and read `\` as `/`.
    compact = "".join(ch for ch in address if ch > " " and ch != "\x7f").replace("\\", "/")
    if compact.startswith("//"):
        return True
    return _SCHEME.match(compact) is not None and _INLINE_IMAGE.match(compact) is None


def _scheme(address: str) -> str:
    found = _SCHEME.match("".join(ch for ch in address if ch > " ").replace("\\", "/"))
    return found.group(1).lower() if found else ""


def _css_unescaped(match: re.Match[str]) -> str:
    if match.group(1) is None:
        return match.group(2)
    point = int(match.group(1), 16)
    return chr(point) if 0 < point <= 0x10FFFF and not 0xD800 <= point <= 0xDFFF else "\ufffd"


def _css_addresses(css: str) -> list[tuple[int, str]]:
    """Every address a style sheet may fetch (`url(…)`, `@import "…"`, `image-set("…")`), with its
    line offset; escapes (`\75rl(`) are decoded first, as a browser does."""
    text = _CSS_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), css)
    text = _CSS_ESCAPE.sub(_css_unescaped, text)
    found = [(text.count("\n", 0, m.start()), m.group(2)) for m in _CSS_URL.finditer(text)]
    found += [(text.count("\n", 0, m.start()), m.group(2)) for m in _CSS_STRING.finditer(text)]
    return found


class _Scan(HTMLParser):
    """What an HTML text fetches by itself (`loads`), the scripts it runs, and its links' addresses;
    each with its line in the text scanned and the tag and attribute it sits in (`<img src>`)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[int, str, str]] = []
        self.scripts: list[tuple[int, str]] = []
        self.links: list[tuple[int, str, str]] = []
        self._style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        self._style = tag == "style"
        if tag == "script":
            self.scripts.append((line, "balise <script>"))
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            where = f"<{tag} {name}>"
            if name.startswith("on") or name == "srcdoc":
                self.scripts.append((line, f"attribut `{name}` de <{tag}>"))
            elif name == "style":
                self.loads.extend((line + offset, where, a) for offset, a in _css_addresses(value))
            elif name in _CLICKED.get(tag, ()):
                self.links.append((line, where, value))
            elif name in _LOADING or name.endswith("href"):
                addresses = (
                    [c.split()[0] for c in value.split(",") if c.split()] if "srcset" in name else [value]
                )
                self.loads.extend((line, where, a) for a in addresses)
            if _scheme(value) in _SCRIPT_SCHEMES:
                self.scripts.append((line, f"adresse javascript: dans {where}"))
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            refresh = _REFRESH_URL.search(values.get("content", ""))
            if refresh:
                self.loads.append((line, "<meta http-equiv=refresh>", refresh.group(1)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._style = False

    def handle_data(self, data: str) -> None:
        if self._style:
            line = self.getpos()[0]
            self.loads.extend((line + offset, "<style>", a) for offset, a in _css_addresses(data))


def _network_problems(scan: _Scan) -> list[tuple[int, str]]:
    """The lines of `scan` that would reach the network by themselves, and why (in French)."""
    found = [
        (line, f"{what} : un script peut joindre le réseau et lire les données de la page")
        for line, what in scan.scripts
    ]
    found += [
        (
            line,
            f"la balise {where} charge une adresse du réseau : à l'ouverture du courrier dans un "
            "navigateur ou du courriel dans une messagerie, cet hôte recevrait une requête, avec les "
            "données du foyer que l'adresse porte",
        )
        for line, where, address in scan.loads
        if reaches_network(address)
    ]
    return sorted(found)


def _link_problem(where: str, variables: list[str]) -> str:
    named = ", ".join(f"`{v}`" for v in variables)
    return (
        f"l'adresse de {where} contient la variable {named} : en suivant le lien, le lecteur enverrait "
        "les données du foyer au site visé"
    )


def _masked(source: str) -> tuple[str, list[str]]:
    """A template's source with each `{{ … }}` replaced by a placeholder (its expression kept apart),
    statements and comments removed, line breaks kept: an HTML parser then reads it line for line."""
    expressions: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        breaks = "\n" * match.group(0).count("\n")
        if match.group(1) is None:
            return breaks
        expressions.append(match.group(1))
        return f"\ue000{len(expressions) - 1}\ue001{breaks}"

    return _JINJA_TAG.sub(placeholder, source), expressions


class Renderer:
    """Renders one campaign's templates, with the checks of its channel."""

    def __init__(self, templates_dir: Path, campaign: Campaign) -> None:
        self.templates_dir = templates_dir
        self.campaign = campaign
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            keep_trailing_newline=False,
        )
        self._scanned: set[str] = set()
        self._sources: dict[str, tuple[str, nodes.Template]] = {}
        base = {"lien": campaign.campagne.lien_court, "expediteur": campaign.campagne.expediteur}
        self.notice = self._module(f"{RIGHTS_NOTICE}.txt.j2", base)[0].strip()
        self.notice_sms = self._module(f"{RIGHTS_NOTICE_SMS}.txt.j2", base)[0].strip()
        # Every text of the sequence, before anything is written: a launch whose letter would fetch
        # from the network is refused even if its first attempt is an SMS. A missing file is the
        # campaign loader's finding (and the rendering's), not this one's.
        for attempt in campaign.tentatives:
            if attempt.canal != "appel":
                for kind in _CHANNEL_FILES[attempt.canal]:
                    if (templates_dir / f"{attempt.modele}.{kind}.j2").is_file():
                        self._scan_once(f"{attempt.modele}.{kind}.j2")

    def _module(self, name: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
        html = name.endswith(".html.j2")
        try:
            template = self.env.get_template(name)
        except Exception as exc:
            raise template_refused(self.env, self.templates_dir, name, exc, sorted(context)) from None
        self._scan_once(name)
        try:
            module = template.make_module(dict(context))
        # A template is the data team's code: whatever it raises (a jinja2 error, or a calculation
        # on a text) is a fault of the template, told in French with its file and line.
        except Exception as exc:
            raise template_refused(self.env, self.templates_dir, name, exc, sorted(context)) from None
        text = str(module)
        if html:
            # The source check cannot see an address built at rendering (a macro, `|safe`): every
            # rendering is read again, and refused without quoting it (it holds a household's data).
            problems = _network_problems(_Scan(text))
            if problems:
                rendered = text.split("\n")[problems[0][0] - 1]
                raise self._refused(name, problems[0][1], _FIX_NETWORK, self._source_line(name, rendered))
        return text, getattr(module, "sujet", None)

    def _scan_once(self, name: str) -> None:
        if name not in self._scanned:
            self._scan_source(name, html=name.endswith(".html.j2"), seen={name})
            self._scanned.add(name)

    def _source_line(self, name: str, rendered: str) -> int | None:
        """The line of template `name` that most resembles a line of its rendering (jinja2 maps no
        output back to its source); None when none resembles it."""
        try:
            lines = (self.templates_dir / name).read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            return None
        scores = [difflib.SequenceMatcher(None, rendered, line).ratio() for line in lines]
        best = max(range(len(scores)), key=scores.__getitem__, default=None)
        return best + 1 if best is not None and scores[best] > 0.3 else None

    def _refused(self, name: str, problem: str, fix: str, line: int | None) -> TemplateRefused:
        written = _written(self.templates_dir, name, line)
        return TemplateRefused(str(self.templates_dir / name), problem, fix, line=line, written=written)

    def _scan_source(self, name: str, *, html: bool, seen: set[str]) -> None:
        """Refuse a template (or one it includes) whose text would reach the network by itself or
        put a household's variable in a link's address; with its file and line."""
        source, tree = self._parsed(name)
        referenced = meta.find_referenced_templates(tree)
        masked, expressions = _masked(source)
        # (line, rank, problem, fix): on one line, what the page fetches by itself comes first, then a
        # file missing, then a link carrying the household's data.
        problems: list[tuple[int, int, str, str]] = []
        if html:
            scan = _Scan(masked)
            problems += [(line, 0, problem, _FIX_NETWORK) for line, problem in _network_problems(scan)]
            problems += [(line, 1, problem, _FIX_ASSET) for line, problem in self._missing_assets(scan)]
            for line, where, address in scan.links:
                for found in _PLACEHOLDER.finditer(address):
                    unsafe = self._household_variables(expressions[int(found.group(1))])
                    if unsafe:
                        problems.append((line, 2, _link_problem(f"la balise {where}", unsafe), _FIX_LINK))
        for found in _PLACEHOLDER.finditer(masked):
            # A bare address in a text (a mail client makes it a link) followed by a variable.
            if _TEXT_URL.search(masked[: found.start()].rsplit("\n", 1)[-1]):
                unsafe = self._household_variables(expressions[int(found.group(1))])
                if unsafe:
                    line = masked.count("\n", 0, found.start()) + 1
                    problems.append(
                        (line, 3, _link_problem("ce lien écrit dans le texte", unsafe), _FIX_LINK)
                    )
        if problems:
            line, _, problem, fix = min(problems)
            raise self._refused(name, problem, fix, line)
        for other in referenced:
            if other is not None and other not in seen:
                seen.add(other)
                self._scan_source(other, html=html, seen=seen)

    def _missing_assets(self, scan: _Scan) -> list[tuple[int, str]]:
        """The files a template calls by name (`<img src="logo.png">`) that are not in the templates'
        folder: the letters would be printed without them, without a word."""
        folder = self.templates_dir.resolve()
        found = []
        for line, where, address in scan.loads:
            if where.endswith("style>"):  # any quoted text of a style sheet counts as a load there
                continue
            name = unquote(address.split("#", 1)[0].split("?", 1)[0].strip())
            if (
                not name
                or reaches_network(address)
                or _INLINE_IMAGE.match(address)
                or _PLACEHOLDER.search(name)
            ):
                continue
            path = (folder / name).resolve()
            if not path.is_relative_to(folder):
                found.append((line, f"la balise {where} appelle « {name} », hors du dossier des modèles"))
            elif not path.is_file():
                found.append((line, f"la balise {where} appelle « {name} », absent du dossier des modèles"))
        return found

    def _household_variables(self, expression: str) -> list[str]:
        """The variables of `expression` a link's address may not carry (any but the campaign's)."""
        try:
            tree = self.env.parse("{{ " + expression.strip().strip("-+").strip() + " }}")
        except TemplateSyntaxError:
            return ["(expression illisible)"]
        return sorted(set(meta.find_undeclared_variables(tree)) - _URL_VARIABLES)

    def _parsed(self, name: str) -> tuple[str, nodes.Template]:
        """The source of template `name` and its syntax tree, read once per renderer (the network
        check and `disclosed` both read them); a template that cannot be read or parsed is refused."""
        if name not in self._sources:
            try:
                source = self.env.loader.get_source(self.env, name)[0] if self.env.loader else ""
                self._sources[name] = (source, self.env.parse(source, name))
            except Exception as exc:
                raise template_refused(self.env, self.templates_dir, name, exc, []) from None
        return self._sources[name]

    def _variables(self, name: str, seen: set[str]) -> set[str]:
        """The variables template `name` (and what it includes or extends) reads from its context."""
        found = set(meta.find_undeclared_variables(self._parsed(name)[1]))
        for other in meta.find_referenced_templates(self._parsed(name)[1]):
            if other is not None and other not in seen:
                seen.add(other)
                found |= self._variables(other, seen)
        return found

    def disclosed(self, attempt: Attempt) -> tuple[str, ...]:
        """What `attempt`'s outputs tell of the detection about the person (`DETECTION_FIELDS`).

        Every message and list of a campaign names the rights presumed. A call list and the household
        card always show the detection's reasons and estimate; a message shows them when its template
        reads `montant_estime` or `motifs`.
        """
        if attempt.canal == "appel":
            return DETECTION_FIELDS
        used: set[str] = set()
        for kind in _CHANNEL_FILES[attempt.canal]:
            name = f"{attempt.modele}.{kind}.j2"
            used |= self._variables(name, {name})
        return DETECTION_FIELDS if used & _REASON_VARIABLES else (PRESUMED_RIGHTS,)

    def base_context(self, rules: list[str], *, first_contact: bool) -> dict[str, Any]:
        """What every template may use, whatever the channel."""
        return {
            "lien": self.campaign.campagne.lien_court,
            "expediteur": self.campaign.campagne.expediteur,
            "campagne": self.campaign.campagne.titre,
            "prestations_texte": rights_text(rules),
            "prestations_a": rights_text_a(rules),
            "premier_contact": first_contact,
            "mention_droits": self.notice,
            "mention_droits_courte": self.notice_sms,
        }

    def render(self, attempt: Attempt, context: Mapping[str, Any], *, first_contact: bool) -> RenderedMessage:
        """Render `attempt`'s template for one household and check it; `TemplateRefused` otherwise."""
        if attempt.canal == "sms":
            return self._render_sms(attempt, context, first_contact=first_contact)
        if attempt.canal == "email":
            html, subject = self._module(f"{attempt.modele}.html.j2", context)
            text, _ = self._module(f"{attempt.modele}.txt.j2", context)
            self._check_notice(f"{attempt.modele}.txt.j2", text, first_contact)
            self._check_notice(f"{attempt.modele}.html.j2", html, first_contact, html=True)
            return RenderedMessage(text=text.strip() + "\n", html=html.strip() + "\n", subject=subject)
        if attempt.canal == "courrier":
            questionnaire = self.campaign.questionnaires.get(attempt.questionnaire or "")
            context = {**context, "questionnaire": questionnaire}
            html, _ = self._module(f"{attempt.modele}.html.j2", context)
            self._check_notice(f"{attempt.modele}.html.j2", html, first_contact, html=True)
            return RenderedMessage(text="", html=html.strip() + "\n")
        text, _ = self._module(f"{attempt.modele}.txt.j2", context)
        self._check_notice(f"{attempt.modele}.txt.j2", text, first_contact)
        return RenderedMessage(text=text.strip())

    def _check_notice(self, name: str, rendered: str, first_contact: bool, *, html: bool = False) -> None:
        notice = str(escape(self.notice)) if html else self.notice
        if first_contact and notice not in rendered:
            raise TemplateRefused(
                name,
                "le premier contact doit mentionner les droits d'accès, de rectification et "
                "d'opposition (CRPA L.114-8 II) et la façon de s'opposer",
                "ajoutez {{ mention_droits }} au modèle",
            )

    def _render_sms(
        self, attempt: Attempt, context: Mapping[str, Any], *, first_contact: bool
    ) -> RenderedMessage:
        name = f"{attempt.modele}.txt.j2"
        text, _ = self._module(name, context)
        text = " ".join(text.split())
        if _AMOUNT.search(text):
            raise TemplateRefused(
                name, "un SMS ne doit contenir aucun montant", "retirez le montant du texte"
            )
        if "STOP" not in text:
            raise TemplateRefused(
                name, "un SMS doit indiquer comment refuser ces messages (STOP)", "ajoutez la mention STOP"
            )
        if first_contact and self.notice_sms not in text:
            raise TemplateRefused(
                name,
                "le premier SMS doit mentionner les droits d'accès, de rectification et "
                "d'opposition (CRPA L.114-8 II)",
                "ajoutez {{ mention_droits_courte }} au modèle",
            )
        size = measure(text)
        if size.segments > self.campaign.sms.max_segments:
            hint = ""
            if size.encoding == "UCS-2":
                hint = f" ; ces caractères imposent l'UCS-2 : {' '.join(non_gsm_characters(text))}"
            raise TemplateRefused(
                name,
                f"{size.segments} segments {size.encoding} ({size.units} unités) pour un maximum de "
                f"{self.campaign.sms.max_segments}{hint}",
                "raccourcissez le texte ou remplacez les caractères accentués hors GSM-7",
            )
        return RenderedMessage(text=text, sms=size)


def sms_context(renderer: Renderer, rules: list[str], *, first_contact: bool) -> dict[str, Any]:
    """An SMS knows no name, no amount and no reason: only the rights in short form and the link."""
    return renderer.base_context(rules, first_contact=first_contact)


# Sample contact details, so that `uptake campaigns check` renders every template as it will be sent.
_SAMPLE = {
    "civilite": "Mme",
    "nom": "Exemple",
    "prenom": "Camille",
    "telephone": "+33600000000",
    "email": "camille@example.org",
    "adresse": "1 place de l'Exemple",
    "code_postal": "04300",
    "ville": "Forcalquier",
    "motifs": "revenus d'activité déclarés sans prime d'activité versée",
    "commune": "Forcalquier",
    "date": "10 mars 2026",
    "reference": "Q-0-1",
}
CHANNEL_NAMES = {"sms": "SMS", "email": "courriel", "appel": "appel", "courrier": "courrier"}


def check_campaign(campaign: Campaign, templates_dir: Path) -> list[str]:
    """Render every attempt on sample values; the lines to show (`TemplateRefused` if a text is wrong)."""
    renderer = Renderer(templates_dir, campaign)
    lines = []
    for i, attempt in enumerate(campaign.tentatives, start=1):
        for first in (True, False):
            context = renderer.base_context(campaign.campagne.regles, first_contact=first)
            if attempt.canal != "sms":
                context.update(_SAMPLE, montant_estime=format_estimate(187.25))
            message = renderer.render(attempt, context, first_contact=first)
            _check_sample_links(renderer, attempt, message)
            if first and message.sms is not None:
                lines.append(
                    f"  tentative {i} (SMS) : {message.sms.encoding}, {message.sms.units} unités, "
                    f"{message.sms.segments} segment(s) sur {campaign.sms.max_segments} permis"
                )
            elif first:
                questionnaire = campaign.questionnaires.get(attempt.questionnaire or "")
                joined = (
                    f", avec le questionnaire `{questionnaire.id}` ({len(questionnaire.questions)} questions)"
                    if questionnaire
                    else ""
                )
                name = CHANNEL_NAMES[attempt.canal]
                lines.append(f"  tentative {i} ({name}) : modèle `{attempt.modele}` correct{joined}")
    return lines


def _check_sample_links(renderer: Renderer, attempt: Attempt, message: RenderedMessage) -> None:
    """Refuse a sample rendering whose link carries the sample household's data: the source check
    sees `{{ nom }}` in an address, this one an address built otherwise (a macro, `|safe`)."""
    samples = {field: str(_SAMPLE[field]).casefold() for field in _HOUSEHOLD_SAMPLES}
    rendered = [(f"{attempt.modele}.txt.j2", message.text)]
    if message.html is not None:
        rendered.append((f"{attempt.modele}.html.j2", message.html))
    for name, text in rendered:
        addresses = _RENDERED_URL.findall(text)
        if name.endswith(".html.j2"):
            addresses += [address for _, _, address in _Scan(text).links]
        for address in addresses:
            plain = f"{unquote(address)} {unquote_plus(address)}".casefold()
            carried = sorted(field for field, value in samples.items() if value in plain)
            if carried:
                rendered_line = next((line for line in text.split("\n") if address in line), address)
                line = renderer._source_line(name, rendered_line)
                raise renderer._refused(name, _link_problem("ce lien", carried), _FIX_LINK, line)
