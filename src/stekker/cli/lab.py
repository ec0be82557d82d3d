"""CLI commands of the lab stage (registered on stekker.cli.app)."""

from __future__ import annotations

from stekker.cli import app  # noqa: F401
