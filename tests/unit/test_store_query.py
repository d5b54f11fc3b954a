"""Query arguments and store settings are checked before any backend sees them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from cloud.errors import QueryError
from cloud.store import InfluxSettings, StoreSettings
from cloud.store.query import MAX_WINDOWS, Selection, Windows, check_fn


def test_windows_are_epoch_aligned() -> None:
    windows = Windows.of(90_000, 200_000, 60_000)
    assert windows.start_of(90_000) == 60_000
    assert windows.start_of(120_000) == 120_000


@pytest.mark.parametrize(
    ("start", "end", "every"),
    [(10, 10, 1), (-1, 10, 1), (0, 10, 0), (0, 10, True), (0.5, 10, 1), (0, MAX_WINDOWS + 1, 1)],
)
def test_bad_windows(start: int, end: int, every: int) -> None:
    with pytest.raises(QueryError):
        Windows.of(start, end, every)


def test_selection() -> None:
    selection = Selection.of("energy", {"site": "a", "commune": "thil"}, ("gateway", "device"))
    assert selection.where == (("commune", "thil"), ("site", "a"))
    assert selection.group_of({"gateway": "g"}) == ("g", "")
    bad: list[tuple[str, dict[str, str] | None, tuple[str, ...]]] = [
        ("energy", None, ("a", "a")),
        ("", None, ()),
        ("energy", {"time": "x"}, ()),
    ]
    for measurement, where, group_by in bad:
        with pytest.raises(QueryError):
            Selection.of(measurement, where, group_by)


def test_functions_fit_field_types() -> None:
    assert check_fn("count", "s", "string") == "count"
    assert check_fn("max", "v", "integer") == "max"
    with pytest.raises(QueryError):
        check_fn("max", "b", "boolean")
    with pytest.raises(QueryError):
        check_fn("median", "v", "float")


def test_influx_settings() -> None:
    assert InfluxSettings(url="http://influx:8086/").url == "http://influx:8086"
    for bad in [
        {"url": "http://user:pw@influx:8086"},
        {"url": "ftp://influx"},
        {"url": "http://influx:8086?db=x"},
        {"url": "http://influx", "token": "t", "username": "u"},
        {"url": "http://influx", "password": "p"},
        {"url": "http://influx", "retention_days": 0},
        {"url": "http://influx", "database": 'a"b'},
        {"url": "http://influx", "unknown": 1},
    ]:
        with pytest.raises(ValidationError):
            InfluxSettings.model_validate(bad)
    secret = InfluxSettings(url="http://influx", username="u", password="hunter2")
    assert "hunter2" not in repr(secret)


def test_the_embedded_store_is_the_default() -> None:
    settings = StoreSettings.model_validate({})
    assert settings.influxdb is None
    assert settings.sqlite.retention_days == 400


def test_the_configuration_examples_in_the_docs_are_valid() -> None:
    text = (Path(__file__).parents[2] / "docs" / "data-model.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 4
    for block in blocks:
        data = yaml.safe_load(block)
        StoreSettings.model_validate(data.get("store", data))
