"""``python -m webapp.cli``: the same as ``sinhke``."""

from webapp.cli import main

main()
