"""Properties of the config loaders: any YAML gives a config or a ConfigError saying where.

Starting from the shipped gateway config, cloud config and profiles, hypothesis replaces one value
anywhere in the document with an arbitrary one (or feeds an arbitrary document). The loader either
accepts it or raises ConfigError naming the file and, for a replaced value, a key on the path to it
(or the root, for a whole-model rule); never another exception.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cloud.config import load_cloud_config
from eclor.config import key_path
from eclor.errors import ConfigError
from edge.config import load_gateway_config
from edge.profiles import load_profile

SHIPPED = Path(__file__).resolve().parents[2] / "firmware_configs"
GATEWAY = yaml.safe_load((SHIPPED / "gateways" / "cabinet-thil-04.yaml").read_text())
CLOUD = yaml.safe_load((SHIPPED / "cloud" / "cloud.yaml").read_text())
PROFILE = yaml.safe_load((SHIPPED / "profiles" / "eastron-sdm630.yaml").read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["", "-1", "1e999", "0x10", ".nan", "9600", "big", "coil", "1GiB", "~"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(node: Any, prefix: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    found: list[tuple[int | str, ...]] = [prefix] if prefix else []
    items: list[tuple[int | str, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, child in items:
        found += paths(child, (*prefix, key))
    return found


def replaced(document: Any, path: tuple[int | str, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: replaced(document[head], rest, value)}
    copy = list(document)
    copy[int(head)] = replaced(copy[int(head)], rest, value)
    return copy


LOADERS = {
    "gateway": (GATEWAY, "config.yaml", load_gateway_config),
    "cloud": (CLOUD, "cloud.yaml", load_cloud_config),
    "profile": (PROFILE, "eastron-sdm630.yaml", load_profile),
}
CROSS_REFERENCE = re.compile(r"no such|unknown|used twice|not a field|defined twice")
"""Reasons of checks between keys: renaming a device breaks the key that refers to it."""
_folder = Path(tempfile.mkdtemp(prefix="eclor-config-props-"))


def load(kind: str, text: str) -> tuple[Path, ConfigError | None]:
    _, name, loader = LOADERS[kind]
    path = _folder / name
    path.write_text(text, encoding="utf-8")
    try:
        loader(path)
    except ConfigError as exc:
        return path, exc
    return path, None


@pytest.mark.parametrize("kind", sorted(LOADERS))
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_one_bad_value_is_named_by_its_key(kind: str, data: st.DataObject) -> None:
    document = LOADERS[kind][0]
    path = data.draw(st.sampled_from(paths(document)))
    value = data.draw(values)
    text = yaml.safe_dump(replaced(document, path, value), allow_unicode=True)
    source, error = load(kind, text)
    if error is None:
        return
    assert error.file == str(source) or kind == "gateway"  # a gateway also loads its profiles
    where = key_path(path)
    if error.file == str(source) and error.key and not error.reason.startswith("cannot read"):
        # The error is on the path to the replaced value, or beside it for a rule relating
        # two keys of the same object (a whole-model check reports the object).
        parent = key_path(path[:-1])
        beside = where.startswith(error.key) or error.key.startswith(parent)
        assert beside or CROSS_REFERENCE.search(error.reason), (where, error)


@pytest.mark.parametrize("kind", sorted(LOADERS))
@settings(max_examples=30, deadline=None)
@given(document=values)
def test_any_document_loads_or_is_a_config_error(kind: str, document: Any) -> None:
    outbox = document.get("outbox") if isinstance(document, dict) else None
    size = outbox.get("max_bytes", 0) if isinstance(outbox, dict) else 0
    assume(isinstance(size, int | str))  # the known parse_size TypeError (see above)
    load(kind, yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_loads_or_is_a_config_error(text: str) -> None:
    for kind in LOADERS:
        load(kind, text)
