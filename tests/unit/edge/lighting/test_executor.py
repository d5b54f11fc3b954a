"""The executor's precedence, sends on change only, isolation of failing actuators, persistence,
commands and the local rule, stepped with a ManualClock.

Actuators here are in-memory implementations of the Actuator protocol that record what they were
sent (the real back-ends are exercised in tests/integration/test_edge_lighting.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from eclor.clock import ManualClock, to_epoch_ms
from eclor.wire import Command, Reading, encode
from edge.commands import Outcome
from edge.errors import ActuatorError, CommandRejected
from edge.lighting.actuators.base import Actuator
from edge.lighting.config import LightingConfig, LocalRuleConfig, RuleStep
from edge.lighting.devices import GearLookup, no_gear
from edge.lighting.executor import LightingExecutor
from edge.lighting.handlers import parse_override, register
from edge.lighting.local_rules import LocalRule
from edge.lighting.overrides import Mode, Override
from edge.metrics import EdgeMetrics
from tests.unit.edge.lighting.test_schedule import night_program, program_set

PARIS = ZoneInfo("Europe/Paris")


class Recorder:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.sent: list[float] = []
        self.level: float | None = None

    async def apply(self, level_pct: float, fade_s: float) -> None:
        if self.fail:
            raise ActuatorError(self.name, "no answer")
        self.sent.append(level_pct)
        self.level = level_pct

    async def read_back(self) -> float | None:
        return self.level

    async def close(self) -> None:
        pass


class Hanging(Recorder):
    async def apply(self, level_pct: float, fade_s: float) -> None:
        await asyncio.sleep(3600)


class Processor:
    """Collects the handlers ``register`` gives, like CommandProcessor.register."""

    def __init__(self) -> None:
        self.handlers: dict[str, object] = {}

    def register(self, kind: str, handler: object) -> None:
        self.handlers[kind] = handler


def lighting_config(tmp_path: Path, **extra: object) -> LightingConfig:
    doc: dict[str, object] = {
        "state_path": tmp_path / "lighting.json",
        "tick_s": 1.0,
        "reassert_s": 600,
        "apply_timeout_s": 0.2,
        "site": {"latitude": 49.4717, "longitude": 5.9078},
        "groups": [
            {"name": "main", "contactor": {"device": "ctrl", "outputs": ["contactor_1"]}},
            {"name": "side", "setpoint": {"device": "ctrl", "output": "dim_setpoint_pct"}},
        ],
        **extra,
    }
    return LightingConfig.model_validate(doc)


class Stand:
    def __init__(
        self,
        tmp_path: Path,
        start: datetime,
        actuators: dict[str, list[Recorder]],
        find_gear: GearLookup = no_gear,
    ) -> None:
        self.find_gear = find_gear
        self.clock = ManualClock(start)
        self.readings: list[Reading] = []
        self.metrics = EdgeMetrics()
        self.tmp_path = tmp_path
        self.actuators = actuators
        self.executor = self.build()

    def build(self) -> LightingExecutor:
        async def sink(readings: Sequence[Reading]) -> None:
            self.readings.extend(readings)

        return LightingExecutor(
            lighting_config(self.tmp_path),
            "cab-thil-04",
            self.actuators,
            self.clock,
            self.metrics,
            sink,
            find_gear=self.find_gear,
        )

    async def at(self, hour: int, minute: int = 0, day: int = 27) -> None:
        target = datetime(2026, 11, day, hour, minute, tzinfo=PARIS)
        self.clock.advance((target - self.clock.now()).total_seconds())
        await self.executor.tick()
        await self.executor.idle()
        await asyncio.sleep(0)  # let the reading tasks run


def start_at(hour: int) -> datetime:
    return datetime(2026, 11, 27, hour, tzinfo=PARIS)


async def test_program_night_sends_only_changes(tmp_path: Path) -> None:
    main, side = Recorder("contactor:ctrl"), Recorder("setpoint:ctrl")
    stand = Stand(tmp_path, start_at(17), {"main": [main], "side": [side]})
    assert await stand.executor.receive_program(encode(program_set([night_program()])))
    for hour, minute in ((17, 0), (18, 0), (18, 1), (18, 5), (22, 0), (22, 5), (23, 0)):
        await stand.at(hour, minute)
    assert main.sent == [0.0, 100.0, 50.0, 0.0]
    assert set(side.sent) == {100.0}  # not in the set: the safe default, lit after sunset
    assert stand.executor.commanded("side").source == "no_program"  # type: ignore[union-attr]
    command = stand.executor.commanded("main")
    assert command is not None
    assert (command.source, command.program) == ("program", "night")
    group_main = [r for r in stand.readings if r.tags == {"group": "main"}]
    levels = [r.fields["target_pct"] for r in group_main]
    assert [x for i, x in enumerate(levels) if i == 0 or levels[i - 1] != x] == [0, 100, 50, 0]
    assert len(levels) == 7  # a change or 60 s since the last one at every tick
    assert group_main[1].fields == {
        "target_pct": 100.0,
        "lit": True,
        "source": "program",
        "program": "night",
    }


async def test_levels_are_reasserted_and_readings_repeat(tmp_path: Path) -> None:
    main = Recorder("contactor:ctrl")
    stand = Stand(tmp_path, start_at(18), {"main": [main]})
    await stand.executor.receive_program(encode(program_set([night_program()])))
    await stand.at(18, 1)
    await stand.at(18, 5)
    await stand.at(18, 12)  # 11 min after the first send: reassert (600 s)
    assert main.sent == [100.0, 100.0]
    main_readings = [r for r in stand.readings if r.tags == {"group": "main"}]
    assert len(main_readings) == 3  # on change, then every 60 s at least


async def test_a_failing_actuator_is_retried_and_does_not_block_others(tmp_path: Path) -> None:
    broken, hanging, fine = Recorder("dali:x", fail=True), Hanging("slow"), Recorder("setpoint")
    stand = Stand(tmp_path, start_at(18), {"main": [broken, fine], "side": [hanging]})
    await stand.executor.receive_program(encode(program_set([night_program()])))
    await stand.at(18, 1)
    await stand.at(18, 2)
    assert fine.sent == [100.0]
    errors = stand.metrics.registry.get_sample_value(
        "eclor_edge_lighting_actuator_errors_total", {"group": "main", "actuator": "dali:x"}
    )
    assert errors == 2  # retried at the next tick
    timeouts = stand.metrics.registry.get_sample_value(
        "eclor_edge_lighting_actuator_errors_total", {"group": "side", "actuator": "slow"}
    )
    assert timeouts == 2
    broken.fail = False
    await stand.at(18, 3)
    assert broken.sent == [100.0]
    assert fine.sent == [100.0]


async def test_override_beats_program_raise_only_while_lit_and_expiry_resumes(
    tmp_path: Path,
) -> None:
    main = Recorder("contactor:ctrl")
    stand = Stand(tmp_path, start_at(21), {"main": [main], "side": []})
    ex = stand.executor
    await ex.receive_program(encode(program_set([night_program()])))
    now_ms = to_epoch_ms(stand.clock.now())
    await ex.add_override(_override(ex, "raise", 70, now_ms, hours=4))
    await stand.at(22, 10)
    assert ex.commanded("main").target_pct == 70  # type: ignore[union-attr]
    assert ex.commanded("main").source == "raise"  # type: ignore[union-attr]
    await stand.at(23, 10)  # switch-off window: a raise does not light the road
    assert ex.commanded("main").target_pct == 0  # type: ignore[union-attr]
    until = to_epoch_ms(stand.clock.now() + timedelta(minutes=20))
    await ex.add_override(_override(ex, "override", 40, now_ms, until_ms=until))
    await stand.at(23, 20)
    assert ex.commanded("main").source == "override"  # type: ignore[union-attr]
    assert main.level == 40
    await stand.at(23, 31)  # expired: the program resumes without any message
    assert ex.commanded("main").source == "program"  # type: ignore[union-attr]
    assert main.level == 0


async def test_overrides_and_program_survive_a_restart(tmp_path: Path) -> None:
    main = Recorder("contactor:ctrl")
    stand = Stand(tmp_path, start_at(20), {"main": [main]})
    await stand.executor.receive_program(encode(program_set([night_program()])))
    now_ms = to_epoch_ms(stand.clock.now())
    until = now_ms + 3_600_000
    await stand.executor.add_override(_override(stand.executor, "override", 25, now_ms, until))
    reborn = stand.build()
    assert reborn.programs.current is not None
    assert reborn.programs.current.revision == 1
    assert reborn.decide("main", stand.clock.now()).target_pct == 25
    assert reborn.decide("main", stand.clock.now() + timedelta(hours=2)).target_pct == 50


async def test_set_level_and_clear_override_commands(tmp_path: Path) -> None:
    main = Recorder("contactor:ctrl")
    stand = Stand(tmp_path, start_at(19), {"main": [main]})
    processor = Processor()
    register(processor, stand.executor)  # type: ignore[arg-type]
    now_ms = to_epoch_ms(stand.clock.now())
    set_level = processor.handlers["set_level"]
    outcome: Outcome = await set_level(  # type: ignore[operator]
        _command("set_level", {"level_pct": 35.0, "until": now_ms + 60_000}, now_ms)
    )
    assert outcome.ok
    assert outcome.observed == {"target_pct": 35.0, "level_pct": 35.0}
    assert main.level == 35.0
    cleared: Outcome = await processor.handlers["clear_override"](  # type: ignore[operator]
        _command("clear_override", {}, now_ms)
    )
    assert cleared.ok
    assert main.level == 100.0
    with pytest.raises(CommandRejected, match="known groups"):
        await set_level(  # type: ignore[operator]
            _command("set_level", {"level_pct": 1.0, "until": now_ms + 1}, now_ms, "group:x")
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"until": 9_000}, "level_pct"),
        ({"level_pct": 101, "until": 9_000}, "level_pct"),
        ({"level_pct": 50}, "until"),
        ({"level_pct": 50, "until": 500}, "not after"),
        ({"level_pct": 50, "until": 9_000, "mode": "boost"}, "mode"),
        ({"level_pct": 50, "until": 9_000, "fade_s": -1}, "fade_s"),
        ({"level_pct": 50, "until": 9_000, "source": "me"}, "source"),
    ],
)
def test_bad_set_level_arguments_are_refused_by_name(args: dict[str, object], message: str) -> None:
    with pytest.raises(CommandRejected, match=message):
        parse_override(_command("set_level", args, 1_000), "main", 1_000)  # type: ignore[arg-type]


async def test_local_rule_raises_within_the_tick_of_a_reading(tmp_path: Path) -> None:
    main = Recorder("contactor:ctrl")
    stand = Stand(tmp_path, start_at(21), {"main": [main]})
    await stand.executor.receive_program(encode(program_set([night_program()])))
    await stand.at(22, 10)
    assert main.level == 50
    rule = LocalRule(
        LocalRuleConfig(
            group="main",
            device="loops",
            lanes=[1, 2],
            window_s=300,
            hold_s=600,
            steps=[RuleStep(min_vph=0, level_pct=50), RuleStep(min_vph=300, level_pct=75)],
        ),
        stand.executor,
        stand.clock,
    )
    now_ms = to_epoch_ms(stand.clock.now())
    busy = {"interval_s": 60, "lane1_interval_count": 4, "lane2_interval_count": 3}  # 420 veh/h
    rule([Reading(device="loops", measurement="traffic", time=now_ms, fields=busy)])
    assert rule.vehicles_per_hour == 420
    await stand.at(22, 10)  # the same instant: the executor was woken, no time passed
    assert main.level == 75
    assert stand.executor.commanded("main").source == "local_rule"
    quiet = {"interval_s": 60, "lane1_interval_count": 0, "lane2_interval_count": 0}
    later = now_ms + 400_000
    rule([Reading(device="loops", measurement="traffic", time=later, fields=quiet)])
    await stand.at(22, 17)
    assert main.level == 75  # held for hold_s
    await stand.at(22, 21)
    assert main.level == 50


def _override(
    ex: LightingExecutor, mode: Mode, level: float, start: int, until_ms: int = 0, hours: int = 0
) -> Override:
    until = until_ms or start + hours * 3_600_000
    return Override("main", float(level), start, until, mode)


def _command(
    kind: str, args: dict[str, object], now_ms: int, target: str = "group:main"
) -> Command:
    return Command(
        id=f"c-{kind}-{now_ms}",
        kind=kind,
        target=target,
        args=args,  # type: ignore[arg-type]
        issued_at=now_ms,
        expires_at=now_ms + 60_000,
    )


async def test_a_gear_override_is_resent_after_group_sends_and_restored_when_it_ends(
    tmp_path: Path,
) -> None:
    group_dali, gear = Recorder("dali:dali/group0"), Recorder("dali-dali-gear-1")

    def find(device: str) -> tuple[str, Actuator] | None:
        return ("main", gear) if device == gear.name else None

    stand = Stand(tmp_path, start_at(21), {"main": [group_dali]}, find)
    executor = stand.executor
    await executor.receive_program(encode(program_set([night_program()])))
    processor = Processor()
    register(processor, executor)  # type: ignore[arg-type]
    await stand.at(21, 30)
    now_ms = to_epoch_ms(stand.clock.now())
    until = to_epoch_ms(datetime(2026, 11, 27, 22, 8, tzinfo=PARIS))
    outcome: Outcome = await processor.handlers["set_level"](  # type: ignore[operator]
        _command("set_level", {"level_pct": 20.0, "until": until}, now_ms, f"device:{gear.name}")
    )
    assert outcome.ok
    assert outcome.observed == {"target_pct": 20.0, "level_pct": 20.0}
    assert executor.commanded("main").target_pct == 100  # type: ignore[union-attr]
    await stand.at(22, 0)  # the group goes to 50 %: its DAPC reached the gear, which gets 20 again
    await stand.at(22, 5)
    await stand.at(22, 8)  # the gear's override ended: it goes back to the group's level
    await stand.at(22, 9)
    assert group_dali.sent == [100.0, 50.0]
    assert gear.sent == [20.0, 20.0, 50.0]
    with pytest.raises(CommandRejected, match="no DALI gear"):
        await processor.handlers["set_level"](  # type: ignore[operator]
            _command(
                "set_level", {"level_pct": 1.0, "until": until}, now_ms, "device:dali-x-gear-9"
            )
        )
