"""Attribute: who runs each service (provider -> company -> parent -> jurisdiction).

``attribute_domain(evidence, kb, asn_table, as_of)`` is the stage's entry
point for one domain; ``attribute_scan(store, scan)`` recomputes and stores a
whole scan; ``load_attributions(store, scan)`` reads them back. See
``stekker.attribute.model`` for the result contract and docs/EXPORT.md.
"""

from stekker.attribute.engine import Summary, attribute_domain, attribute_scan, load_attributions
from stekker.attribute.model import CATEGORIES, SERVICE_STATUSES, DomainAttribution, EvidenceItem, Service

__all__ = [
    "CATEGORIES",
    "SERVICE_STATUSES",
    "DomainAttribution",
    "EvidenceItem",
    "Service",
    "Summary",
    "attribute_domain",
    "attribute_scan",
    "load_attributions",
]
