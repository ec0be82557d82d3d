"""CLI commands for reference data (IP-to-ASN tables, public suffix list)."""

from __future__ import annotations

from stekker.cli import app  # noqa: F401
