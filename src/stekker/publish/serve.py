"""``stekker serve``: the site's pages and API live, read-only, from one
judged scan held in memory (an ASGI app on Starlette, run by uvicorn).

Only GET and HEAD; every response carries the site's Content-Security-Policy
as a header (plus ``frame-ancestors 'none'``), ``X-Content-Type-Options:
nosniff`` and no cookies.  The API adds filtering and pages
(``?sector=&provider=&limit=&offset=``) to the documents the static site
writes at the same paths.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from typing import Any

from .api import openapi
from .pages import API as API_PREFIX
from .pages import CSP_HEADER, BadRequest, NoSuchValue, NotFound, Site

HEADERS = {"Content-Security-Policy": CSP_HEADER, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


@lru_cache(maxsize=1)
def _api_paths() -> list[tuple[re.Pattern[str], dict[str, dict[str, Any]]]]:
    """Each API path of the OpenAPI description (its ``{id}`` a path segment) with the query
    parameters it accepts, in the description's order; the description itself takes none."""
    out = [(re.compile(re.escape(API_PREFIX + "/openapi.json") + "$"), {})]
    for path, item in openapi("")["paths"].items():
        pattern = re.escape(path).replace(re.escape("{id}"), "[^/]+")
        out.append((re.compile(pattern + "$"), {p["name"]: p["schema"] for p in item["get"].get("parameters", [])
                                                if p["in"] == "query"}))
    return out


def _allowed_params(path: str) -> dict[str, dict[str, Any]] | None:
    """The query parameters an API path accepts (name -> schema); None for a path the API does
    not have (a 404, whatever its parameters)."""
    for pattern, params in _api_paths():
        if pattern.match(path):
            return params
    return None


def _unknown_param(name: str, path: str, allowed: dict[str, Any]) -> str:
    if not allowed:
        return f"unknown query parameter {name!r}: {path} takes no query parameters"
    return f"unknown query parameter {name!r}: {path} accepts {', '.join(allowed)}"


# a request path that is not one of the site's: control characters, spaces, a backslash (which
# browsers read as "/") or an empty segment ("//host" would be a link to another host if redirected)
_FOREIGN_PATH = re.compile(r"[\x00-\x20\x7f\\]|//")

_MESSAGES = {"en": {404: "Not found.", 405: "Only GET and HEAD.", 400: "Bad request.", "home": "Home"},
             "nl": {404: "Niet gevonden.", 405: "Alleen GET en HEAD.", 400: "Ongeldig verzoek.", "home": "Start"}}


# a domain's page, API document and CSV: the name in the URL as a reader may type it (münchen.de,
# HOSTILE-TXT.NL) leads to the canonical one (the A-label, lower case), never to another path
_DOMAIN_PATHS = (re.compile(r"(/(?:nl|en)/domain/)([^/]+)(/?)"), re.compile(r"(/api/v1/domains/)([^/]+)(\.json)"),
                 re.compile(r"(/data/domain/)([^/]+)(\.csv)"))


def _canonical_domain_path(site: Site, path: str) -> str | None:
    """The canonical path of a domain's page or document asked for by another spelling of its
    name, when the scan has that domain (field trial publish 12); None otherwise."""
    from stekker.targets import normalise_host

    from .model import safe_id

    for pattern in _DOMAIN_PATHS:
        m = pattern.fullmatch(path)
        if m is None:
            continue
        try:
            canon = safe_id(normalise_host(m.group(2)))
        except Exception:  # noqa: BLE001 - not a domain name at all: a plain 404
            return None
        if canon != m.group(2) and site.m.domain_by_id(canon):
            return f"{m.group(1)}{canon}{m.group(3) or '/'}"
        return None
    return None


