"""The process libFuzzer drives: ``python -m fuzz.launch TARGET [libFuzzer args...]``.

Our packages are imported inside ``atheris.instrument_imports`` so that coverage guides the search
through the code under test (and not through the standard library).
"""

from __future__ import annotations

import importlib
import sys

import atheris  # type: ignore[import-untyped]

from fuzz.targets import TARGETS

INSTRUMENTED = ["eclor", "edge", "cloud", "fuzz.targets"]


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(f"usage: python -m fuzz.launch {{{','.join(TARGETS)}}} [libFuzzer args...]")
    name = argv[1]
    with atheris.instrument_imports(include=INSTRUMENTED):
        target = importlib.import_module(f"fuzz.targets.{name}")
    atheris.Setup([argv[0], *argv[2:]], target.one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
