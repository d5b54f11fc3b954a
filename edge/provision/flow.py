"""``eclor edge provision`` from answers to report, in the order that keeps a re-run safe.

1. Read the existing config (if any) and the answers; ask what is missing (interactive mode).
2. Check the cloud API answers, before a long scan.
3. Scan the buses, propose devices, let the technician review them (interactive mode).
4. Merge with the existing config and validate the result (without credentials yet): a mistake
   is found before the one-time token is spent.
5. Enrol with the token (or keep the existing credentials when no token is given); only a
   successful enrolment replaces the password file (mode 0600).
6. Validate and install the config (the previous one is backed up).
7. Self-test: read every device, run the agent until the cloud acks, compare clocks.
8. Report (and its JSON twin).

A failure before step 5 leaves every file as it was.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape

from edge.config import GatewayConfig, load_gateway_config
from edge.errors import AgentRunning, AnswersError, ConfigWriteError
from edge.profiles import Profile, default_profiles_dir, load_profiles
from edge.provision import cloud_api
from edge.provision.answers import Answers, Settings, load_answers, resolve, with_defaults
from edge.provision.discover import Discovery, discover
from edge.provision.merge import (
    MergeNotes,
    align,
    broker_section,
    build_document,
    merge_devices,
)
from edge.provision.prompts import Asker, ask_answers, identify_by_hand, review
from edge.provision.report import Report, device_lines, judge
from edge.provision.selection import propose
from edge.provision.selftest import check_devices, check_uplink
from edge.provision.writer import check_draft, install_config, read_existing, write_secret
from edge.scan import ScanProgress

PENDING_HOST = "enrolment.pending"


@dataclass(frozen=True)
class Options:
    config: Path
    answers_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    interactive: bool = False
    stream: TextIO | None = None
    """Where interactive answers are read from (the keyboard when ``None``)."""


@dataclass
class _Run:
    options: Options
    console: Console
    existing: GatewayConfig | None = None
    clock: cloud_api.ClockCheck | None = None
    enrolment: str = "kept the existing credentials"
    broker: dict[str, Any] = field(default_factory=dict)
    backup: Path | None = None
    notes: MergeNotes = field(default_factory=MergeNotes)

    @property
    def asker(self) -> Asker:
        return Asker(self.console, self.options.stream)


async def provision(options: Options, console: Console) -> Report:
    run = _Run(options, console)
    settings = _settings(run)
    await asyncio.to_thread(_refuse_if_running, run.existing)
    run.clock = await asyncio.to_thread(cloud_api.check_api, settings.api_url)
    console.print(f"[green]✓[/green] the cloud API answers at {escape(settings.api_url)}")
    profiles = _profiles(settings.config_path, run.existing)
    discovery = await _scan(run, settings, profiles)
    document = _document(run, settings, discovery, profiles)
    check_draft(settings.config_path, document)
    await _enrol(run, settings)
    document["broker"] = broker_section(run.existing, run.broker)
    try:
        run.backup, _ = install_config(settings.config_path, document, _header(settings))
    except ConfigWriteError as exc:
        if settings.token is None:
            raise
        raise ConfigWriteError(
            exc.path,
            f"{exc.reason}; the gateway is enrolled and its new MQTT password is in "
            f"{settings.password_file}: fix the problem and run provision again with a new token",
        ) from None
    console.print(f"[green]✓[/green] config written to {escape(str(settings.config_path))}")
    return await _self_test(run, settings)


def _settings(run: _Run) -> Settings:
    options = run.options
    run.existing = read_existing(options.config)
    answers = with_defaults(load_answers(options.answers_file, options.overrides), run.existing)
    has_credentials = _has_credentials(options.config, run.existing)
    if options.interactive:
        answers = ask_answers(run.asker, answers, has_credentials)
    settings = resolve(answers, options.config, run.existing, has_credentials)
    _same_gateway(run.existing, answers, options.config)
    return settings


def _has_credentials(config: Path, existing: GatewayConfig | None) -> bool:
    if existing is None or existing.broker.password_file is None:
        return False
    path = _beside(config, existing.broker.password_file)
    return path.is_file() and path.stat().st_size > 0


def _beside(config: Path, path: Path) -> Path:
    return path if path.is_absolute() else config.parent / path


def _same_gateway(existing: GatewayConfig | None, answers: Answers, config: Path) -> None:
    if existing is not None and answers.gateway.id != existing.gateway.id:
        raise AnswersError(
            [
                f"{config} belongs to gateway {existing.gateway.id!r}, not {answers.gateway.id!r}:"
                " write another gateway's config to another file"
            ]
        )


def _refuse_if_running(existing: GatewayConfig | None) -> None:
    """An agent running on this config would fight the self-test for the outbox and the
    gateway's MQTT session."""
    if existing is None or not existing.health.port:
        return
    url = f"http://{existing.health.host}:{existing.health.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            doc = json.loads(response.read(65536))
    except (urllib.error.URLError, OSError, ValueError):
        return
    if isinstance(doc, dict) and doc.get("gateway") == existing.gateway.id:
        raise AgentRunning(url)


