"""The memory allocator's settings for uptake's processes, given before polars is loaded.

Polars allocates through its own jemalloc, which reads `_RJEM_MALLOC_CONF` once, when the library
is loaded. A national run allocates and frees gigabytes of batches: keeping freed pages for ten
seconds before handing them back to the system (`dirty_decay_ms`) spares the page faults of taking
them again. Measured at 14M households: 6 to 9 % less time, 0.15 to 0.35 GB more at the peak
(benchmarks/README.md). A setting the user gives in the environment is kept.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

ALLOCATOR_ENVIRONMENT = {"_RJEM_MALLOC_CONF": "dirty_decay_ms:10000"}


def tune_allocator(environ: MutableMapping[str, str] = os.environ) -> None:
    """Give the allocator's settings to `environ`, unless already set; call before importing polars."""
    for name, value in ALLOCATOR_ENVIRONMENT.items():
        environ.setdefault(name, value)
