"""``python -m tests.chaos --seed N --minutes M``: a long chaos run; prints the table.

Exit status 0 when every invariant held, 1 otherwise. Each fault kind is injected at least
``--min-each`` times (3 by default); the rest of the time is filled with random faults.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tests.chaos.run import default_workdir, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=10.0, help="time spent injecting")
    parser.add_argument("--min-each", type=int, default=3, help="injections per fault kind")
    parser.add_argument("--workdir", type=Path, help="default: /tmp/eclor-chaos-<seed>-<time>")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    workdir = args.workdir or default_workdir(args.seed)
    print(f"chaos run in {workdir}", flush=True)
    report = run(args.seed, args.minutes * 60, workdir, args.min_each)
    print(report.table(), flush=True)
    (workdir / "report.md").write_text(report.table() + "\n", encoding="utf-8")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
