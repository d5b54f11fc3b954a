from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cloud.config import load_cloud_config
from eclor.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[3] / "firmware_configs" / "cloud"


def test_small_site_example_resolves_paths_next_to_the_file(tmp_path: Path) -> None:
    target = tmp_path / "small.yaml"
    target.write_text((EXAMPLES / "small-site.yaml").read_text())
    config = load_cloud_config(target)
    assert config.store.influxdb is None
    assert config.store.sqlite.path == (tmp_path / "eclor-timeseries.sqlite").resolve()
    assert config.registry.url == f"sqlite:///{(tmp_path / 'eclor-registry.sqlite').resolve()}"


def test_production_example_loads_once_its_secret_exists(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "cloud.yaml").read_text())
    secret = tmp_path / "ingest.secret"
    secret.write_text("9f8e7d-real-generated-secret")
    doc["mqtt"]["password_file"] = str(secret)
    target = tmp_path / "cloud.yaml"
    target.write_text(yaml.safe_dump(doc))
    config = load_cloud_config(target)
    assert config.ingest.shared_group == "ingest"
    assert config.store.influxdb is not None


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (
            {"store": {"influxdb": {"url": "http://x:8086", "token": "changeme"}}},
            "store.influxdb.token",
        ),
        (
            {
                "store": {
                    "influxdb": {"url": "http://x:8086", "username": "u", "password": "secret"}
                }
            },
            "store.influxdb.password",
        ),
        ({"mqtt": {"password_file": "mqtt.secret"}}, "mqtt.password_file"),
    ],
)
def test_a_placeholder_secret_refuses_to_start_and_says_where(
    tmp_path: Path, section: dict[str, object], key: str
) -> None:
    (tmp_path / "mqtt.secret").write_text("CHANGEME\n")
    target = tmp_path / "cloud.yaml"
    target.write_text(yaml.safe_dump(section))
    with pytest.raises(ConfigError, match="placeholder") as caught:
        load_cloud_config(target)
    assert caught.value.key == key
    assert "changeme" not in str(caught.value).lower() or key == "mqtt.password_file"


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    target = tmp_path / "cloud.yaml"
    target.write_text("api: {host: 127.0.0.1, prot: 80}\n")
    with pytest.raises(ConfigError) as caught:
        load_cloud_config(target)
    assert caught.value.key == "api.prot"


def test_residents_section_is_validated_and_reaches_the_jobs(tmp_path: Path) -> None:
    from cloud.residents.jobs import settings_of
    from cloud.scheduler import JobContext

    target = tmp_path / "cloud.yaml"
    target.write_text("residents: {wait_low_min: 5, wait_high_min: 15}\n")
    config = load_cloud_config(target)
    context = JobContext(None, None, None, config=config)  # type: ignore[arg-type]
    assert settings_of(context).wait_high_min == 15
    target.write_text("residents: {wait_low_min: 30, wait_high_min: 20}\n")
    with pytest.raises(ConfigError) as caught:
        load_cloud_config(target)
    assert "residents" in str(caught.value)
    assert "wait_low_min must be below wait_high_min" in str(caught.value)
