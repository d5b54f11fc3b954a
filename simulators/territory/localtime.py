"""Local civil time helpers: the model runs in UTC, but programs, opening hours and traffic
profiles are written in the site's zone (Europe/Paris), with its daylight-saving jumps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def at_local(day: date, moment: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time (the earlier one when the clock goes back)."""
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def local_days(start: datetime, end: datetime, zone: ZoneInfo, margin: int = 1) -> Iterator[date]:
    """Every local date that overlaps [start, end], widened by ``margin`` days on each side."""
    first = start.astimezone(zone).date() - timedelta(days=margin)
    last = end.astimezone(zone).date() + timedelta(days=margin)
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def local_hour(moment: datetime, zone: ZoneInfo) -> float:
    """Hours since local midnight, as a float (13.5 is half past one in the afternoon)."""
    local = moment.astimezone(zone)
    return local.hour + local.minute / 60.0 + (local.second + local.microsecond / 1e6) / 3600.0


def cuts_within(start: datetime, end: datetime, instants: Iterator[datetime]) -> list[datetime]:
    """The sorted, distinct instants strictly inside (start, end)."""
    return sorted({moment for moment in instants if start < moment < end})


def pieces(
    start: datetime, end: datetime, cuts: list[datetime]
) -> Iterator[tuple[datetime, datetime]]:
    """[start, end] split at ``cuts`` (sorted, strictly inside) into consecutive intervals."""
    previous = start
    for cut in cuts:
        yield previous, cut
        previous = cut
    yield previous, end
