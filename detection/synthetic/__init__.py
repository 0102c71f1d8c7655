"""Synthetic Caf households (contract v1), their contact directory and the ground truth of who is a
non-claimant, for demos, tests and benchmarks. Synthetic data only: no real person is described."""

from detection.synthetic.communes import CommuneTable, commune_table
from detection.synthetic.errors import SynthesisError
from detection.synthetic.households import NON_TAKE_UP, TRUTH_COLUMNS, SyntheticChunk
from detection.synthetic.writer import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MONTH,
    SynthesisResult,
    SynthesisSpec,
    default_truth_path,
    generate,
    iter_chunks,
    write_synthetic,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MONTH",
    "NON_TAKE_UP",
    "TRUTH_COLUMNS",
    "CommuneTable",
    "SynthesisError",
    "SynthesisResult",
    "SynthesisSpec",
    "SyntheticChunk",
    "commune_table",
    "default_truth_path",
    "generate",
    "iter_chunks",
    "write_synthetic",
]
