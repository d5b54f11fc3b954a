"""``eclor edge provision``, non-interactive, from nothing to readings stored in the cloud.

Two meters on a simulated RS-485 line (a socat pty pair), a cloud running in-process (SQLite
registry, embedded SQLite store, a real Mosquitto, the API on a free port) and an enrolment token
made by the registry code. The command runs as a technician would run it, in a subprocess.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import sys
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from cloud.config import ApiConfig, CloudConfig, MqttConfig, RegistryConfig
from cloud.registry.enrolment import create_enrolment_token
from cloud.registry.models import SiteKind
from cloud.registry.places import add_commune, add_site
from cloud.runtime import CloudRuntime
from cloud.store.settings import SqliteSettings, StoreSettings
from edge.config import load_gateway_config
from edge.errors import EnrolRefused
from edge.provision import cloud_api, flow
from edge.provision.command import Flags, overrides
from edge.provision.flow import Options
from simulators.modbus import CabinetController, Em24, Fault, Sdm630, serve_rtu, serve_tcp
from simulators.state import CabinetState, MeterState
from tests.services.mosquitto import MosquittoServer
from tests.services.ports import free_port
from tests.services.serial_pty import PtyPair
from tests.support.gateway import running_agent

pytestmark = pytest.mark.integration

SITE = "cab-thil-rue-gare"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cloud:
    runtime: CloudRuntime
    url: str

    def token(self, site: str = SITE) -> str:
        with self.runtime.sessions.begin() as session:
            issued = create_enrolment_token(session, site, now=datetime.now(UTC), created_by="test")
            return issued.secret


@pytest.fixture
async def cloud(tmp_path: Path, mosquitto: MosquittoServer) -> AsyncIterator[Cloud]:
    config = CloudConfig(
        mqtt=MqttConfig(host=mosquitto.host, port=mosquitto.port),
        store=StoreSettings(sqlite=SqliteSettings(path=tmp_path / "store.sqlite")),
        registry=RegistryConfig(url=f"sqlite:///{tmp_path / 'registry.sqlite'}"),
        api=ApiConfig(
            port=0,
            mqtt_public_host=mosquitto.host,
            mqtt_public_port=mosquitto.port,
            mqtt_tls=False,
        ),
    )
    runtime = CloudRuntime(config)
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop))
    await asyncio.wait_for(runtime.ready.wait(), 30)
    with runtime.sessions.begin() as session:
        add_commune(session, "54533", "Thil")
        add_site(
            session,
            SITE,
            name="Thil, rue de la Gare",
            commune="54533",
            kind=SiteKind.CABINET,
            latitude=49.4717,
            longitude=5.9078,
        )
    yield Cloud(runtime, f"http://127.0.0.1:{runtime.api_port}")
    stop.set()
    await asyncio.wait_for(task, 30)


@dataclass
class Line:
    pair: PtyPair
    meter: Sdm630
    em24: Em24


@pytest.fixture
async def line(pty_pair: PtyPair) -> AsyncIterator[Line]:
    meter = Sdm630(MeterState(voltage_v=[230.2, 231.0, 229.5], power_w=[1200.0, 1100.0, 1000.0]))
    em24 = Em24(MeterState(voltage_v=[229.9, 230.0, 230.1]))
    server = await serve_rtu({1: meter, 2: em24}, pty_pair.device_side)
    yield Line(pty_pair, meter, em24)
    await server.stop()


@pytest.fixture
def gateway(request: pytest.FixtureRequest) -> str:
    """A gateway id of its own per test: the session's broker keeps each id's MQTT session and
    retained status, and the ingest remembers for 30 s that an id was not registered."""
    return f"cab-{zlib.crc32(request.node.name.encode()):08x}"


@dataclass
class Result:
    code: int
    out: str
    err: str


async def provision(config: Path, *args: str, token: str | None = None) -> Result:
    env = {**os.environ, "COLUMNS": "160", "PYTHONPATH": str(ROOT)}
    env.pop("ECLOR_ENROL_TOKEN", None)
    if token is not None:
        env["ECLOR_ENROL_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eclor", "edge", "provision", "--config", str(config),
        "--non-interactive", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 240)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def line_args(line: Line, api_url: str, gateway: str) -> list[str]:
    return [
        "--gateway-id", gateway, "--commune", "thil", "--latitude", "49.4717",
        "--longitude", "5.9078", "--api-url", api_url, "--serial", line.pair.master_side,
        "--baudrate", "9600", "--parity", "N", "--units", "1-3", "--poll-interval", "1",
        "--tag", "circuit=main", "--self-test-timeout", "30", "--health-port", "0",
    ]  # fmt: skip


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


async def test_from_nothing_to_readings_stored_in_the_cloud(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    report_json = tmp_path / "report.json"
    token = cloud.token()
    result = await provision(
        config, *line_args(line, cloud.url, gateway), "--report-json", str(report_json), token=token
    )
    assert result.code == 0, result.out + result.err

    secret = config.parent / "gateway.mqtt.secret"
    password = secret.read_text().strip()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert password not in result.out + result.err, "the MQTT password is never printed"
    assert token not in result.out + result.err

    loaded = load_gateway_config(config)
    assert loaded.config.gateway.id == gateway
    assert loaded.config.broker.username == gateway
    assert loaded.config.broker.password_file == secret.resolve()
    devices = {d.id: d for d in loaded.config.devices}
    assert set(devices) == {f"{gateway}-meter-1", f"{gateway}-meter-2"}
    assert devices[f"{gateway}-meter-1"].profile == "eastron-sdm630"
    assert devices[f"{gateway}-meter-2"].profile == "carlo-gavazzi-em24"
    assert devices[f"{gateway}-meter-1"].tags == {"circuit": "main"}

    for text in (
        "PASS",
        "✓",
        f"{gateway}-meter-1",
        "eastron-sdm630",
        "carlo-gavazzi-em24",
        "voltage_l1_v 230.2 V",
        "clock offset",
        "ack round trip",
        "thil",
    ):
        assert text in result.out, f"{text!r} not in the report:\n{result.out}"  # fmt: skip
    assert "✗" not in result.out

    report = json.loads(report_json.read_text())
    assert report["result"] == "PASS"
    assert report["uplink"]["acked_batches"] >= 1
    assert report["uplink"]["drained"] is True
    assert abs(report["clock"]["offset_s"]) < 2
    assert [d["ok"] for d in report["devices"]] == [True, True]

    assert cloud.runtime.store is not None
    latest = await cloud.runtime.store.latest("energy", where={"gateway": gateway})
    by_device = {group.tags["device"]: group for group in latest}
    assert set(by_device) == set(devices)
    voltage = by_device[f"{gateway}-meter-1"].fields["voltage_l1_v"].value
    assert voltage == pytest.approx(230.2, abs=1e-3)


async def test_a_used_token_fails_cleanly_and_leaves_the_config_untouched(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    token = cloud.token()
    first = await provision(config, *line_args(line, cloud.url, gateway), token=token)
    assert first.code == 0, first.out + first.err
    before = files_of(config.parent)

    again = await provision(config, *line_args(line, cloud.url, gateway), "--exclude", "rs485:2",
                            token=token)  # fmt: skip
    assert again.code == 3, again.out + again.err
    assert "refused the enrolment (HTTP 401" in again.err
    assert "used, expired or revoked" in again.err
    assert "nothing was written" in again.err
    assert "Traceback" not in again.err
    assert files_of(config.parent) == before, "no backup, no temporary file, nothing changed"


async def test_a_rerun_with_a_fresh_token_keeps_devices_and_replaces_the_password(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    first = await provision(config, *line_args(line, cloud.url, gateway), token=cloud.token())
    assert first.code == 0, first.out + first.err
    secret = config.parent / "gateway.mqtt.secret"
    old_password = secret.read_text()
    text = config.read_text().replace("poll_interval_s: 1.0", "poll_interval_s: 2.0", 1)
    config.write_text(text)  # the technician tuned the first meter by hand

    again = await provision(
        config, "--api-url", cloud.url, "--units", "1-3", token=cloud.token()
    )  # buses and identity from the existing config
    assert again.code == 0, again.out + again.err
    assert secret.read_text() != old_password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    backups = list(config.parent.glob("gateway.yaml.*.bak"))
    assert len(backups) == 1
    assert backups[0].read_text() == text
    devices = {d.id: d for d in load_gateway_config(config).config.devices}
    assert devices[f"{gateway}-meter-1"].poll_interval_s == 2.0, "kept as configured"
    assert "previous config" in again.out


async def test_a_wrong_api_url_fails_with_a_clear_message(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    token = cloud.token()
    nobody = f"http://127.0.0.1:{free_port()}"
    result = await provision(config, *line_args(line, nobody, gateway), token=token)
    assert result.code == 3, result.out + result.err
    assert f"no answer from the cloud API at {nobody}/healthz: connection refused" in result.err
    assert "Traceback" not in result.err
    assert not config.parent.exists() or not any(config.parent.iterdir())

    elsewhere = f"{cloud.url}/not-the-api"
    result = await provision(config, *line_args(line, elsewhere, gateway), token=token)
    assert result.code == 3, result.out + result.err
    assert "is not the Eclor cloud API" in result.err
    assert "check the API URL" in result.err


async def test_a_silent_device_is_kept_and_reported_failing_with_its_reason(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    first = await provision(config, *line_args(line, cloud.url, gateway), token=cloud.token())
    assert first.code == 0, first.out + first.err
    line.em24.faults.set(Fault.NO_ANSWER)  # switched off for the night, or dead
    report_json = tmp_path / "report.json"

    again = await provision(
        config, "--api-url", cloud.url, "--units", "1-3", "--report-json", str(report_json),
        token=cloud.token(),
    )  # fmt: skip
    assert again.code == 1, again.out + again.err
    assert "FAIL" in again.out
    assert f"{gateway}-meter-2 (rs485:2)" in again.out, "named as not found, and kept"
    devices = [d.id for d in load_gateway_config(config).config.devices]
    assert devices == [f"{gateway}-meter-1", f"{gateway}-meter-2"]
    report = json.loads(report_json.read_text())
    assert report["result"] == "FAIL"
    ok = {d["device"]: d for d in report["devices"]}
    assert ok[f"{gateway}-meter-1"]["ok"] is True
    silent = ok[f"{gateway}-meter-2"]
    assert silent["ok"] is False
    assert silent["detail"].startswith("no answer within 300 ms at unit 2"), silent
    assert report["failures"] == [f"{gateway}-meter-2: {silent['detail']}"]
    assert report["uplink"]["drained"] is True, "the meter that answers still reaches the cloud"


async def test_interactive_answers_rename_and_drop(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    """The same flow in-process, a technician pressing Enter for the defaults, renaming the
    first meter and dropping the second."""
    config = tmp_path / "gw" / "gateway.yaml"
    flags = Flags(
        gateway_id=gateway, commune="thil", latitude=49.4717, longitude=5.9078,
        api_url=cloud.url, token=cloud.token(), serial=[line.pair.master_side],
        baudrate=9600, parity="N", units="1-3", self_test_timeout_s=30, health_port=0,
    )  # fmt: skip
    keys = ["", "", "", "", "", "", "", "2", "zone=nord", "n", "r", "main-meter", "d"]
    screen = io.StringIO()
    options = Options(
        config, overrides=overrides(flags), interactive=True, stream=io.StringIO("\n".join(keys))
    )
    report = await flow.provision(options, Console(file=screen, width=120))
    assert report.passed, screen.getvalue()
    (device,) = load_gateway_config(config).config.devices
    assert (device.id, device.poll_interval_s, device.tags) == ("main-meter", 2.0, {"zone": "nord"})
    assert report.changes.dropped == [f"{gateway}-meter-2 (rs485:2)"]
    assert "Keep these devices as shown?" in screen.getvalue()


async def test_a_rate_limited_enrolment_says_when_to_retry(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    for _ in range(10):  # the API's limit of failed authentications per minute and address
        with pytest.raises(EnrolRefused):
            await asyncio.to_thread(cloud_api.enrol, cloud.url, "eclor-enrol_bad", gateway)
    config = tmp_path / "gw" / "gateway.yaml"
    result = await provision(config, *line_args(line, cloud.url, gateway), token=cloud.token())
    assert result.code == 3, result.out + result.err
    assert "rate limiting enrolment attempts" in result.err
    assert "retry in" in result.err
    assert not config.exists()


async def test_a_modbus_tcp_site(tmp_path: Path, cloud: Cloud, gateway: str) -> None:
    devices = {1: Sdm630(MeterState()), 5: CabinetController(CabinetState())}
    server = await serve_tcp(devices, "127.0.0.1", 0)
    try:
        config = tmp_path / "gw" / "gateway.yaml"
        result = await provision(
            config, "--gateway-id", gateway, "--commune", "thil", "--latitude", "49.4717",
            "--longitude", "5.9078", "--api-url", cloud.url, "--tcp", f"127.0.0.1:{server.port}",
            "--units", "1-6", "--health-port", "0", token=cloud.token(),
        )  # fmt: skip
    finally:
        await server.stop()
    assert result.code == 0, result.out + result.err
    loaded = load_gateway_config(config).config
    (bus,) = loaded.buses
    assert (bus.kind, bus.name) == ("tcp", f"127-0-0-1-{server.port}")
    assert [(d.id, d.profile, d.unit) for d in loaded.devices] == [
        (f"{gateway}-meter", "eastron-sdm630", 1),
        (f"{gateway}-ctrl", "eclor-cabinet-controller", 5),
    ]


async def test_a_rerun_while_the_agent_runs_is_refused(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    args = [*line_args(line, cloud.url, gateway), "--health-port", str(free_port())]
    first = await provision(config, *args, token=cloud.token())
    assert first.code == 0, first.out + first.err
    before = files_of(config.parent)
    async with running_agent(config):
        again = await provision(config, *args, token=cloud.token())
    assert again.code == 2, again.out + again.err
    assert "an agent is running on this config" in again.err
    assert "systemctl stop eclor-edge" in again.err
    assert {k: v for k, v in files_of(config.parent).items() if "outbox" not in k} == {
        k: v for k, v in before.items() if "outbox" not in k
    }


async def test_a_rerun_without_a_token_keeps_the_enrolment(
    tmp_path: Path, cloud: Cloud, line: Line, gateway: str
) -> None:
    config = tmp_path / "gw" / "gateway.yaml"
    first = await provision(config, *line_args(line, cloud.url, gateway), token=cloud.token())
    assert first.code == 0, first.out + first.err
    secret = (config.parent / "gateway.mqtt.secret").read_bytes()

    again = await provision(
        config, "--api-url", cloud.url, "--units", "1-3", "--exclude", "rs485:2"
    )  # no token: a device is removed without asking the cloud for new credentials
    assert again.code == 0, again.out + again.err
    assert "kept the existing credentials" in again.out
    assert "dropped: " in again.out
    assert (config.parent / "gateway.mqtt.secret").read_bytes() == secret
    devices = [d.id for d in load_gateway_config(config).config.devices]
    assert devices == [f"{gateway}-meter-1"]
