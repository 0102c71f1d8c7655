"""`uptake serve`: the web application for social workers, the DPO and the data team."""

from __future__ import annotations

import errno
import socket
from typing import Annotated

import typer

from uptake.context import AppContext
from uptake.settings import load_settings


def register(app: typer.Typer) -> None:
    """Add the `serve` command."""

    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Adresse d'écoute.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port d'écoute.")] = 8000,
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
        # As the scheduler: an unusable database stops the start, not every sign-in after it.
        ctx = AppContext.from_env()
        ctx.engine.dispose()
        _check_address(host, port)
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


def _check_address(host: str, port: int) -> None:
    """Refuse, in words, an address the server could not listen on (uvicorn would only log it)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise typer.BadParameter(
            f"adresse d'écoute « {host} » inconnue : donnez une adresse IP de cette machine (127.0.0.1 "
            "par défaut, 0.0.0.0 pour toutes) ou un nom qu'elle résout",
            param_hint="--host",
        ) from None
    family, kind, protocol, _, address = found[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = (
                "est déjà utilisé (un autre serveur uptake ?) : arrêtez-le, ou choisissez un autre --port"
                if exc.errno == errno.EADDRINUSE
                else f"n'est pas ouvert à ce compte ({exc.strerror}) : choisissez un port au-delà de 1024, "
                "ou une adresse de cette machine"
            )
            raise typer.BadParameter(f"le port {port} sur {host} {reason}", param_hint="--port") from None
