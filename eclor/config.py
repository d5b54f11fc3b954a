"""YAML files into pydantic models, with errors that name the file, the key and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from eclor.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "password", "placeholder", "xxx", "todo"}
)


def is_placeholder(secret: str) -> bool:
    """An empty or placeholder secret: a service holding one refuses to start."""
    return secret.strip().lower() in PLACEHOLDER_SECRETS


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("devices", 2, "unit")`` → ``devices[2].unit``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def read_yaml(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), "", None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        reason = f"not UTF-8 text: byte {raw[exc.start]:#04x} on line {line}"
        raise ConfigError(str(path), "", None, reason) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), "", None, f"not valid YAML: {where}{problem}") from None


def validate(
    model: type[ModelT], data: Any, source: str, context: dict[str, Any] | None = None
) -> ModelT:
    """Validate ``data`` as ``model``; the first error becomes a :class:`ConfigError`."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise config_error(exc, source) from None


def config_error(exc: ValidationError, source: str) -> ConfigError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    value = first.get("input")
    if first["type"] == "missing":
        value = None
    return ConfigError(source, key_path(tuple(first["loc"])), value, first["msg"] + more)


def load_yaml_model(
    path: Path, model: type[ModelT], context: dict[str, Any] | None = None
) -> ModelT:
    return validate(model, read_yaml(path), str(path), context)
