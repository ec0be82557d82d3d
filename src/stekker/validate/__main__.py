"""``python -m stekker.validate peers ...`` is ``stekker validate peers ...``:
the one CLI of the validation (cli/validate.py), run without the console
script."""

from __future__ import annotations

import sys

from stekker.cli import run

if __name__ == "__main__":
    sys.exit(run(["validate", *sys.argv[1:]]))
