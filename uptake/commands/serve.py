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
    ) -> None:
        """Lance l'application web (même base de données que la ligne de commande)."""
        # Imported here so that other commands do not pay for loading the web stack.
        import uvicorn

        from uptake.web.app import create_app

        web_app = create_app(load_settings())
        # No access log: request lines could otherwise end up in log files with query strings.
        uvicorn.run(web_app, host=host, port=port, access_log=False, proxy_headers=True, log_level="warning")
