"""Passwords: long enough is not enough, they must not be the first guesses of an attacker."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from uptake.db import transaction
from uptake.users import AccountError, add_user, list_accounts


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "azerty123456",
        "motdepasse123",
        "ts-forcalquier-2026",
        "123456789012",
        "allocationsfamiliales",
    ],
)
def test_passwords_easy_to_guess_are_refused_whatever_their_length(engine: Engine, password: str) -> None:
    with transaction(engine) as session, pytest.raises(AccountError, match="trop facile à deviner"):
        add_user(session, "ts-forcalquier", role="dpo", password=password, actor="admin")
    with transaction(engine) as session:
        assert list_accounts(session) == []


def test_a_passphrase_of_unrelated_words_is_accepted(engine: Engine) -> None:
    with transaction(engine) as session:
        add_user(session, "ts-forcalquier", role="dpo", password="lavande-tuile-orage-velo", actor="admin")
        assert [a.login for a in list_accounts(session)] == ["ts-forcalquier"]
