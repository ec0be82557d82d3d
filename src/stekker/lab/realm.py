"""A loopback stand-in for Microsoft's user-realm endpoint (getuserrealm.srf).

The lab's DNS is real servers; the realm endpoint is HTTP, so the lab serves
it from a small threaded HTTP server on a loopback address.  It answers the
way the real endpoint does (JSON with ``NameSpaceType``) from a table
``domain -> "Managed" | "Federated"`` (anything else: ``Unknown``), and can
misbehave on purpose for the tests: a status code, a body that is not JSON,
an answer for another domain, a slow answer, an oversized body.

    with RealmServer({"gemeente-a.nl": "Managed"}) as srv:
        srv.url   # "http://127.0.0.1:PORT/getuserrealm.srf?login=user@{domain}&json=1"
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RealmServer:
    def __init__(self, tenants: dict[str, str], host: str = "127.0.0.1",
                 faults: dict[str, str] | None = None, auth_urls: dict[str, str | None] | None = None) -> None:
        """``faults``: domain -> ``"503"`` / ``"429"`` (that status; 429 with
        ``Retry-After: 0``), ``"garbage"`` (not JSON), ``"nested"`` (60 KB of
        ``[``: JSON nested too deep to parse), ``"other-domain"``, ``"slow"``
        (answers after 30 s), ``"huge"`` (a body over 64 KB).  ``auth_urls``:
        domain -> the ``AuthURL`` of a federated domain's answer (default: an
        own ADFS server, ``https://sts.<domain>/adfs/ls/...``; ``None``: no
        AuthURL, where the real one is not known, as for the peers' data)."""
        self.tenants = {d.lower(): v for d, v in tenants.items()}
        self.faults = {d.lower(): v for d, v in (faults or {}).items()}
        self.auth_urls = {d.lower(): v for d, v in (auth_urls or {}).items()}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                login = (q.get("login") or [""])[0]
                domain = login.rpartition("@")[2].lower()
                with outer._lock:
                    outer.requests.append(domain)
                fault = outer.faults.get(domain)
                if fault and fault.isdigit():
                    return self._send(int(fault), b"{}", {"Retry-After": "0"} if fault == "429" else None)
                if fault == "garbage":
                    return self._send(200, b"<html>not json</html>")
                if fault == "nested":
                    return self._send(200, b"[" * (60 * 1024))
                if fault == "slow":
                    time.sleep(30)
                if fault == "huge":
                    return self._send(200, b"{" + b" " * (70 * 1024) + b"}")
                ns = outer.tenants.get(domain)
                ns = ns if ns in ("Managed", "Federated") else "Unknown"
                body = {"State": 4 if ns != "Federated" else 3, "UserState": 1 if ns != "Federated" else 2,
                        "Login": login, "NameSpaceType": ns}
                if ns != "Unknown":
                    body.update({"DomainName": "other.example" if fault == "other-domain" else domain,
                                 "FederationBrandName": domain.split(".")[0],
                                 "CloudInstanceName": "microsoftonline.com"})
                if ns == "Federated":
                    auth = outer.auth_urls.get(domain, f"https://sts.{domain}/adfs/ls/?username={login}")
                    if auth is not None:
                        body["AuthURL"] = auth
                return self._send(200, json.dumps(body).encode())

            def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/getuserrealm.srf?login=user@{{domain}}&json=1"

    def start(self) -> "RealmServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="lab-realm", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "RealmServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
