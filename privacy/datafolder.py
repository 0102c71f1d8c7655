"""Files a data folder recorded, and which of them this data folder may delete or rewrite.

A data folder gets copied (a backup restored to check it, a copy for a training) or moved. Its
database records the files it wrote (contact lists, their encrypted copies, flags) by absolute path,
with the data folder that wrote them. A copy acting on those paths would delete or rewrite the
original's files. So a recorded file is looked for in the data folder at work: a path inside the
folder that wrote it is read inside this one, and a path outside it (a folder given with `--out`)
belongs to this folder only if this folder wrote it; otherwise it is left alone, and said so.
"""

from __future__ import annotations

from pathlib import Path


def folder_name(home: Path) -> str:
    """How a data folder is recorded beside the files it writes: its absolute path."""
    return str(home.resolve())


def own_file(recorded: str, written_from: str | None, home: Path) -> Path | None:
    """Where the file recorded at `recorded`, written from the data folder `written_from`, is for the
    data folder `home`; None when it is another data folder's file, outside it, not to be touched.

    A record from before the writing folder was noted (`written_from` None) keeps its path as is.
    """
    path = Path(recorded)
    if written_from is None:
        return path
    here, origin = Path(folder_name(home)), Path(written_from)
    if here == origin:
        return path
    if path.is_relative_to(origin):
        return here / path.relative_to(origin)
    return None
