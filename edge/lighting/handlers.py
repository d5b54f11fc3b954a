"""The ``set_level`` and ``clear_override`` commands, registered on the agent's CommandProcessor.

``set_level`` on ``group:<name>``, args ``level_pct`` (0–100), ``until`` (epoch ms, required),
``starts_at`` (epoch ms, default now), ``fade_s``, ``mode`` (``override`` | ``raise``), ``source``.
The override is persisted before the answer; when it holds already, the answer waits until the
group's actuators were sent the level and reports ``observed = {target_pct, level_pct}`` with the
level read back (``level_pct`` is absent when no back-end of the group can tell).
``device:<DALI gear id>`` (``dali-<line>-gear-<n>``) overrides one gear of a group; ``level_pct``
in the answer is then that gear's level. ``clear_override`` on ``group:<name>`` drops the group's
overrides (its gear's included), on ``device:<id>`` those of the gear; the program resumes.
"""

from __future__ import annotations

from dataclasses import replace

from eclor.clock import to_epoch_ms
from eclor.wire import Command
from edge.commands import CommandProcessor, Outcome, Scalar
from edge.errors import CommandRejected
from edge.lighting.executor import LightingExecutor
from edge.lighting.overrides import Mode, Override

SOURCES = ("operator", "adaptive")


def register(processor: CommandProcessor, executor: LightingExecutor) -> None:
    async def set_level(command: Command) -> Outcome:
        return await _set_level(executor, command)

    async def clear_override(command: Command) -> Outcome:
        group, device = _target(executor, command)
        dropped = await executor.clear_overrides(group, device)
        settled = await executor.settle(group)
        return Outcome(
            True,
            f"dropped {dropped} override(s); {group} follows its {settled.source}",
            {"target_pct": settled.target_pct},
        )

    processor.register("set_level", set_level)
    processor.register("clear_override", clear_override)


async def _set_level(executor: LightingExecutor, command: Command) -> Outcome:
    group, device = _target(executor, command)
    override = parse_override(command, group, to_epoch_ms(executor.clock.now()))
    if device is not None:
        if override.mode == "raise":
            raise CommandRejected(command.id, "mode 'raise' applies to groups, not to one gear")
        override = replace(override, device=device)
    stamped = await executor.add_override(override)
    now_ms = to_epoch_ms(executor.clock.now())
    if not stamped.holds(now_ms):
        return Outcome(
            True, f"scheduled from {stamped.starts_at}", {"target_pct": stamped.level_pct}
        )
    settled = await executor.settle(group)
    observed: dict[str, Scalar] = {"target_pct": stamped.level_pct}
    level = await executor.read_back(group, device)
    if level is not None:
        observed["level_pct"] = round(level, 1)
    what = group if device is None else f"{device} (in {group})"
    level_now = settled.target_pct if device is None else stamped.level_pct
    detail = f"{what} at {level_now:.1f} % until {stamped.until}"
    return Outcome(True, detail, observed)


def _target(executor: LightingExecutor, command: Command) -> tuple[str, str | None]:
    """(group, None) for ``group:NAME``; (its group, gear id) for ``device:<DALI gear id>``."""
    kind, _, name = command.target.partition(":")
    if kind == "device":
        group = executor.gear_group(name)
        if group is None:
            raise CommandRejected(
                command.id, f"target {command.target!r}: no DALI gear of a lighting group here"
            )
        return group, name
    if kind != "group" or name not in executor.groups:
        raise CommandRejected(
            command.id, f"target {command.target!r}: known groups are {executor.groups}"
        )
    return name, None


def parse_override(command: Command, group: str, now_ms: int) -> Override:
    """The override a ``set_level`` command asks for; CommandRejected naming the bad argument."""
    args = command.args

    def refuse(reason: str) -> CommandRejected:
        return CommandRejected(command.id, reason)

    level = args.get("level_pct")
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 <= level <= 100:
        raise refuse(f"level_pct must be a number within 0-100, got {level!r}")
    until = args.get("until")
    if isinstance(until, bool) or not isinstance(until, int):
        raise refuse(f"until (epoch ms) is required, got {until!r}")
    starts_at = args.get("starts_at", now_ms)
    if isinstance(starts_at, bool) or not isinstance(starts_at, int):
        raise refuse(f"starts_at must be epoch ms, got {starts_at!r}")
    if until <= max(starts_at, now_ms):
        raise refuse(f"until {until} is not after the start and now ({max(starts_at, now_ms)})")
    fade = args.get("fade_s")
    if fade is not None and (isinstance(fade, bool) or not isinstance(fade, int | float)):
        raise refuse(f"fade_s must be a number of seconds, got {fade!r}")
    if fade is not None and not 0 <= fade <= 960:
        raise refuse(f"fade_s must be within 0-960, got {fade}")
    mode = args.get("mode", "override")
    if mode not in ("override", "raise"):
        raise refuse(f"mode must be 'override' or 'raise', got {mode!r}")
    source = args.get("source", "adaptive" if mode == "raise" else "operator")
    if source not in SOURCES:
        raise refuse(f"source must be one of {SOURCES}, got {source!r}")
    return Override(
        group=group,
        level_pct=float(level),
        starts_at=starts_at,
        until=until,
        mode=_mode(mode),
        source=str(source),
        fade_s=None if fade is None else float(fade),
        command_id=command.id,
    )


def _mode(value: object) -> Mode:
    return "raise" if value == "raise" else "override"
