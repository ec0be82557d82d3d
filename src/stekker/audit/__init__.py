"""stekker audit: an organisation's own software inventory.

>>> from stekker.audit import load_inventory, run_audit, render_html
>>> inv = load_inventory("inventory.yaml")          # doctest: +SKIP
>>> a = run_audit(inv, kb, as_of="2026-01-01")      # doctest: +SKIP

See docs/AUDIT.md.
"""

from stekker.audit.loader import InventoryError, Problem, load as load_inventory, load_text
from stekker.audit.model import Export, Inventory, Item
from stekker.audit.report import Audit, render_html, run_audit
from stekker.audit.resolve import Resolution, load_kb, resolve, resolve_item
from stekker.audit.scenarios import concentration, cut_off, owner_change, price_doubles, run_all
from stekker.audit.seed import seed_items

__all__ = [
    "Audit", "Export", "Inventory", "InventoryError", "Item", "Problem", "Resolution",
    "concentration", "cut_off", "load_inventory", "load_kb", "load_text", "owner_change",
    "price_doubles", "render_html", "resolve", "resolve_item", "run_all", "run_audit", "seed_items",
]
