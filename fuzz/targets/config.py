"""Config loaders target: arbitrary YAML text as a gateway config, a cloud config or a profile.

The first byte chooses the loader; the rest is written as the file it loads. Only ``ConfigError``
naming that file may come out. What loads must also be usable: every profile a loader accepts can
be planned (``plan_reads`` refuses nothing the loader let through).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cloud.config import load_cloud_config
from eclor.errors import ConfigError
from edge.config import load_gateway_config
from edge.modbus.planner import plan_reads
from edge.profiles import Profile, load_profile

PROFILE_MODEL = "fuzz-model"
"""The profile file's name: seeds name this model, which must match the file name."""

_folder = Path(tempfile.mkdtemp(prefix="eclor-fuzz-config-"))


class Unnamed(AssertionError):
    """A ConfigError that does not name the file it is about."""


class Unusable(AssertionError):
    """A config the loader accepted that the code using it then refuses."""


def one_input(data: bytes) -> None:
    if not data:
        return
    loader = data[0] % 3
    path = _folder / (f"{PROFILE_MODEL}.yaml" if loader == 2 else "config.yaml")
    path.write_bytes(data[1:])
    try:
        if loader == 0:
            loaded = load_gateway_config(path)
            for device in loaded.config.devices:
                _plannable(loaded.profiles[device.profile], device.fields)
        elif loader == 1:
            load_cloud_config(path)
        else:
            _plannable(load_profile(path), None)
    except ConfigError as exc:
        # A gateway config also loads its profiles directory: errors there name that file.
        if exc.file != str(path) and not (loader == 0 and exc.file):
            raise Unnamed(f"{exc} names {exc.file!r}, not {str(path)!r}") from exc


def _plannable(profile: Profile, field_names: list[str] | None) -> None:
    fields = None if field_names is None else [profile.field_named(n) for n in field_names]
    try:
        plan_reads(profile, fields)
    except ValueError as exc:
        raise Unusable(f"profile {profile.model!r} loads but cannot be planned: {exc}") from exc
