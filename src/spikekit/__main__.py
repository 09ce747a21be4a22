"""``python -m spikekit``: the ``spikekit`` command (also what ``torchrun -m spikekit`` runs)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
