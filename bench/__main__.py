"""``python -m bench``: the cold start of each handler against its floor (``--help``)."""

from __future__ import annotations

import sys

from bench.cold_start import main

if __name__ == "__main__":
    sys.exit(main())
