"""Config keys of the residents' public API: paths next to the file, the territory box checked,
and the keyword arguments they give ``ApiSettings``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cloud.api import ApiSettings
from cloud.config import load_cloud_config
from eclor.errors import ConfigError


def write(tmp_path: Path, public: dict[str, object]) -> Path:
    target = tmp_path / "cloud.yaml"
    target.write_text(yaml.safe_dump({"api": {"public": public}}))
    return target


def test_public_options_reach_the_api_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"photo_dir": "photos", "bounds": [5.7, 49.3, 6.2, 49.6], "post_burst": 2},
    )
    public = load_cloud_config(path).api.public
    assert public.photo_dir == (tmp_path / "photos").resolve()
    settings = ApiSettings(**public.api_settings())
    assert settings.report_photo_dir == (tmp_path / "photos").resolve()
    assert settings.report_bounds == (5.7, 49.3, 6.2, 49.6)
    assert settings.public_post_burst == 2


def test_defaults_take_no_photos_and_any_position(tmp_path: Path) -> None:
    settings = ApiSettings(**load_cloud_config(write(tmp_path, {})).api.public.api_settings())
    assert settings.report_photo_dir is None
    assert settings.report_bounds is None


@pytest.mark.parametrize(
    "bounds",
    [[49.3, 5.7, 49.6, 6.2, 1.0], [6.2, 49.3, 5.7, 49.6], [5.7, 95.0, 6.2, 96.0]],
)
def test_a_bad_box_is_refused_naming_the_key(tmp_path: Path, bounds: list[float]) -> None:
    with pytest.raises(ConfigError, match="bounds"):
        load_cloud_config(write(tmp_path, {"bounds": bounds}))