def create_app(site: Site):
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import RedirectResponse, Response
    from starlette.routing import Route

    def error(status: int, message: str | None, api: bool, path: str = "/",
              extra: dict[str, str] | None = None, accepted: list[str] | None = None) -> Response:
        headers = dict(HEADERS, **(extra or {}))
        lang = "nl" if path.startswith("/nl/") else "en"
        text = message or _MESSAGES[lang].get(status, str(status))
        if api:
            body: dict[str, Any] = {"error": text}
            if accepted is not None:  # the parameters the document accepts
                body["accepted"] = accepted
            return Response(json.dumps(body), status, media_type="application/json", headers=headers)
        if status == 404 and message is None:  # the site's own 404 page, styled, in both languages
            return Response(site.render("/404.html").body, 404, media_type="text/html; charset=utf-8",
                            headers=headers)
        return Response(f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">"
                        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                        f"<title>{status}</title><link rel=\"stylesheet\" href=\"/static/site.css\">"
                        f"</head><body><main><h1>{status}</h1><p>{html.escape(text)}</p>"
                        f"<p><a href=\"/{lang}/\">{_MESSAGES[lang]['home']}</a></p></main></body></html>", status,
                        media_type="text/html", headers=headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Starlette's own answers (no route for the path, a method other than GET/HEAD) carry the
        # same headers as every other response and, under /api/, the documented JSON error body
        status = getattr(exc, "status_code", 500)
        path = request.scope["path"]
        extra = {"Allow": "GET, HEAD"} if status == 405 else None
        return error(status, None, path.startswith("/api/"), path, extra)

    async def handle(request: Request) -> Response:
        path = request.scope["path"]  # as sent (request.url.path drops a trailing newline: "/en/%0A" is not "/en/")
        api = path.startswith("/api/")
        if _FOREIGN_PATH.search(path):
            return error(404, None, api, path)
        if path.endswith("/index.html") and path != "/index.html":
            path = path[: -len("index.html")]
        params: dict[str, str] = {}
        allowed = _allowed_params(path) if api else None
        if allowed is not None:
            # a parameter the document does not take (a misspelt filter: ?sectr=) or one given twice
            # is refused: answering with every item would look like the filtered answer
            for k, v in request.query_params.multi_items():
                if k not in allowed:
                    return error(400, _unknown_param(k, path, allowed), True, accepted=list(allowed))
                if k in params:
                    return error(400, f"{k} is given more than once", True, accepted=list(allowed))
                schema = allowed[k]
                if schema.get("type") == "integer":
                    if not (v.isascii() and v.isdigit()) or int(v) > schema.get("maximum", 10**9):
                        return error(400, f"{k} must be a whole number from 0 to {schema.get('maximum')}", True)
                elif len(v) > schema.get("maxLength", 200):
                    return error(400, f"{k} is too long", True)
                elif len(v.strip()) < schema.get("minLength", 0):
                    # ?sector= answered with every item, as if filtered (field trial publish 14)
                    return error(400, f"{k} is empty: give a value, or leave {k} out", True, accepted=list(allowed))
                params[k] = v
        canon = _canonical_domain_path(site, path)
        if canon is not None:  # (before rendering: the static site's page for a Unicode spelling is
            return RedirectResponse(canon, 308, headers=HEADERS)  # for servers that cannot redirect)
        try:
            doc = site.render(path, params)
        except BadRequest as exc:
            return error(400, str(exc), True)
        except NoSuchValue as exc:
            return error(404, str(exc), True)
        except NotFound:
            # a page asked for without its trailing slash (/en/org/x, /en/domain/almere.nl): redirect to
            # it when it exists - only to a path of this site (no control characters, no "//")
            if not api and not path.endswith("/"):
                try:
                    site.render(path + "/", {})
                except NotFound:
                    pass
                else:
                    return RedirectResponse(path + "/", 308, headers=HEADERS)
            return error(404, None, api, path)
        body = b"" if request.method == "HEAD" else doc.body
        headers = dict(HEADERS)
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(doc.body))
        return Response(body, 200, media_type=doc.media_type, headers=headers)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "HEAD"])],
                     exception_handlers={HTTPException: http_error})
