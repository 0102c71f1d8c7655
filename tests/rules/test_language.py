"""The expression language: parsing, French keywords, text round trip, French number formatting."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.formatting import display, french_integer, sentence
from rules.language import Cond, Logical, Not, SyntaxProblem, parse, unparse
from rules.types import BOOLEAN, DATE, NUMBER, TEXT, Type


def test_french_keywords_build_conditionals_and_logic() -> None:
    node = parse("si non a et b ou c alors 1 sinon 2")
    assert isinstance(node, Cond)
    assert isinstance(node.test, Logical) and node.test.op == "ou"
    assert isinstance(node.test.left, Logical) and isinstance(node.test.left.left, Not)


@pytest.mark.parametrize(
    "text",
    [
        "a - (b - c)",
        "-(a + b) * 2",
        'x dans ("a", "b")',
        "al.plafond[zone] + min(a, 3)",
        "si a alors 1 sinon 2",
        "si a alors (si b alors 1 sinon 2) sinon 3",
        "si a alors 1 sinon si b alors 2 sinon 3",
        "1 + (si a alors 1 sinon 0)",
    ],
)
def test_unparse_gives_back_an_equivalent_expression(text: str) -> None:
    assert unparse(parse(unparse(parse(text)))) == unparse(parse(text))
    assert unparse(parse(text)) == text


def test_syntax_error_carries_line_and_column() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        parse("a +\n  * b")
    assert (caught.value.line, caught.value.column) == (2, 3)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.4, "0"),
        (999.6, "1 000"),
        (1020.4, "1 020"),
        (-1234567.0, "-1 234 567"),
        (15.0, "15"),
        (None, None),
        (99999.4, "99 999"),
        (99999.6, "100 000"),
        (2_500_000_000.0, "2 500 000 000"),
        (-1e15, "-1 000 000 000 000 000"),
    ],
)
def test_amounts_are_written_the_french_way(value: float | None, text: str | None) -> None:
    # Beside ordinary amounts, so that a batch mixes the table's numbers and the larger ones.
    frame = pl.DataFrame({"x": [value, 12.0]}, schema={"x": pl.Float64})
    texts = frame.lazy().select(french_integer(pl.col("x")).alias("texte")).collect(engine="streaming")
    assert texts["texte"].to_list() == [text, "12"]


def test_a_sentence_writes_each_value_as_display_does_alone_even_beside_large_numbers() -> None:
    # Enough rows for several batches; numbers of a million or more, empty ones, NaN and infinities
    # scattered among ordinary ones, beside a decimal number, a date, a yes/no and a text.
    rows = 300_000
    amounts = [float((i * 7919) % 150_000) - 2_000.4 for i in range(rows)]
    for position, special in [
        (3, 2_500_000_000.0),
        (70_001, -1_000_000.0),
        (150_000, None),
        (150_001, float("nan")),
        (299_999, float("inf")),
        (200_000, 999_999.6),
    ]:
        amounts[position] = special  # type: ignore[call-overload]
    frame = pl.DataFrame(
        {
            "montant": amounts,
            "taux": [None if i % 1000 == 0 else i / 8 for i in range(rows)],
            "jour": [dt.date(2025, 6, 1) + dt.timedelta(days=i % 30) for i in range(rows)],
            "oui": [None if i % 5 == 0 else i % 2 == 0 for i in range(rows)],
            "nom": [f"commune {i % 13}" for i in range(rows)],
        },
        schema_overrides={"montant": pl.Float64},
    )
    values = [
        (pl.col("montant"), NUMBER),
        (pl.col("taux"), Type("nombre", decimals=2)),
        (pl.col("jour"), DATE),
        (pl.col("oui"), BOOLEAN),
        (pl.col("nom"), TEXT),
    ]
    pieces = [
        "Montant ",
        values[0],
        " €, taux ",
        values[1],
        ", le ",
        values[2],
        " : ",
        values[3],
        ", ",
        values[4],
    ]
    written = frame.lazy().select(sentence(pieces).alias("s")).collect(engine="streaming")["s"]
    alone = frame.select(display(expr, kind).alias(str(i)) for i, (expr, kind) in enumerate(values))
    expected = [f"Montant {a} €, taux {b}, le {c} : {d}, {e}" for a, b, c, d, e in alone.iter_rows()]
    assert written.to_list() == expected
    assert expected[3].startswith("Montant 2 500 000 000 €") and expected[150_000].startswith("Montant — €")
    assert expected[200_000].startswith("Montant 1 000 000 €") and expected[299_999].startswith("Montant — €")


def test_whitelisted_functions_compute_as_documented(geography) -> None:
    import datetime

    from rules.compiler import _ExprCompiler
    from rules.functions import CompileContext

    compiler = _ExprCompiler({}, {}, CompileContext(datetime.date(2024, 6, 1), geography))
    frame = pl.DataFrame(
        {"x": [1234.567], "d": [datetime.date(2024, 3, 31)], "code_commune": ["04088"], "n": [1]},
        schema_overrides={"n": pl.Int32},
    )
    expressions = {
        "arrondi(x)": 1235.0,
        "arrondi(x, 2)": 1234.57,
        "arrondi_superieur(x, 100)": 1300.0,
        "arrondi_inferieur(x, 100)": 1200.0,
        "min(x, 3, 7)": 3.0,
        "max(x, 3)": 1234.567,
        "mois_depuis(d)": 3,
        "n dans (1, 2)": True,
        "n dans (2.5, 3)": False,
        "dans_territoire()": True,
        "distance_services()": 0.0,
    }
    for text, expected in expressions.items():
        got = frame.select(compiler.compile(parse(text)).alias("v"))["v"][0]
        assert got == pytest.approx(expected), text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("absiorlnte_.()[],+-*/<>=!\"' 0123456789:{}\\\n\r\t\x0béà€")),
        max_size=40,
    )
)
def test_any_text_either_parses_or_is_refused_with_a_position(text: str) -> None:
    try:
        parse(text)
    except SyntaxProblem as problem:
        assert problem.line >= 1 and problem.column >= 1
