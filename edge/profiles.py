"""Device profiles: what to read from a Modbus device and how to decode it.

A profile is YAML in ``firmware_configs/profiles/`` (format in that folder's README), validated
here per data type, in the spirit of Home Assistant's modbus integration: a float32 needs two
registers, a coil holds a bool, a string needs a length, a one-based map cannot name address 0.
Addresses are kept as the manual numbers them; :attr:`Field.protocol_address` is what goes on the
wire.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PydanticField

from eclor.config import load_yaml_model
from eclor.errors import ConfigError

Name = Annotated[str, PydanticField(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class Function(StrEnum):
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING_REGISTER = "holding_register"
    INPUT_REGISTER = "input_register"

    @property
    def is_bit(self) -> bool:
        return self in (Function.COIL, Function.DISCRETE_INPUT)


class DataType(StrEnum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"


REGISTERS_PER_TYPE = {
    DataType.BOOL: 1,
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.FLOAT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT64: 4,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Counter(_Strict):
    """A monotonic counter that may reset (meter replaced) or wrap at ``wraps_at``."""

    wraps_at: int | None = PydanticField(default=None, gt=0)


class Field(_Strict):
    name: Name
    function: Function
    address: int = PydanticField(ge=0, le=65536)
    type: DataType
    word_order: Literal["big", "little"] = "big"
    byte_order: Literal["big", "little"] = "big"
    length: int | None = PydanticField(default=None, ge=1, le=123, description="string registers")
    bit: int | None = PydanticField(default=None, ge=0, le=15, description="bool in a register")
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    counter: bool | Counter = False
    invalid: int | float | None = None
    """A raw value the device sends for "not available" (e.g. 0xFFFF): the field is left out."""
    measurement: Name | None = None
    protocol_address: int = PydanticField(default=-1, exclude=True)

    @model_validator(mode="after")
    def _per_type(self) -> Self:
        if self.function.is_bit and self.type is not DataType.BOOL:
            raise ValueError(f"a {self.function} holds one bit: type must be bool, not {self.type}")
        if self.type is DataType.STRING and self.length is None:
            raise ValueError("a string needs its length in registers")
        if self.type is not DataType.STRING and self.length is not None:
            raise ValueError("length applies to strings only")
        if self.bit is not None and (self.function.is_bit or self.type is not DataType.BOOL):
            raise ValueError("bit selects a bool inside a register: use it with type bool")
        if self.type is DataType.BOOL and not self.function.is_bit and self.bit is None:
            raise ValueError("a bool read from a register needs bit (0-15)")
        if self.counter and self.type in (DataType.BOOL, DataType.STRING):
            raise ValueError(f"a {self.type} cannot be a counter")
        return self

    @property
    def count(self) -> int:
        """How many registers (or bits) the field spans."""
        if self.function.is_bit:
            return 1
        if self.type is DataType.STRING:
            assert self.length is not None
            return self.length
        return REGISTERS_PER_TYPE[self.type]

    @property
    def is_counter(self) -> bool:
        return self.counter is not False


class Limits(_Strict):
    max_registers_per_request: int = PydanticField(default=125, ge=1, le=125)
    max_bits_per_request: int = PydanticField(default=2000, ge=1, le=2000)
    even_alignment: bool = False
    pause_between_requests_ms: int = PydanticField(default=0, ge=0, le=10_000)
    one_request_per_field: bool = False
    max_gap_registers: int = PydanticField(
        default=0, ge=0, le=124, description="unused registers a request may bridge"
    )


class SerialDefaults(_Strict):
    baudrate: int = PydanticField(default=9600, ge=300, le=921_600)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class Signature(_Strict):
    """A register whose value identifies the model (used by ``eclor edge scan``)."""

    function: Function
    address: int = PydanticField(ge=0, le=65536)
    type: DataType
    word_order: Literal["big", "little"] = "big"
    length: int | None = PydanticField(default=None, ge=1, le=123)
    scale: float = 1.0
    min: float | None = None
    max: float | None = None
    equals: float | str | None = None


class Writable(_Strict):
    name: Name
    function: Literal["coil", "holding_register"]
    address: int = PydanticField(ge=0, le=65536)
    type: DataType = DataType.BOOL
    min: float | None = None
    max: float | None = None


class Profile(_Strict):
    model: str = PydanticField(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    manufacturer: str
    description: str = ""
    measurement: Name
    serial: SerialDefaults = SerialDefaults()
    default_unit_id: int = PydanticField(default=1, ge=0, le=247)
    addressing: Literal["zero_based", "one_based"] = "zero_based"
    limits: Limits = Limits()
    fields: list[Field] = PydanticField(min_length=1)
    identify: list[Signature] = []
    writable: list[Writable] = []

    @model_validator(mode="after")
    def _resolve_addresses(self) -> Self:
        base = 1 if self.addressing == "one_based" else 0
        names: set[str] = set()
        for field in self.fields:
            if field.name in names:
                raise ValueError(f"field {field.name!r} is defined twice")
            names.add(field.name)
            protocol = field.address - base
            if protocol < 0 or protocol + field.count > 65536:
                raise ValueError(f"field {field.name!r}: address {field.address} out of range")
            object.__setattr__(field, "protocol_address", protocol)
        return self

    @model_validator(mode="after")
    def _fields_fit_one_request(self) -> Self:
        """Each field must fit one request, or the read planner could never read it."""
        for field in self.fields:
            bits = field.function.is_bit
            align = 2 if self.limits.even_alignment and not bits else 1
            largest = (
                self.limits.max_bits_per_request if bits else self.limits.max_registers_per_request
            )
            largest -= largest % align
            start = field.protocol_address - field.protocol_address % align
            end = field.protocol_address + field.count
            end += (-end) % align
            if end - start > largest:
                unit = "bits" if bits else "registers"
                raise ValueError(
                    f"field {field.name!r} spans {end - start} {unit} from {start} but this "
                    f"device reads at most {largest} per request (limits)"
                )
        return self

    def field_named(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)


def load_profile(path: Path) -> Profile:
    profile = load_yaml_model(path, Profile)
    if profile.model != path.stem:
        raise ConfigError(
            str(path), "model", profile.model, f"must match the file name {path.stem!r}"
        )
    return profile


def load_profiles(directory: Path) -> dict[str, Profile]:
    """Every ``*.yaml`` profile in ``directory``, by model name."""
    if not directory.is_dir():
        raise ConfigError(str(directory), "", None, "profile directory not found")
    return {path.stem: load_profile(path) for path in sorted(directory.glob("*.yaml"))}


def default_profiles_dir() -> Path:
    """The profiles shipped with Eclor: the source tree's, else the installed copy."""
    source = Path(__file__).resolve().parents[1] / "firmware_configs" / "profiles"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "eclor" / "profiles"
