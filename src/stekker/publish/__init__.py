"""Publish: a static site (``stekker site``), the same pages live
(``stekker serve``) and a read-only JSON API, from one judged scan.

* :mod:`stekker.publish.model` — the one module that reads judged results
  (report/judge) and turns them into page data;
* :mod:`stekker.publish.pages` — every page and document by path (one Jinja
  environment, CSP, CSV/JSON), used by both ways of running;
* :mod:`stekker.publish.site` — the static writer;
* :mod:`stekker.publish.serve` — the ASGI app (Starlette);
* :mod:`stekker.publish.geo` — the municipality map as SVG;
* :mod:`stekker.publish.api` — the OpenAPI description.

docs/PUBLISH.md describes URLs, API, data and the security policy.
"""

from __future__ import annotations

from .model import Model

__all__ = ["Model"]
