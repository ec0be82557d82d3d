"""Where reference data lives: the one *data dir* that ``stekker data
update`` fills and every reader of reference data (the IP-to-ASN table in
:mod:`stekker.ipasn`, the public suffix list and manifest in
:mod:`stekker.datasets`) reads.  A leaf, so that those two modules need not
import each other for it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_data_dir"]


def default_data_dir() -> Path:
    """``$STEKKER_DATA_DIR`` or ``$XDG_DATA_HOME/stekker`` or ``~/.local/share/stekker``."""
    env = os.environ.get("STEKKER_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg).expanduser() / "stekker"
    return Path.home() / ".local" / "share" / "stekker"
