"""What a correct read plan is, checked independently of the planner.

A plan is correct when every field is read by exactly one request of its function that spans it,
each request keeps the device's rules (per-request limit, even alignment, one field per request,
the unused registers bridged between fields), and there are as few requests as an exhaustive
search over every split of the sorted fields allows (as in tests/unit/edge/test_planner.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from edge.modbus.planner import ReadRequest
from edge.profiles import Field, Function, Limits


class PlanBroken(AssertionError):
    """The planner's output breaks a rule of the device or is not minimal."""


def largest_request(limits: Limits, function: Function) -> int:
    align = alignment(limits, function)
    largest = limits.max_bits_per_request if function.is_bit else limits.max_registers_per_request
    return largest - largest % align


def alignment(limits: Limits, function: Function) -> int:
    return 2 if limits.even_alignment and not function.is_bit else 1


def span(fields: Sequence[Field], align: int) -> tuple[int, int]:
    start = min(f.protocol_address for f in fields)
    end = max(f.protocol_address + f.count for f in fields)
    return start - start % align, end + (-end) % align


def feasible(group: Sequence[Field], limits: Limits, function: Function) -> bool:
    """Whether one request may read ``group`` (sorted by address) under the device's rules."""
    if limits.one_request_per_field and len(group) > 1:
        return False
    start, end = span(group, alignment(limits, function))
    if end - start > largest_request(limits, function):
        return False
    reach = group[0].protocol_address + group[0].count
    for f in group[1:]:
        if f.protocol_address - reach > limits.max_gap_registers:
            return False
        reach = max(reach, f.protocol_address + f.count)
    return True


def minimum_requests(fields: Sequence[Field], limits: Limits, function: Function) -> int:
    ordered = sorted(fields, key=lambda f: f.protocol_address)

    @cache
    def best(i: int) -> int:
        if i == len(ordered):
            return 0
        options = [
            1 + best(j)
            for j in range(i + 1, len(ordered) + 1)
            if feasible(ordered[i:j], limits, function)
        ]
        return min(options, default=len(ordered) + 1)

    return best(0)


def check_plan(fields: Sequence[Field], limits: Limits, plan: Sequence[ReadRequest]) -> None:
    read = [f.name for request in plan for f in request.fields]
    if sorted(read) != sorted(f.name for f in fields):
        raise PlanBroken(f"fields read {sorted(read)} != fields asked {[f.name for f in fields]}")
    for request in plan:
        check_request(request, limits)
    for function in Function:
        of_function = [f for f in fields if f.function is function]
        planned = sum(1 for r in plan if r.function is function)
        if of_function and planned != minimum_requests(of_function, limits, function):
            minimum = minimum_requests(of_function, limits, function)
            raise PlanBroken(f"{planned} {function} requests where {minimum} suffice")


def check_request(request: ReadRequest, limits: Limits) -> None:
    fn = request.function
    align = alignment(limits, fn)
    if request.count > largest_request(limits, fn) or request.count < 1:
        raise PlanBroken(f"{request} exceeds the per-request limit")
    if request.address % align or request.count % align:
        raise PlanBroken(f"{request} is not aligned on {align}")
    if request.address < 0 or request.end > 65536:
        raise PlanBroken(f"{request} leaves the address space")
    ordered = sorted(request.fields, key=lambda f: f.protocol_address)
    if any(f.function is not fn for f in ordered):
        raise PlanBroken(f"{request} mixes functions")
    if not feasible(ordered, limits, fn):
        raise PlanBroken(f"{request} breaks the device's rules for one request")
    for f in ordered:
        if f.protocol_address < request.address or f.protocol_address + f.count > request.end:
            raise PlanBroken(f"{request} does not span field {f.name!r}")
