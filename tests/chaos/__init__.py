"""The chaos suite (issue 10): real processes, random faults, and a ledger of every reading.

See docs/chaos.md. ``pytest tests/chaos -q`` runs a short run; ``python -m tests.chaos --seed N
--minutes M`` a long one.
"""
