"""Fixtures of the rules tests: the contract and the default territory, passed in as the front door does."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.contract import ContractSummary
from detection.geography import Geography
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="session")
def contract() -> ContractSummary:
    return ContractSummary()


@pytest.fixture(scope="session")
def geography() -> Geography:
    return Geography.of(load_territory(Path(CONFIG_DIR) / "territoire.toml"))
