"""Tables of the CLI that must stay readable in an 80-column terminal."""

from __future__ import annotations

from rich import box
from rich.table import Table


def compact_table(title: str) -> Table:
    """A table with one space between columns and a rule under the headers only."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
