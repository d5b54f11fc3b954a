"""InfluxQL quoting is injection-safe: a reference scanner (InfluxQL's ``ScanString`` rules) reads
every quoted text back to exactly the original, ending at the closing quote we wrote."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cloud.store import influxql as Q
from cloud.store.query import Selection, Windows


def scan_quoted(text: str) -> tuple[str, str]:
    """(value, rest) of a quoted InfluxQL string or identifier at the start of ``text``."""
    quote, out, at = text[0], [], 1
    escapes = {"n": "\n", "\\": "\\", '"': '"', "'": "'"}
    while text[at] != quote:
        if text[at] == "\n":
            raise ValueError("bad string: raw newline")
        if text[at] == "\\":
            at += 1
            if text[at] not in escapes:
                raise ValueError("bad escape")
            out.append(escapes[text[at]])
        else:
            out.append(text[at])
        at += 1
    return "".join(out), text[at + 1 :]


HOSTILE = st.text(st.sampled_from(list("ab'\"\\\n ;=*()-/ OR1é")), max_size=20)


@given(HOSTILE)
def test_a_literal_reads_back_exactly_and_ends_where_we_closed_it(text: str) -> None:
    assert scan_quoted(Q.quote_literal(text) + " AND x") == (text, " AND x")


@given(HOSTILE)
def test_an_identifier_reads_back_exactly_and_ends_where_we_closed_it(text: str) -> None:
    assert scan_quoted(Q.quote_ident(text) + "::tag") == (text, "::tag")


def test_exact_quoting() -> None:
    assert Q.quote_literal("x' OR 1=1") == "'x\\' OR 1=1'"
    assert Q.quote_literal("a\\b\nc") == "'a\\\\b\\nc'"
    assert Q.quote_ident('we"ird') == '"we\\"ird"'


def test_statements() -> None:
    selection = Selection.of("energy", {"device": "x' OR 1=1"}, ("gateway", "device"))
    windows = Windows.of(1_000, 90_000, 60_000)
    src = Q.source("eclor", "energy")
    assert src == '"eclor"."energy"'
    assert Q.latest(src, selection, "power_w") == (
        'SELECT last("power_w") FROM "eclor"."energy" WHERE "device"::tag = \'x\\\' OR 1=1\' '
        'GROUP BY "gateway", "device"'
    )
    assert Q.aggregate(src, selection, "power_w", windows, "mean") == (
        'SELECT mean("power_w") FROM "eclor"."energy" WHERE time >= 1000ms AND time < 90000ms '
        'AND "device"::tag = \'x\\\' OR 1=1\' GROUP BY time(60000ms), "gateway", "device" '
        "fill(none)"
    )
    assert Q.last_before(src, selection, "e", windows).endswith(
        "WHERE time < 1000ms AND \"device\"::tag = 'x\\' OR 1=1' GROUP BY *"
    )
    no_filter = Selection.of("energy", None, ())
    assert Q.latest(Q.source(None, "energy"), no_filter, "v") == 'SELECT last("v") FROM "energy"'
