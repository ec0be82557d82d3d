"""CLI commands of the attribute stage (registered on stekker.cli.app)."""

from __future__ import annotations

from stekker.cli import app  # noqa: F401
