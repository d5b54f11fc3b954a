"""The cloud CLI's security actions land in the operator audit, without their secrets."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from cloud.registry.db import make_engine, make_session_factory
from cloud.registry.models import OperatorAudit
from eclor.cli import app


def test_token_create_and_revoke_and_gateway_enrol_are_audited(tmp_path: Path) -> None:
    config = tmp_path / "cloud.yaml"
    config.write_text("registry: {url: 'sqlite:///registry.sqlite'}\n")
    runner = CliRunner()
    created = runner.invoke(
        app,
        ["cloud", "token", "create", "--config", str(config), "--name", "ops", "--scope", "admin"],
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    token_id = secret.split("_")[1]
    revoked = runner.invoke(app, ["cloud", "token", "revoke", token_id, "--config", str(config)])
    assert revoked.exit_code == 0, revoked.output
    enrolled = runner.invoke(
        app, ["cloud", "gateway", "enrol", "cab-thil-04", "--config", str(config)]
    )
    assert enrolled.exit_code == 0, enrolled.output
    refused = runner.invoke(app, ["cloud", "token", "revoke", "nope", "--config", str(config)])
    assert refused.exit_code == 2

    sessions = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'registry.sqlite'}"))
    with sessions() as session:
        rows = session.scalars(select(OperatorAudit).order_by(OperatorAudit.id)).all()
    assert [(r.action, r.status) for r in rows] == [
        ("token create", 0),
        ("token revoke", 0),
        ("gateway enrol", 0),
        ("token revoke", 2),
    ]
    assert all(secret.split("_", 2)[2] not in f"{r.targets} {r.detail}" for r in rows)
