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
    "sector": {"name": "sector", "in": "query", "required": False,
               "schema": {"type": "string", "minLength": 1, "maxLength": 200},
               "description": "Only this sector: its id from /api/v1/sectors.json (or its name), matched without "
                              "regard to case (`Gemeente` is `gemeente`). A value that names no sector of this "
                              "scan is a 404 saying so, never an empty list; an empty value is a 400."},
    "provider": {"name": "provider", "in": "query", "required": False,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                 "description": "Only domains using this provider (a service runs there; a verification token "
                                "alone does not count, as in the provider's own document): its id from "
                                "/api/v1/providers.json (`self`: "
                                "the organisation's own infrastructure), matched without regard to case "
                                "(`Microsoft` is `microsoft`). A value that names no provider of this scan is a "
                                "404 saying so, never an empty list; an empty value is a 400."},
}
_NOT_FOUND = {"description": "No such item in this scan",
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NO_SUCH = {"description": "A filter value that names no sector or provider of this scan",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_BAD = {"description": "A query parameter the document does not take (the error lists those it accepts in "
                       "`accepted`), one given twice, or a bad value",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}

_COUNT = {"type": "integer", "minimum": 0}
_ACCOUNT_NOTE = ("existing domains whose apex could be resolved that run at least one service there; a domain "
                 "that shows only an account there (a verification token) is not counted "
                 "(account_only), as in the report")
# one group's verdicts under one definition (report/aggregate.py Tally): domains in scan.json's
# "domains" and a sector's "tallies", organisations in scan.json's "organisations"
TALLY = {
    "type": "object", "required": ["not_sovereign", "sovereign", "none", "unknown", "error", "nxdomain", "total",
                                   "decided", "share"],
    "description": "How many of the group were given each verdict under one definition (the key above it: a "
                   "definition's id from `policies`).",
    "properties": {
        "not_sovereign": {**_COUNT, "description": "Not sovereign: at least one dependency fails the definition "
                                                   "(the finding the share counts)."},
        "sovereign": {**_COUNT, "description": "Sovereign: every dependency judged passes the definition."},
        "none": {**_COUNT, "description": "No dependency seen that the definition looks at (nothing to fail); "
                                          "counted as decided."},
        "unknown": {**_COUNT, "description": "Not decided: the knowledge base lacks a fact the definition needs "
                                             "(e.g. who controls a provider). Left out of the share."},
        "error": {**_COUNT, "description": "Not measured: a DNS error. Left out of the share."},
        "nxdomain": {**_COUNT, "description": "The domain does not exist (for an organisation: none of its "
                                              "domains does). Left out of the share."},
        "total": {**_COUNT, "description": "All of the group: the six counts above added up."},
        "decided": {**_COUNT, "description": "Those whose answer is known: not_sovereign + sovereign + none."},
        "share": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                  "description": "not_sovereign / decided, rounded to 6 decimals: the share NOT sovereign "
                                 "(dependent) among those whose answer is known under this definition. Not the "
                                 "share sovereign, and not of the total: unknown, error and nxdomain are left "
                                 "out. null when decided is 0."},
    },
}
_TALLIES = {"type": "object", "additionalProperties": TALLY,
            "description": "One tally per definition, keyed by the definition's id."}
_TEXT = {"type": "object", "additionalProperties": {"type": "string"}, "description": "Text by language (en, nl)."}
_SCAN = {
    "type": "object",
    "required": ["scan", "as_of", "kb_version", "policies", "domains", "organisations", "status"],
    "properties": {
        "scan": {"type": "object", "description": "The scan published.",
                 "properties": {"scan_id": {"type": ["integer", "string", "null"]},
                                "label": {"type": ["string", "null"]},
                                "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]},
                                "state": {"type": ["string", "null"],
                                          "description": "finished, or why the result is partial"},
                                "tool_version": {"type": ["string", "null"]},
                                "kb_version": {"type": ["string", "null"]}}},
        "as_of": {"type": "string", "description": "The day whose ownership facts the verdicts use (YYYY-MM-DD)."},
        "kb_version": {"type": ["string", "null"],
                       "description": "The knowledge base the labels and verdicts rest on (a scan can be attributed "
                                      "again under another: quote it with a label)."},
        "policies": {"type": "array", "description": "The definitions of sovereign, in the report's order.",
                     "items": {"type": "object", "required": ["id", "name", "summary"],
                               "properties": {"id": {"type": "string"}, "name": _TEXT, "summary": _TEXT}}},
        "domains": {**_TALLIES, "description": "The domains' verdicts, one tally per definition (its id)."},
        "organisations": {**_TALLIES, "description": "The organisations' verdicts (over their domains), one tally "
                                                     "per definition."},
        "status": {"type": "object", "additionalProperties": _COUNT,
                   "description": "Domains by measurement: ok, error (a DNS error), nxdomain (does not exist)."},
    },
}
_CHANGE = {"type": "object", "required": ["kind", "domain", "organisations", "category", "old", "new"],
           "properties": {"kind": {"type": "string",
                                   "enum": ["moved", "new", "vanished", "not_comparable", "existence"],
                                   "description": "moved: another provider; new / vanished: a dependency that "
                                                  "appeared or went; existence: the domain stopped or started to "
                                                  "exist; not_comparable: not measured in one of the scans"},
                          "domain": {"type": "string"}, "organisations": {"type": "array", "items": {"type": "string"}},
                          "category": {"type": "string", "description": "the service (or `domain`, `host`)"},
                          "old": {"type": ["string", "null"], "description": "provider id or state before"},
                          "new": {"type": ["string", "null"], "description": "provider id or state after"},
                          "old_name": {"type": ["string", "null"]}, "new_name": {"type": ["string", "null"]},
                          "host": {"type": ["string", "null"]}}}
_VERDICT_CHANGE = {"type": "object", "required": ["domain", "organisations", "policy", "old", "new"],
                   "properties": {"domain": {"type": "string"},
                                  "organisations": {"type": "array", "items": {"type": "string"}},
                                  "policy": {"type": "string", "description": "the definition's id"},
                                  "old": _VERDICT, "new": _VERDICT}}
_CHANGES = {"type": "object",
            "required": ["old", "new", "common_domains", "added_domains", "removed_domains", "changes",
                         "verdict_changes"],
            "properties": {"old": {"type": ["string", "null"], "description": "the scan compared with (null: none)"},
                           "new": {"type": "string"}, "common_domains": _COUNT,
                           "added_domains": {"type": "array", "items": {"type": "string"},
                                             "description": "added to the input: a change of the list, not of "
                                                            "dependence"},
                           "removed_domains": {"type": "array", "items": {"type": "string"}},
                           "changes": {"type": "array", "items": _CHANGE},
                           "verdict_changes": {"type": "array", "items": _VERDICT_CHANGE}}}


def _list(kind: str, item: dict[str, Any], params: list[str]) -> dict[str, Any]:
    return {"get": {
        "operationId": f"list_{kind}", "summary": f"All {kind} of the scan",
        "parameters": [_PAGE[p] for p in params],
        "responses": {"200": {"description": "A page of items", "content": {"application/json": {"schema": {
            "type": "object", "required": ["kind", "scan", "total", "offset", "items"],
            "properties": {"kind": {"type": "string"}, "scan": {"type": ["integer", "string", "null"]},
                           "total": {"type": "integer", "minimum": 0}, "offset": {"type": "integer", "minimum": 0},
                           "limit": {"type": ["integer", "null"]}, "items": {"type": "array", "items": item}}}}}},
                      "400": _BAD, **({"404": _NO_SUCH} if any(p in ("sector", "provider") for p in params) else {})}}}


def _one(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "operationId": f"get_{kind}", "summary": f"One item of {kind}",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$", "maxLength": 200}}],
        "responses": {"200": {"description": "The item", "content": {"application/json": {"schema": schema}}},
                      "400": _BAD, "404": _NOT_FOUND}}}


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
                           "domains": {"type": "integer", "description": _ACCOUNT_NOTE},
                           "account_only": {"type": "integer", "description": "domains that show only an account "
                                            "at it (a verification token), counted apart"},
                           "denominator": {"type": "integer"}, "share": share,
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
                                              "the report counts them; its document (providers/self.json) lists "
                                              "them, and it has no page"}}}
    sec = {"type": "object", "required": ["id", "name", "domains", "tallies"],
           "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "domains": {"type": "integer"},
                          "tallies": {**_TALLIES, "description": "The sector's domains' verdicts, one tally per "
                                                                 "definition."}}}
    dependents = {"type": "array", "items": {"type": "object", "required": ["domain", "categories"], "properties": {
        "domain": {"type": "string"}, "categories": {"type": "array", "items": {"type": "string"}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "stekker API", "version": version,
                 "description": "Read-only results of one stekker scan: who runs which service of each domain, "
                                "and the verdict under each definition of sovereign. Every share is "
                                "not_sovereign / decided: the share dependent among those whose answer is known. "
                                "A query parameter a document does not list is a 400 naming those it accepts. The "
                                "static site writes the same documents at the same paths (without filtering or "
                                "pages). docs/PUBLISH.md"},
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/scan.json": {"get": {"operationId": "scan", "summary": "The scan: dates, versions, tallies",
                                          "responses": {"200": {"description": "The scan", "content": {
                                              "application/json": {"schema": _SCAN}}}, "400": _BAD}}},
            "/api/v1/changes.json": {"get": {"operationId": "changes",
                                             "summary": "Changes since the previous scan (report/compare.py)",
                                             "responses": {"200": {"description": "The changes", "content": {
                                                 "application/json": {"schema": _CHANGES}}}, "400": _BAD}}},
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
                                             "properties": {"error": {"type": "string"},
                                                            "accepted": {"type": "array", "items": {"type": "string"},
                                                                         "description": "the query parameters the "
                                                                                        "document accepts"}}}}},
    }
