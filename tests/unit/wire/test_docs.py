"""Every example in docs/wire.md decodes as the message of its section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eclor.wire import MESSAGE_TYPES, Suffix, decode, encode

DOC = Path(__file__).resolve().parents[3] / "docs" / "wire.md"
SECTION = re.compile(r"^### (?P<suffix>\S+)\n(?P<body>.*?)(?=^### |\Z)", re.S | re.M)
EXAMPLE = re.compile(r"```json\n(?P<json>.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    found = []
    for section in SECTION.finditer(DOC.read_text(encoding="utf-8")):
        for example in EXAMPLE.finditer(section["body"]):
            found.append((section["suffix"], example["json"]))
    return found


def test_the_doc_has_an_example_of_every_message() -> None:
    assert {suffix for suffix, _ in examples()} == {s.value for s in Suffix}


@pytest.mark.parametrize(("suffix", "text"), examples(), ids=[s for s, _ in examples()])
def test_example_decodes_and_round_trips(suffix: str, text: str) -> None:
    kind = MESSAGE_TYPES[Suffix(suffix)]
    message = decode(kind, text.encode())
    assert decode(kind, encode(message)) == message
