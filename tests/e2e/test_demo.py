"""`eclor demo --for N` runs the whole chain, prints a working API URL and stored readings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_demo_stores_readings_and_serves_its_api(broker: str) -> None:
    args = [sys.executable, "-m", "eclor", "demo", "--for", "25", "--api-port", "0"]
    if broker == "embedded":
        args.append("--embedded-broker")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "TERM": "dumb"}
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    assert process.stdout is not None
    health = None
    output = []
    try:
        for line in process.stdout:
            output.append(line)
            if "API docs" in line and health is None:
                base = line.split()[-1].removesuffix("/docs")
                time.sleep(2)
                with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
                    health = response.status
        assert process.wait(timeout=60) == 0, "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
    final = next(line for line in output if line.startswith("final: "))
    summary = json.loads(final.removeprefix("final: "))
    assert health == 200
    assert summary["readings_stored"] > 0, "".join(output)
    assert summary["gateways_online"] == summary["gateways"] > 0
