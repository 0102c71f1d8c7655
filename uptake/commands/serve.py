"""`uptake serve`: the web application for social workers, the DPO and the data team."""

from __future__ import annotations

from typing import Annotated

import typer

from uptake.settings import load_settings


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Adresse d'écoute.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port d'écoute.")] = 8000,
        workers: Annotated[
            int,
            typer.Option("--workers", min=1, max=32, help="Processus serveurs (un par cœur, par exemple)."),
        ] = 1,
    ) -> None:
        """Lance l'application web (même base de données que la ligne de commande)."""
        # Imported here so that other commands do not pay for loading the web stack.
        import uvicorn

        from privacy.canonical import caf_time_zone
        from privacy.disclosure import configured_threshold
        from uptake.web.app import create_app

        # A wrong setting stops the command here, told once, not in each worker process it starts.
        configured_threshold()
        caf_time_zone()
        # No access log: request lines could otherwise end up in log files with query strings.
        if workers > 1:  # each worker process builds its own app from the same environment
            uvicorn.run(
                "uptake.web.app:create_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                access_log=False,
                proxy_headers=True,
                log_level="warning",
            )
        else:
            uvicorn.run(
                create_app(load_settings()),
                host=host,
                port=port,
                access_log=False,
                proxy_headers=True,
                log_level="warning",
            )
