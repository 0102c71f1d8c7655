"""The bounds of the numbers a command or a page takes."""

from __future__ import annotations

# A record's number (an execution, an exchange, a launch) as the databases' integer keys hold it: a
# larger one names no record, and said so rather than failing in the database driver.
RECORD_ID_MAX = 2**31 - 1
# How many rows a listing shows at most.
ROWS_MAX = 100_000
