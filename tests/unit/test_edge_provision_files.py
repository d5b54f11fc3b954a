"""Provisioning's files: the password file (0600 from creation, replaced atomically) and the
config (validated before it replaces the working one, which is backed up)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.config import load_gateway_config
from edge.errors import ConfigWriteError
from edge.provision.writer import check_draft, install_config, read_existing, write_secret


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o000)
    yield
    os.umask(old)


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "gateway": {"id": "gw"},
        "broker": {"host": "mqtt", "username": "gw", "password_file": "gw.secret"},
        "outbox": {"path": "outbox.sqlite"},
        "buses": [{"name": "lan", "kind": "tcp", "host": "10.0.0.5"}],
        "devices": [{"id": "m", "profile": "eastron-sdm630", "bus": "lan", "unit": 1}],
    }
    doc.update(changes)
    return doc


def test_the_password_file_is_0600_whatever_the_umask(tmp_path: Path, open_umask: None) -> None:
    secret = tmp_path / "creds" / "gw.secret"
    write_secret(secret, "s3cr3t-1")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    write_secret(secret, "s3cr3t-2")
    assert secret.read_text() == "s3cr3t-2\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert sorted(p.name for p in secret.parent.iterdir()) == ["gw.secret"], "no temporary left"


def test_a_valid_config_replaces_the_old_one_which_is_backed_up(tmp_path: Path) -> None:
    write_secret(tmp_path / "gw.secret", "s3cr3t")
    config = tmp_path / "gw.yaml"
    config.write_text("# by hand\ngateway: {id: gw}\n")
    backup, path = install_config(config, document(), "written by a test")
    assert path == config
    assert backup is not None
    assert backup.read_text() == "# by hand\ngateway: {id: gw}\n"
    assert config.read_text().startswith("# written by a test\ngateway:")
    assert load_gateway_config(config).config.devices[0].id == "m"


def test_an_invalid_config_leaves_the_working_one_alone(tmp_path: Path) -> None:
    write_secret(tmp_path / "gw.secret", "s3cr3t")
    config = tmp_path / "gw.yaml"
    config.write_text("working\n")
    bad = document(devices=[{"id": "m", "profile": "no-such-meter", "bus": "lan"}])
    with pytest.raises(ConfigWriteError, match=r"devices\[0\].profile = 'no-such-meter'"):
        install_config(config, bad, "x")
    assert config.read_text() == "working\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gw.secret", "gw.yaml"]


def test_a_placeholder_password_is_refused_like_the_agent_does(tmp_path: Path) -> None:
    write_secret(tmp_path / "gw.secret", "changeme")
    with pytest.raises(ConfigWriteError, match="placeholder"):
        install_config(tmp_path / "gw.yaml", document(), "x")
    assert not (tmp_path / "gw.yaml").exists()


def test_the_draft_is_checked_before_any_password_exists(tmp_path: Path) -> None:
    check_draft(tmp_path / "gw.yaml", document())
    with pytest.raises(ConfigWriteError, match=r"devices\[0\].bus"):
        check_draft(tmp_path / "gw.yaml", document(buses=[]))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_config_that_does_not_validate_is_not_merged(tmp_path: Path) -> None:
    assert read_existing(tmp_path / "none.yaml") is None
    config = tmp_path / "gw.yaml"
    config.write_text("gateway: {id: gw}\n")
    with pytest.raises(ConfigWriteError, match="fix it or move it away"):
        read_existing(config)
