"""kill -9 in the middle of writes: every append that returned is still there, and intact."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eclor.wire import TelemetryBatch, decode
from edge.outbox import Outbox

WRITER = """
import sys
from pathlib import Path
from eclor.wire import Reading
from edge.outbox import Outbox, OutboxLimits
box = Outbox(Path(sys.argv[1]), "cab-01", OutboxLimits(batch_max_readings=50))
n = 0
while True:
    rs = [Reading(device="m", measurement="energy", time=1764370000000 + n + i,
                  fields={"n": n + i}) for i in range(120)]
    seqs = box.append_readings(rs)
    n += 120
    print(" ".join(map(str, seqs)), flush=True)
"""


@pytest.mark.integration
@pytest.mark.parametrize("round_", range(6))
def test_appends_that_returned_survive_kill_9(tmp_path: Path, round_: int) -> None:
    path = tmp_path / "outbox.sqlite"
    rng = random.Random(round_)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    assert writer.stdout is not None
    returned: list[int] = []
    wanted = rng.randint(5, 60)
    while len(returned) < wanted:
        line = writer.stdout.readline()
        assert line, "writer died"
        returned.extend(int(s) for s in line.split())
    time.sleep(rng.random() * 0.05)  # land the kill at a random point of a later write
    writer.send_signal(signal.SIGKILL)
    writer.wait()

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    box = Outbox(path, "cab-01")
    stored = {p.seq: p for p in box.pending(100_000)}
    assert set(returned) <= set(stored), "an append that returned was lost"
    seqs = sorted(stored)
    assert seqs == list(range(1, len(seqs) + 1)), "no hole in the sequence"
    for pending in stored.values():
        assert decode(TelemetryBatch, pending.payload).seq == pending.seq
    box.close()
