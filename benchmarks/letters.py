"""Printed letters: one PDF per batch (`outreach.letters.print_letters`) against one document per letter.

    .venv/bin/python benchmarks/letters.py [--letters 2000]

Renders N letters of the shipped action 2.2 letter template (synthetic names from Faker), then lays
them out, each mode in its own process (so that peak memory is its own): `lots`, the product's way
(letters sharing a template laid out together, the font embedded once per part, parts laid out side
by side, one process per core), `lots_un_processus` (the same parts one after the other, as before
2 December 2026), and `un_par_courrier`, the plain way (one xhtml2pdf document per letter, merged
with pypdf). Checks that the PDFs have the same number of pages. Prints time, letters per second,
PDF size and peak memory (the largest process), and ends with
`ratio_vs_un_par_courrier=X ratio_vs_un_processus=W taille_ratio=Y courriers_par_s=Z`.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

# This folder holds `detection.py` and `rules.py`: it must not shadow the packages of those names.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parent.parent
MODES = ("lots", "lots_un_processus", "un_par_courrier")


def _letters(count: int) -> list[tuple[str, str]]:
    from faker import Faker

    from outreach.campaigns import find_campaign
    from outreach.templates import Renderer, format_euros

    campaign = find_campaign(ROOT / "config", "action-2-2-non-recours")
    attempt = next(a for a in campaign.tentatives if a.canal == "courrier")
    renderer = Renderer(ROOT / "config" / "templates", campaign)
    fake = Faker("fr_FR")
    fake.seed_instance(2026)
    letters = []
    for rank in range(1, count + 1):
        context = renderer.base_context(["ppa_non_recours"], first_contact=True)
        context.update(
            civilite=fake.random_element(("M.", "Mme")),
            nom=fake.last_name(),
            prenom=fake.first_name(),
            adresse=fake.street_address(),
            code_postal=fake.postcode(),
            ville=fake.city(),
            montant_estime=format_euros(float(fake.random_int(20, 900))),
            date="29 novembre 2026",
            reference=f"Q-1-{rank}",
        )
        letters.append((f"{rank:05d}.html", renderer.render(attempt, context, first_contact=True).html))
    return letters


def _child(mode: str, count: int) -> None:
    from pypdf import PdfReader, PdfWriter
    from xhtml2pdf import pisa

    import outreach.letters
    from outreach.letters import installed_font, print_letters

    letters = _letters(count)
    if mode == "lots_un_processus":
        outreach.letters.PARALLEL_FROM_LETTERS = count + 1
    start = time.perf_counter()
    if mode in ("lots", "lots_un_processus"):
        # Printed on one side, as the plain way is: the same pages to compare.
        printed = print_letters(letters, assets=ROOT / "config" / "templates", duplex=False)
        assert printed.pdf is not None
        pdf = printed.pdf
    else:
        style = f"<style>{installed_font().css()}</style></head>"
        writer = PdfWriter()
        for _, page in letters:
            buffer = io.BytesIO()
            pisa.CreatePDF(page.replace("</head>", style, 1), dest=buffer, encoding="utf-8")
            writer.append(PdfReader(io.BytesIO(buffer.getvalue())))
        out = io.BytesIO()
        writer.write(out)
        pdf = out.getvalue()
    elapsed = time.perf_counter() - start
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    # Kilobytes on Linux; the children are the layout processes.
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    peak *= 1024
    print(json.dumps({"seconds": elapsed, "bytes": len(pdf), "pages": pages, "peak": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=2000, help="nombre de courriers (défaut 2 000)")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        _child(args.mode, args.letters)
        return
    print(f"Mise en page PDF de {args.letters:,} courriers (modèle de l'action 2.2)".replace(",", "\u202f"))
    results = {}
    for mode in MODES:
        done = subprocess.run(
            [sys.executable, __file__, "--letters", str(args.letters), "--mode", mode],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        r = results[mode]
        print(
            f"  {mode:<16} {r['seconds']:7.2f} s  {args.letters / r['seconds']:7.1f} courriers/s  "
            f"{r['bytes'] / 1e6:7.2f} Mo de PDF  {r['pages']:6d} pages  pic {r['peak'] / 1e6:6.0f} Mo",
            flush=True,
        )
    ours, one_process, peer = (results[mode] for mode in MODES)
    if not ours["pages"] == one_process["pages"] == peer["pages"]:
        pages = ", ".join(str(results[mode]["pages"]) for mode in MODES)
        raise SystemExit(f"nombres de pages différents : {pages}")
    print(
        f"ratio_vs_un_par_courrier={ours['seconds'] / peer['seconds']:.2f} "
        f"ratio_vs_un_processus={ours['seconds'] / one_process['seconds']:.2f} "
        f"taille_ratio={ours['bytes'] / peer['bytes']:.2f} "
        f"courriers_par_s={args.letters / ours['seconds']:.0f}"
    )


if __name__ == "__main__":
    main()
