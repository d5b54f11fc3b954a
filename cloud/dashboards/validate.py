"""Checks every board must pass: the dashboard schema (through the foundation SDK) and the layout.

Schema: the board's JSON is read back with the SDK's generated models (``Dashboard.from_json``, the
panel plugins' ``Options``/``FieldConfig`` models and our InfluxDB target model) and written out
again; any key the schema does not know is lost on the way and shows up as a difference, and any
value of the wrong type fails the models' enums or constructors. Layout: unique panel ids, grid
positions inside the 24 columns that do not overlap.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from cloud.dashboards import query
from cloud.dashboards.errors import BoardInvalid

GRID_COLUMNS = 24
_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        plugins.register_default_plugins()
        query.register()
        _registered = True


def to_json_text(value: object) -> str:
    return json.dumps(value, cls=JSONEncoder, ensure_ascii=False, indent=2) + "\n"


def plain(value: object) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


def problems(board: dict[str, Any]) -> list[str]:
    """Everything wrong with one board's JSON; empty when it is valid."""
    _register()
    found = _schema_problems(board)
    found += _enum_problems(board)
    found += _layout_problems(board.get("panels", []))
    return found


def check(board: dict[str, Any]) -> None:
    found = problems(board)
    if found:
        raise BoardInvalid(str(board.get("uid", "?")), found)


def _schema_problems(board: dict[str, Any]) -> list[str]:
    try:
        read = model.Dashboard.from_json(board)
    except (KeyError, TypeError, ValueError) as exc:
        return [f"not a dashboard of the schema: {exc}"]
    found = [f"{path}: {why}" for path, why in _differences(board, plain(read), "")]
    return found + _type_problems(read, model.Dashboard, "dashboard")


def _type_problems(value: Any, hint: Any, path: str) -> list[str]:
    """Every value of the models read back, checked against the schema's type annotations."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or (hint is object and not hasattr(value, "to_json")):
        return []
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return []
        tries = [_type_problems(value, arg, path) for arg in args if arg is not type(None)]
        return [] if any(not t for t in tries) else min(tries, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} is not one of {list(args)}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not a list"]
        return [p for i, v in enumerate(value) for p in _type_problems(v, args[0], f"{path}[{i}]")]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{path}: {value!r} is not an object"]
    if hint is object or (isinstance(hint, type) and hasattr(hint, "to_json")):
        return _model_problems(value, hint, path)
    return _scalar_problems(value, hint, path)


def _model_problems(value: Any, hint: Any, path: str) -> list[str]:
    if hint is not object and not isinstance(value, hint):
        return [f"{path}: {value!r} is not a {hint.__name__}"]
    try:
        hints = typing.get_type_hints(type(value))
    except NameError:
        return []
    return [
        problem
        for name, annotation in hints.items()
        if hasattr(value, name)
        for problem in _type_problems(getattr(value, name), annotation, f"{path}.{name}")
    ]


def _scalar_problems(value: Any, hint: Any, path: str) -> list[str]:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _member(hint, value, path)
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(hint, type):
        ok = isinstance(value, hint)
    else:
        ok = True
    return [] if ok else [f"{path}: {value!r} is not a {getattr(hint, '__name__', hint)}"]


def _differences(left: Any, right: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(left, dict) and isinstance(right, dict):
        out: list[tuple[str, str]] = []
        for key in sorted(set(left) | set(right)):
            where = f"{path}.{key}" if path else key
            if key not in right:
                out.append((where, "key unknown to the dashboard schema"))
            elif key not in left:
                out.append((where, "added by the schema's defaults (board not in canonical form)"))
            else:
                out += _differences(left[key], right[key], where)
        return out
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [(path, "list length changed through the schema")]
        out = []
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            out += _differences(a, b, f"{path}[{index}]")
        return out
    if left != right or type(left) is not type(right):
        return [(path, f"{left!r} read back as {right!r}")]
    return []


def _enum_problems(board: dict[str, Any]) -> list[str]:
    found = []
    for variable in board.get("templating", {}).get("list", []):
        found += _member(
            model.VariableType, variable.get("type"), f"variable {variable.get('name')}"
        )
        if "refresh" in variable:
            found += _member(model.VariableRefresh, variable["refresh"], "variable refresh")
        if "sort" in variable:
            found += _member(model.VariableSort, variable["sort"], "variable sort")
    for panel in board.get("panels", []):
        where = f"panel {panel.get('id')}"
        if cogruntime.panelcfg_config(panel.get("type", "")) is None:
            found.append(f"{where}: unknown panel type {panel.get('type')!r}")
        thresholds = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds")
        if not thresholds or len(thresholds.get("steps", [])) < 2:
            found.append(f"{where}: no thresholds")
        else:
            found += _member(model.ThresholdsMode, thresholds.get("mode"), f"{where} thresholds")
        if not panel.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            found.append(f"{where}: no unit")
    return found


def _member(enum: Any, value: Any, where: str) -> list[str]:
    try:
        enum(value)
    except ValueError:
        return [f"{where}: {value!r} is not one of {[m.value for m in enum]}"]
    return []


def _layout_problems(panels: list[dict[str, Any]]) -> list[str]:
    found = []
    ids = [panel.get("id") for panel in panels]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if duplicates or None in ids:
        found.append(f"panel ids not unique or missing: {duplicates or 'missing'}")
    cells: dict[tuple[int, int], Any] = {}
    for panel in panels:
        grid = panel.get("gridPos") or {}
        x, y, w, h = (int(grid.get(k, -1)) for k in ("x", "y", "w", "h"))
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS:
            found.append(f"panel {panel.get('id')}: grid position {grid} outside the 24 columns")
            continue
        for cx in range(x, x + w):
            for cy in range(y, y + h):
                other = cells.setdefault((cx, cy), panel.get("id"))
                if other != panel.get("id"):
                    found.append(f"panels {other} and {panel.get('id')} overlap at ({cx}, {cy})")
                    break
            else:
                continue
            break
    return found
