"""``python -m eclor`` is the ``eclor`` command."""

from eclor.cli import main

main()