def _profiles(config: Path, existing: GatewayConfig | None) -> dict[str, Profile]:
    folder = existing.profiles_dir if existing is not None else None
    return load_profiles(_beside(config, folder) if folder is not None else default_profiles_dir())


async def _scan(run: _Run, settings: Settings, profiles: dict[str, Profile]) -> Discovery:
    console = run.console
    with console.status("scanning…") as status:

        def progress(step: ScanProgress) -> None:
            status.update(f"scanning {step.bus}: unit {step.done} of {step.total}")
            found = step.found
            if found is not None:
                best = found.best
                what = f"{best.model} ({best.confidence:.0%})" if best else "not identified"
                console.print(f"  {step.bus} unit {found.unit}: {what}", markup=False)

        discovery = await discover(
            settings.buses, profiles, settings.devices, settings.units, progress
        )
    for problem in discovery.problems:
        console.print(f"[yellow]![/yellow] {escape(problem)}")
    for unknown in discovery.unidentified:
        console.print(f"[yellow]?[/yellow] {unknown.address}: {escape(unknown.reason)}")
    if run.options.interactive and discovery.unidentified:
        discovery.found += identify_by_hand(run.asker, discovery.unidentified, sorted(profiles))
    console.print(f"[green]✓[/green] scan done: {len(discovery.found)} device(s) identified")
    return discovery


def _document(
    run: _Run, settings: Settings, discovery: Discovery, profiles: dict[str, Profile]
) -> dict[str, Any]:
    aligned = align(run.existing, discovery.buses)
    proposals = propose(
        discovery.found, settings.devices, settings.identity.id, aligned.devices, profiles
    )
    if run.options.interactive:
        proposals = review(run.asker, proposals)
    devices, run.notes = merge_devices(aligned, proposals, settings.devices, profiles)
    used = {d.bus for d in devices}
    kept = {b.name for b in run.existing.buses} if run.existing is not None else set()
    buses = [b for b in aligned.buses if b.name in used or b.name in kept]
    if run.existing is not None and settings.token is None:
        run.broker = run.existing.broker.model_dump(mode="json", exclude_unset=True)
    else:
        run.broker = {"host": PENDING_HOST}
    return build_document(
        run.existing,
        settings.identity,
        run.broker,
        settings.outbox_path,
        buses,
        devices,
        settings.health_port,
    )


async def _enrol(run: _Run, settings: Settings) -> None:
    if settings.token is None:
        return
    enrolled = await asyncio.to_thread(
        cloud_api.enrol, settings.api_url, settings.token, settings.identity.id
    )
    mqtt = enrolled.mqtt
    write_secret(_beside(settings.config_path, settings.password_file), mqtt.password)
    run.clock = enrolled.clock or run.clock
    run.enrolment = f"enrolled {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (one-time token used)"
    tls: dict[str, Any] = {"enabled": mqtt.tls}
    if mqtt.tls and settings.ca_file is not None:
        tls["ca_file"] = str(settings.ca_file)
    run.broker = {
        "host": mqtt.host,
        "port": mqtt.port,
        "protocol": mqtt.protocol,
        "username": mqtt.username,
        "password_file": str(settings.password_file),
        "tls": tls,
    }
    run.console.print(
        f"[green]✓[/green] enrolled: MQTT user {mqtt.username} on {mqtt.host}:{mqtt.port}"
        f" (password stored in {settings.password_file}, mode 0600)"
    )


def _header(settings: Settings) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Gateway {settings.identity.id}, written by `eclor edge provision` on {stamp}.\n"
        "Running provision again keeps what is here; comments go to the backup it makes."
    )


async def _self_test(run: _Run, settings: Settings) -> Report:
    console = run.console
    loaded = load_gateway_config(settings.config_path)
    with console.status("self-test: reading every device once…"):
        checks = await check_devices(loaded)
    with console.status("self-test: running the agent until the cloud acks its data…"):
        uplink = await check_uplink(loaded, settings.self_test_timeout_s)
    broker = loaded.config.broker
    identity = settings.identity
    report = Report(
        gateway=identity.id,
        site=identity.site,
        commune=identity.commune,
        latitude=identity.latitude,
        longitude=identity.longitude,
        config=settings.config_path,
        backup=run.backup,
        api_url=settings.api_url,
        broker=f"{broker.host}:{broker.port} "
        f"({'TLS' if broker.tls.enabled else 'no TLS'}, MQTT {broker.protocol})",
        mqtt_username=broker.username,
        enrolment=run.enrolment,
        devices=device_lines(checks, uplink),
        changes=run.notes,
        clock=run.clock,
        uplink=uplink,
        finished_at=datetime.now(UTC),
    )
    return judge(report)
