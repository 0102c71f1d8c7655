"""`uptake territory`: the configured territory as the rules see it (distances, remoteness, perimeters)."""

from __future__ import annotations

import typer
from rich.console import Console

from detection.geography import Geography
from outreach.charts import french_number
from uptake import french
from uptake.commands.tables import compact_table
from uptake.context import AppContext

console = Console(emoji=False)

# Communes listed by default, farthest from services first: a national territory has some 35,000.
COMMUNES_SHOWN = 50


def _remoteness_rule(geography: Geography) -> str:
    remoteness = geography.territory.remoteness
    if remoteness.seuil_km is not None:
        return f"à plus de {french_number(remoteness.seuil_km, 1, ' km')} du point de service le plus proche"
    share = remoteness.part_communes or 0.0
    return f"les {french_number(100 * share, 0, ' %')} des communes les plus éloignées des services"


def print_territory(geography: Geography, out: Console, communes_shown: int = COMMUNES_SHOWN) -> None:
    """The territory's identity, its service points and rule of remoteness, then its communes,
    farthest from services first (the `communes_shown` first; 0 for all), with their perimeters."""
    territory = geography.territory
    communes = geography.communes.sort(
        ["distance_services_km", "code_commune"], descending=[True, False], nulls_last=True
    )
    scope = "France entière" if territory.national else f"EPCI {territory.epci or '—'}"
    out.print(f"Territoire : {territory.nom} ({scope}, {french.count(communes.height)} communes)")
    points = ", ".join(f"{p.nom} ({p.commune})" for p in territory.service_points)
    out.print(f"Points de service : {points}")
    remote = len(geography.remote_communes)
    out.print(f"Communes éloignées des services : {french.count(remote)}, {_remoteness_rule(geography)}")
    for perimeter in territory.perimeters:
        size = len(perimeter.communes)
        plural = "s" if size > 1 else ""
        out.print(f"Périmètre « {perimeter.nom} » ({perimeter.type}) : {french.count(size)} commune{plural}")
    # In the table, the type of each perimeter a commune is in (the names are above).
    perimeters = {
        code: ", ".join(sorted({p.type for p in territory.perimeters if code in p.communes}))
        for code in communes["code_commune"].to_list()
    }
    shown = communes if communes_shown == 0 else communes.head(communes_shown)
    table = compact_table("Communes, des plus éloignées des services aux plus proches")
    table.add_column("Code", no_wrap=True)
    table.add_column("Commune", overflow="fold", min_width=12)
    table.add_column("Population", justify="right", no_wrap=True)
    table.add_column("Distance", justify="right", no_wrap=True)
    table.add_column("Éloignée", no_wrap=True)
    table.add_column("Périmètres", overflow="fold")
    for code, name, population, distance, is_remote in shown.select(
        "code_commune", "nom", "population_municipale", "distance_services_km", "commune_eloignee"
    ).iter_rows():
        table.add_row(
            code,
            name,
            french.count(population),
            french.MISSING if distance is None else french_number(distance, 1, "\u202fkm"),
            "oui" if is_remote else "",
            perimeters[code] or "",
        )
    out.print(table)
    hidden = communes.height - shown.height
    if hidden:
        out.print(
            f"… et {french.count(hidden)} autres communes, plus proches des services "
            "(toutes : « uptake territory --communes 0 »)."
        )


def register(app: typer.Typer) -> None:
    """Add the `territory` command."""

    @app.command("territory")
    def territory_command(
        communes: int = typer.Option(
            COMMUNES_SHOWN,
            "--communes",
            min=0,
            help="Communes listées, des plus éloignées des services aux plus proches (0 : toutes).",
        ),
    ) -> None:
        """Territoire configuré : communes, distance aux points de service, communes éloignées,
        périmètres OPAH/PIG (config/territoire.toml)."""
        print_territory(AppContext.from_env().geography, console, communes)
