"""CLI commands of the audit stage (registered on stekker.cli.app)."""

from __future__ import annotations

from stekker.cli import app  # noqa: F401
