"""``stekker serve``: the site's pages and API live, read-only, from one
judged scan held in memory (an ASGI app on Starlette, run by uvicorn).

Only GET and HEAD; every response carries the site's Content-Security-Policy
as a header (plus ``frame-ancestors 'none'``), ``X-Content-Type-Options:
nosniff`` and no cookies.  The API adds filtering and pages
(``?sector=&provider=&limit=&offset=``) to the documents the static site
writes at the same paths.
"""

from __future__ import annotations

import json
from typing import Any

from .api import openapi
from .pages import CSP_HEADER, NotFound, Site

HEADERS = {"Content-Security-Policy": CSP_HEADER, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def _allowed_params(path: str) -> dict[str, dict[str, Any]]:
    spec = openapi("")["paths"]
    item = spec.get(path)
    if item is None:
        return {}
    return {p["name"]: p["schema"] for p in item["get"].get("parameters", []) if p["in"] == "query"}


def create_app(site: Site):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import RedirectResponse, Response
    from starlette.routing import Route

    def error(status: int, message: str, api: bool) -> Response:
        if api:
            return Response(json.dumps({"error": message}), status, media_type="application/json", headers=HEADERS)
        return Response(f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title>"
                        f"</head><body><main><h1>{status}</h1><p>{message}</p></main></body></html>", status,
                        media_type="text/html", headers=HEADERS)

    async def handle(request: Request) -> Response:
        path = request.url.path
        api = path.startswith("/api/")
        if path in ("/nl", "/en") or (path.count("/") >= 2 and not path.endswith("/") and "." not in
                                       path.rsplit("/", 1)[-1] and not api):
            return RedirectResponse(path + "/", 308, headers=HEADERS)
        if path.endswith("/index.html") and path != "/index.html":
            path = path[: -len("index.html")]
        params: dict[str, str] = {}
        if api:
            allowed = _allowed_params(path)
            for k, v in request.query_params.items():
                if k not in allowed:
                    continue
                schema = allowed[k]
                if schema.get("type") == "integer":
                    if not (v.isascii() and v.isdigit()) or int(v) > schema.get("maximum", 10**9):
                        return error(400, f"{k} must be a whole number from 0 to {schema.get('maximum')}", True)
                elif len(v) > schema.get("maxLength", 200):
                    return error(400, f"{k} is too long", True)
                params[k] = v
        try:
            doc = site.render(path, params)
        except NotFound:
            return error(404, "not found", api)
        body = b"" if request.method == "HEAD" else doc.body
        headers = dict(HEADERS)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(doc.body))
        return Response(body, 200, media_type=doc.media_type, headers=headers)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "HEAD"])])
