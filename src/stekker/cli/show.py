"""CLI commands to look at stored evidence: ``show`` and ``export``."""

from __future__ import annotations

from stekker.cli import app  # noqa: F401
