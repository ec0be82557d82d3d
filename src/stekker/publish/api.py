"""The JSON API's OpenAPI 3.1 description (written once, as data).

``stekker serve`` serves it at ``/api/v1/openapi.json`` and validates query
parameters against it; ``stekker site`` writes the same document and the
same JSON files (unfiltered) at the same paths.
"""

from __future__ import annotations

from typing import Any

_VERDICT = {"type": "string", "enum": ["not_sovereign", "sovereign", "none", "unknown", "error", "nxdomain"]}
_VERDICTS = {"type": "object", "additionalProperties": _VERDICT}
_PAGE = {
    "limit": {"name": "limit", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 0, "maximum": 100000}, "description": "At most this many items."},
    "offset": {"name": "offset", "in": "query", "required": False,
               "schema": {"type": "integer", "minimum": 0, "maximum": 10000000}, "description": "Skip this many items."},
    "sector": {"name": "sector", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
               "description": "Only this sector (its id from /api/v1/sectors.json)."},
    "provider": {"name": "provider", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
                 "description": "Only domains using this provider (its id from /api/v1/providers.json)."},
}
_NOT_FOUND = {"description": "No such item in this scan",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_BAD = {"description": "Invalid query parameter",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _list(kind: str, item: dict[str, Any], params: list[str]) -> dict[str, Any]:
    return {"get": {
        "operationId": f"list_{kind}", "summary": f"All {kind} of the scan",
        "parameters": [_PAGE[p] for p in params],
        "responses": {"200": {"description": "A page of items", "content": {"application/json": {"schema": {
            "type": "object", "required": ["kind", "scan", "total", "offset", "items"],
            "properties": {"kind": {"type": "string"}, "scan": {"type": ["integer", "string", "null"]},
                           "total": {"type": "integer", "minimum": 0}, "offset": {"type": "integer", "minimum": 0},
                           "limit": {"type": ["integer", "null"]}, "items": {"type": "array", "items": item}}}}}},
                      "400": _BAD}}}


def _one(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "operationId": f"get_{kind}", "summary": f"One item of {kind}",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$", "maxLength": 200}}],
        "responses": {"200": {"description": "The item", "content": {"application/json": {"schema": schema}}},
                      "404": _NOT_FOUND}}}


def openapi(version: str) -> dict[str, Any]:
    share = {"type": ["number", "null"]}
    org = {"type": "object", "required": ["id", "name", "verdicts"],
           "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "verdicts": _VERDICTS,
                          "domains": {"type": "array", "items": {"type": "string"}}}}
    dom = {"type": "object", "required": ["domain", "status", "verdicts"],
           "properties": {"domain": {"type": "string"}, "status": {"type": "string"},
                          "organisations": {"type": "array", "items": {"type": "string"}},
                          "sectors": {"type": "array", "items": {"type": "string"}}, "verdicts": _VERDICTS,
                          "providers": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}}}
    prov = {"type": "object", "required": ["id", "name", "domains"],
            "properties": {"id": {"type": "string"}, "key": {"type": "string"}, "name": {"type": "string"},
                           "domains": {"type": "integer"}, "denominator": {"type": "integer"}, "share": share,
                           "company": {"type": ["string", "null"]}, "parent": {"type": ["string", "null"]},
                           "jurisdiction": {"type": ["string", "null"]},
                           # every company that controls it at the top: several in joint control (then
                           # no single jurisdiction); the display name "parent" joins them with " + "
                           "parents": {"type": "array", "items": {"type": "object", "required": ["id", "name"],
                                       "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                      "country": {"type": ["string", "null"]}}}},
                           "joint_control": {"type": "boolean"},
                           # providers.json only
                           "own_infrastructure": {
                               "type": "boolean",
                               "description": "true for the row 'own infrastructure' (id 'self'): domains that run a "
                                              "service on their own name or network, counted like a provider as "
                                              "the report counts them; it has no document of its own"}}}
    sec = {"type": "object", "required": ["id", "name", "domains", "tallies"],
           "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "domains": {"type": "integer"},
                          "tallies": {"type": "object"}}}
    dependents = {"type": "array", "items": {"type": "object", "required": ["domain", "categories"], "properties": {
        "domain": {"type": "string"}, "categories": {"type": "array", "items": {"type": "string"}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "stekker API", "version": version,
                 "description": "Read-only results of one stekker scan: who runs which service of each domain, "
                                "and the verdict under each definition of sovereign. The static site writes the "
                                "same documents at the same paths (without filtering or pages). docs/PUBLISH.md"},
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/scan.json": {"get": {"operationId": "scan", "summary": "The scan: dates, versions, tallies",
                                          "responses": {"200": {"description": "The scan", "content": {
                                              "application/json": {"schema": {"type": "object",
                                                                              "required": ["scan", "domains"]}}}}}}},
            "/api/v1/changes.json": {"get": {"operationId": "changes",
                                             "summary": "Changes since the previous scan (report/compare.py)",
                                             "responses": {"200": {"description": "The changes", "content": {
                                                 "application/json": {"schema": {
                                                     "type": "object", "required": ["changes", "verdict_changes"],
                                                     "properties": {"changes": {"type": "array"},
                                                                    "verdict_changes": {"type": "array"}}}}}}}}},
            "/api/v1/organisations.json": _list("organisations", org, ["sector", "limit", "offset"]),
            "/api/v1/domains.json": _list("domains", dom, ["sector", "provider", "limit", "offset"]),
            "/api/v1/providers.json": _list("providers", prov, ["limit", "offset"]),
            "/api/v1/parents.json": _list("parents", prov, ["limit", "offset"]),
            "/api/v1/sectors.json": _list("sectors", sec, ["limit", "offset"]),
            "/api/v1/organisations/{id}.json": _one("organisations", {
                "type": "object", "required": ["id", "name", "verdicts", "domains"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "verdicts": _VERDICTS,
                               "domains": {"type": "array", "items": dom}}}),
            "/api/v1/domains/{id}.json": _one("domains", {
                "type": "object", "required": ["domain", "verdicts", "dependencies"],
                "properties": {"dependencies": {"type": "array", "items": {
                    "type": "object", "required": ["category", "status", "note"],
                    "properties": {"category": {"type": "string"}, "status": {"type": "string"},
                                   "basis": {"type": ["string", "null"]},
                                   "service_kind": {"type": ["string", "null"]},
                                   "note": {"type": ["string", "null"],
                                            "description": "what to keep in mind: weak evidence only, an "
                                                           "identity provider not recognised, ..."}}}}}}),
            "/api/v1/providers/{id}.json": _one("providers", {**prov, "properties": {
                **prov["properties"], "dependents": dependents}}),
            "/api/v1/parents/{id}.json": _one("parents", {**prov, "properties": {
                **prov["properties"], "dependents": dependents}}),
            "/api/v1/sectors/{id}.json": _one("sectors", sec),
        },
        "components": {"schemas": {"Error": {"type": "object", "required": ["error"],
                                             "properties": {"error": {"type": "string"}}}}},
    }
