"""HTTP helpers of the API: If-None-Match matching, cursors, page sizes, problem kinds."""

from __future__ import annotations

import pytest

from cloud.api.caching import ENERGY_CLOSED, etag_matches, etag_of
from cloud.api.paging import decode_cursor, encode_cursor, page_size
from cloud.api.problems import INVALID, KINDS, ApiProblem

ETAG = etag_of(b'{"items":[]}')


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ("", False),
        (ETAG, True),
        (f"W/{ETAG}", True),
        (f'"other", {ETAG}', True),
        ('"other"', False),
        ("*", True),
        (ETAG[:-2] + '"', False),
    ],
)
def test_if_none_match(header: str | None, matches: bool) -> None:
    assert etag_matches(header, ETAG) is matches


def test_etags_are_quoted_and_follow_the_bytes() -> None:
    assert ETAG.startswith('"')
    assert ETAG.endswith('"')
    assert etag_of(b"a") != etag_of(b"b")
    assert ENERGY_CLOSED.header == "private, max-age=3600"


@pytest.mark.parametrize("key", ["cab-thil-04", "a", "dev:1.2_x-y", "é"])
def test_cursors_round_trip(key: str) -> None:
    cursor = encode_cursor(key)
    assert "=" not in cursor
    assert decode_cursor(cursor) == key


@pytest.mark.parametrize("cursor", ["", "%%", "bm90LWEtY3Vyc29y", "MTo", "__--"])
def test_foreign_cursors_are_422(cursor: str) -> None:
    with pytest.raises(ApiProblem) as raised:
        decode_cursor(cursor)
    assert raised.value.kind is INVALID
    assert raised.value.errors is not None
    assert raised.value.errors[0].loc == ["query", "cursor"]


def test_page_size() -> None:
    assert page_size(None, 50, 500) == 50
    assert page_size(500, 50, 500) == 500
    with pytest.raises(ApiProblem):
        page_size(501, 50, 500)


def test_problem_kinds_are_distinct_urns() -> None:
    types = [kind.type for kind in KINDS]
    assert len(set(types)) == len(types)
    assert all(t.startswith("urn:eclor:problem:") for t in types)
