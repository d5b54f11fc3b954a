"""Read planning: merge a device's fields into the fewest requests its rules allow.

Fields of one function are sorted by address and grouped greedily, left to right: a field joins the
current request while the request stays within the device's per-request limit (registers or bits),
the unused registers it bridges stay within ``max_gap_registers`` (Telegraf's ``max_insert``;
counted from the end of the fields before it, alignment padding included), and,
for devices that need it, start and count stay even. Because any run of consecutive fields inside a
feasible request is itself feasible, greedy grouping is minimal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from edge.profiles import Field, Function, Limits, Profile


@dataclass(frozen=True, slots=True)
class ReadRequest:
    function: Function
    address: int  # protocol address of the first register or bit
    count: int
    fields: tuple[Field, ...]

    @property
    def end(self) -> int:
        return self.address + self.count


def plan_reads(profile: Profile, fields: Sequence[Field] | None = None) -> list[ReadRequest]:
    """The requests that read ``fields`` (default: every field of the profile)."""
    chosen = profile.fields if fields is None else fields
    requests: list[ReadRequest] = []
    for function in Function:
        of_function = sorted(
            (f for f in chosen if f.function is function), key=lambda f: f.protocol_address
        )
        if of_function:
            requests.extend(_plan_function(function, of_function, profile.limits))
    return requests


def _plan_function(
    function: Function, fields: Sequence[Field], limits: Limits
) -> Iterable[ReadRequest]:
    align = 2 if limits.even_alignment and not function.is_bit else 1
    largest = limits.max_bits_per_request if function.is_bit else limits.max_registers_per_request
    largest -= largest % align
    group: list[Field] = []
    start = end = reach = 0  # reach: end of the fields themselves, before alignment padding
    for field in fields:
        f_start = _down(field.protocol_address, align)
        f_reach = field.protocol_address + field.count
        f_end = _up(f_reach, align)
        if f_end - f_start > largest:
            raise ValueError(f"field {field.name!r} alone exceeds {largest} per request")
        fits = group and (
            max(end, f_end) - start <= largest
            and field.protocol_address - reach <= limits.max_gap_registers
            and not limits.one_request_per_field
        )
        if fits:
            group.append(field)
            end, reach = max(end, f_end), max(reach, f_reach)
            continue
        if group:
            yield ReadRequest(function, start, end - start, tuple(group))
        group, start, end, reach = [field], f_start, f_end, f_reach
    if group:
        yield ReadRequest(function, start, end - start, tuple(group))


def _down(value: int, align: int) -> int:
    return value - value % align


def _up(value: int, align: int) -> int:
    return value + (-value) % align
