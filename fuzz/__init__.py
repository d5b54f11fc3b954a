"""Coverage-guided fuzzing (atheris) of the wire decoder, Modbus decoding and planning, and configs.

Each target in :mod:`fuzz.targets` has a pure ``one_input(data)`` that raises only on a real finding
(an exception the code under test must never let out, or a broken invariant), and a ``main()`` that
hands it to atheris. ``python -m fuzz run --target NAME --seconds S`` runs one under libFuzzer in a
subprocess and reports executions and findings; see docs/fuzzing.md.
"""
