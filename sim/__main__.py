"""``python -m sim``: the system model's command line (see :mod:`sim.cli`)."""
import sys

from .cli import main

sys.exit(main())
