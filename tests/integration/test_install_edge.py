"""`pip install .[edge]` in a clean venv gives a working gateway CLI and nothing of the cloud."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def edge_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("edge-venv")
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", f"{ROOT}[edge]"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return target


@pytest.mark.integration
def test_edge_extra_brings_no_cloud_libraries(edge_venv: Path) -> None:
    code = "import importlib.util as u; print([m for m in ('fastapi', 'sqlalchemy', 'uvicorn', "
    code += "'grafana_client', 'influxdb_client') if u.find_spec(m)])"
    out = subprocess.run(
        [edge_venv / "bin" / "python", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_edge_help_works(edge_venv: Path) -> None:
    out = subprocess.run(
        [edge_venv / "bin" / "eclor", "edge", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "gateway" in out.stdout


@pytest.mark.integration
def test_cloud_help_names_the_extra_to_install(edge_venv: Path) -> None:
    out = subprocess.run(
        [edge_venv / "bin" / "eclor", "cloud", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "pip install 'eclor[cloud]'" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


@pytest.mark.integration
def test_the_wheel_ships_the_device_profiles(edge_venv: Path) -> None:
    code = (
        "from edge.profiles import default_profiles_dir, load_profiles; "
        "print(sorted(load_profiles(default_profiles_dir())))"
    )
    out = subprocess.run(
        [edge_venv / "bin" / "python", "-c", code], capture_output=True, text=True, cwd="/"
    )
    assert out.returncode == 0, out.stderr
    assert "eastron-sdm630" in out.stdout
