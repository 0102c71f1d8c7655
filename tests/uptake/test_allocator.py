"""uptake's processes give polars' allocator its settings before polars is loaded, and keep the
user's own."""

from __future__ import annotations

import os
import subprocess
import sys

from uptake.allocator import ALLOCATOR_ENVIRONMENT, tune_allocator

VARIABLE = "_RJEM_MALLOC_CONF"


def _python(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != VARIABLE} | extra
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True
    )


def test_the_command_line_sets_the_allocator_before_any_command_loads_polars() -> None:
    shown = _python(
        f"import os, sys; import uptake.cli; print(os.environ.get({VARIABLE!r}), 'polars' in sys.modules)"
    )
    assert shown.stdout.split() == [ALLOCATOR_ENVIRONMENT[VARIABLE], "False"]


def test_a_setting_the_user_gave_is_kept() -> None:
    given = {VARIABLE: "dirty_decay_ms:0"}
    tune_allocator(given)
    assert given == {VARIABLE: "dirty_decay_ms:0"}
    empty: dict[str, str] = {}
    tune_allocator(empty)
    assert empty == ALLOCATOR_ENVIRONMENT


def test_polars_allocator_reads_that_variable() -> None:
    # Were polars to change its allocator, the setting would silently do nothing: this would fail.
    loaded = _python(
        "import polars as pl; pl.DataFrame({'a': [1, 2]}).sum()", **{VARIABLE: "pas_une_option:1"}
    )
    assert "<jemalloc>: Invalid conf pair: pas_une_option:1" in loaded.stderr
