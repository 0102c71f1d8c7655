"""What the rules need to know of the territory, as a protocol (`detection.geography.Geography` fits it)."""

from __future__ import annotations

from typing import Protocol

import polars as pl


class Geography(Protocol):
    """Polars expressions over the commune column, computed from the configured territory."""

    def distance_expr(self, column: str = "code_commune") -> pl.Expr:
        """Km to the nearest service point (Float64), null outside the territory."""
        ...

    def remote_expr(self, column: str = "code_commune") -> pl.Expr:
        """True for the communes farthest from services."""
        ...

    def perimeter_expr(self, kind: str, column: str = "code_commune") -> pl.Expr:
        """True inside a housing-programme perimeter (`OPAH`, `PIG` or a perimeter's name)."""
        ...

    def in_territory_expr(self, column: str = "code_commune") -> pl.Expr:
        """True for households living in the territory."""
        ...

    def perimeter_names(self) -> frozenset[str]:
        """Every name `perimeter_expr` accepts."""
        ...
