"""The cloud's config: broker, store, registry, API, ingest. YAML, validated as a whole.

A secret that is empty or a placeholder (``changeme``, ``secret``…) refuses to start, naming the
key. Relative paths are relative to the config file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from cloud.residents.settings import ResidentsSettings
from cloud.store.settings import StoreSettings
from eclor.config import is_placeholder, load_yaml_model
from eclor.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = "5"
    username: str | None = None
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None


class RegistryConfig(_Strict):
    url: str = "sqlite:///eclor-registry.sqlite"
    """A SQLAlchemy URL: ``sqlite:///path`` or ``postgresql+psycopg://user@host/db``."""


class PublicApiConfig(_Strict):
    """The residents' public API (issue 7): rate limits, report photos, the territory's box."""

    post_per_min: float = Field(default=6.0, gt=0)
    """Reports a client may post per minute, sustained (``post_burst`` at once)."""
    post_burst: int = Field(default=5, ge=1)
    get_per_s: float = Field(default=20.0, gt=0)
    get_burst: int = Field(default=120, ge=1)
    photo_dir: Path | None = None
    """Where report photos are kept (originals private, public copies without metadata);
    unset: reports are taken without photos."""
    max_photos: int = Field(default=3, ge=0, le=10)
    max_photo_bytes: int = Field(default=5_000_000, ge=10_000, le=50_000_000)
    bounds: tuple[float, float, float, float] | None = None
    """The territory's WGS-84 box, ``[west, south, east, north]``; reports outside are refused."""
    alert_sender: str = Field(default="alertes@eclor.example", min_length=1, max_length=200)
    """CAP ``sender`` of the alerts issued through the API."""

    @field_validator("bounds")
    @classmethod
    def _box(
        cls, value: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if value is None:
            return None
        west, south, east, north = value
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError("[west, south, east, north] in degrees, west < east, south < north")
        return value

    def api_settings(self) -> dict[str, Any]:
        """Keyword arguments of :class:`cloud.api.ApiSettings` for these options."""
        return {
            "public_post_per_min": self.post_per_min,
            "public_post_burst": self.post_burst,
            "public_get_per_s": self.get_per_s,
            "public_get_burst": self.get_burst,
            "report_photo_dir": self.photo_dir,
            "report_max_photos": self.max_photos,
            "report_max_photo_bytes": self.max_photo_bytes,
            "report_bounds": self.bounds,
            "alert_sender": self.alert_sender,
        }


class ApiConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    mqtt_public_host: str | None = None
    """The broker as enrolling gateways reach it; unset turns ``POST /api/v1/enrol`` off."""
    mqtt_public_port: int = Field(default=8883, ge=1, le=65535)
    mqtt_tls: bool = True
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    public: PublicApiConfig = PublicApiConfig()


class IngestConfig(_Strict):
    shared_group: str | None = Field(default=None, pattern=r"^[a-z0-9_-]{1,32}$")
    flush_interval_ms: int = Field(default=200, ge=10, le=10_000)
    max_batch_points: int = Field(default=5000, ge=1)
    max_pending_points: int = Field(default=100_000, ge=1000)


class CloudConfig(_Strict):
    mqtt: MqttConfig = MqttConfig()
    store: StoreSettings = StoreSettings()
    registry: RegistryConfig = RegistryConfig()
    api: ApiConfig = ApiConfig()
    ingest: IngestConfig = IngestConfig()
    residents: ResidentsSettings = ResidentsSettings()
    dead_letter_days: Annotated[int, Field(ge=1)] = 30


def load_cloud_config(path: Path) -> CloudConfig:
    config = load_yaml_model(path, CloudConfig)
    config = _resolve(config, path.parent)
    check_secrets(config, str(path))
    return config


def _resolve(config: CloudConfig, base: Path) -> CloudConfig:
    def resolve(p: Path | None) -> Path | None:
        if p is None or p.is_absolute():  # an absolute path is kept as given
            return p
        return (base / p).resolve()

    mqtt = config.mqtt.model_copy(
        update={
            "password_file": resolve(config.mqtt.password_file),
            "ca_file": resolve(config.mqtt.ca_file),
        }
    )
    sqlite = config.store.sqlite.model_copy(update={"path": resolve(config.store.sqlite.path)})
    store = config.store.model_copy(update={"sqlite": sqlite})
    url = config.registry.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{(base / url.removeprefix('sqlite:///')).resolve()}"
    registry = config.registry.model_copy(update={"url": url})
    public = config.api.public.model_copy(
        update={"photo_dir": resolve(config.api.public.photo_dir)}
    )
    api = config.api.model_copy(update={"public": public})
    return config.model_copy(
        update={"mqtt": mqtt, "store": store, "registry": registry, "api": api}
    )


def check_secrets(config: CloudConfig, source: str) -> None:
    influx = config.store.influxdb
    if influx is not None:
        for key in ("password", "token"):
            secret: SecretStr | None = getattr(influx, key)
            if secret is not None:
                _refuse_placeholder(source, f"store.influxdb.{key}", secret.get_secret_value())
    if config.mqtt.password_file is not None:
        path = config.mqtt.password_file
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                source, "mqtt.password_file", str(path), f"cannot read: {exc.strerror}"
            ) from None
        _refuse_placeholder(source, "mqtt.password_file", text, shown=str(path))


def _refuse_placeholder(source: str, key: str, secret: str, shown: str = "<hidden>") -> None:
    if is_placeholder(secret):
        raise ConfigError(
            source, key, shown, "is empty or a placeholder: set a real secret before starting"
        )


def mqtt_password(config: MqttConfig) -> str | None:
    if config.password_file is None:
        return None
    return config.password_file.read_text(encoding="utf-8").strip()
