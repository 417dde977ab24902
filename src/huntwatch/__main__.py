"""``python -m huntwatch``: the same as the ``huntwatch`` command."""

from huntwatch.cli import main

main()
