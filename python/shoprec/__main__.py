"""``python -m shoprec``: the ``shoprec`` command."""

from .cli import main_exit

if __name__ == "__main__":
    main_exit()
