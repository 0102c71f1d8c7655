"""What the forms' fields share before FastAPI checks them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator

from uptake.limits import RECORD_ID_MAX


def _line_breaks_as_typed(value: object) -> object:
    # A browser counts a line break as one character against a text box's `maxlength`, then sends
    # it as two (CR LF): without this, a note typed up to the limit with line breaks was refused,
    # and lost.
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


# In `Annotated[str, LINE_BREAKS, Form(max_length=…)]`: the length is checked as the person typed it.
LINE_BREAKS = BeforeValidator(_line_breaks_as_typed)

# The number of a record in an address (`/travail/foyers/17`): a number the database can hold (its
# integer keys), so that `/dpo/echanges/99999999999999999999` is a page that does not exist, not an
# error of the database driver.
RecordId = Annotated[int, Path(ge=1, le=RECORD_ID_MAX)]
