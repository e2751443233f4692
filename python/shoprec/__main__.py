"""``python -m shoprec``: the ``shoprec`` command."""

from .cli import main_exit

main_exit()
