"""Regenerate the committed seed corpora: ``python -m fuzz seeds``.

Wire seeds are the examples of docs/wire.md (each as a plain decode and on its topic), config seeds
are the shipped configs and profiles, Modbus seeds a few byte strings. Seeds keep the targets'
selector byte first (see each target's docstring).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from eclor.wire.topics import Suffix
from fuzz.targets import config, wire

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "corpus"
_SECTION = re.compile(r"^### (?P<suffix>\S+)\n(?P<body>.*?)(?=^### |\Z)", re.S | re.M)
_EXAMPLE = re.compile(r"```json\n(?P<json>.*?)```", re.S)


def wire_seeds() -> list[bytes]:
    seeds = []
    doc = (ROOT / "docs" / "wire.md").read_text(encoding="utf-8")
    for section in _SECTION.finditer(doc):
        if section["suffix"] not in {s.value for s in Suffix}:
            continue
        index = wire.SUFFIXES.index(Suffix(section["suffix"]))
        for example in _EXAMPLE.finditer(section["body"]):
            value = json.loads(example["json"])
            seeds.append(bytes([index]) + json.dumps(value, separators=(",", ":")).encode())
            if isinstance(value, dict) and "gateway" in value:
                value["gateway"] = wire.GATEWAY
            on_topic = json.dumps(value, separators=(",", ":")).encode()
            seeds.append(bytes([index + len(wire.SUFFIXES)]) + on_topic)
            topic = f"eclor/v1/{wire.GATEWAY}/{section['suffix']}\n".encode()
            seeds.append(bytes([index + 2 * len(wire.SUFFIXES)]) + topic + on_topic)
    return seeds


def config_seeds() -> list[bytes]:
    seeds = []
    shipped = ROOT / "firmware_configs"
    for path in sorted((shipped / "gateways").glob("*.yaml")):
        seeds.append(b"\x00" + path.read_bytes())
    for path in sorted((shipped / "cloud").glob("*.yaml")):
        seeds.append(b"\x01" + path.read_bytes())
    for path in sorted((shipped / "profiles").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^model: .*$", f"model: {config.PROFILE_MODEL}", text)
        seeds.append(b"\x02" + text.encode())
    return seeds


def modbus_seeds() -> list[bytes]:
    return [bytes(range(64)), bytes(range(255, 0, -3)), b"\x01" * 48, b"\x00\xff" * 40]


def write(target: str, seeds: list[bytes]) -> int:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return len(seeds)


def main() -> None:
    for target, seeds in (
        ("wire", wire_seeds()),
        ("config", config_seeds()),
        ("modbus", modbus_seeds()),
    ):
        print(f"{target}: {write(target, seeds)} seeds in {CORPUS / target}")
