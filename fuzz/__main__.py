"""Command line: ``python -m fuzz run --target NAME --seconds S``, ``reproduce``, ``seeds``."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from fuzz.targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="fuzz one target under libFuzzer")
    run.add_argument("--target", choices=TARGETS, required=True)
    run.add_argument("--seconds", type=int, default=30)
    run.add_argument("--workdir", type=Path, help="keep the grown corpus and crashes here")
    again = commands.add_parser("reproduce", help="run one input through a target, in-process")
    again.add_argument("--target", choices=TARGETS, required=True)
    again.add_argument("files", type=Path, nargs="+")
    commands.add_parser("seeds", help="regenerate fuzz/corpus/ from the docs and shipped configs")
    args = parser.parse_args(argv)
    if args.command == "run":
        from fuzz.runner import run as run_target

        result = run_target(args.target, args.seconds, args.workdir)
        print(result.summary())
        if result.returncode and not result.findings:
            print(result.output[-4000:], file=sys.stderr)
        return 1 if result.findings or result.returncode else 0
    if args.command == "reproduce":
        target = importlib.import_module(f"fuzz.targets.{args.target}")
        for path in args.files:
            target.one_input(path.read_bytes())
            print(f"{path}: no finding")
        return 0
    from fuzz.seeds import main as write_seeds

    write_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
