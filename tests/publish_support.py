"""Test helpers for the publish tests (no tests here): a SQLite store with
two scans of hand-built attributions judged with the shipped knowledge base
— municipalities that match the shared boundary list, a move between the
scans, hostile organisation names and hostile DNS text with canaries."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_report_support import HOSTILE_ORG, HOSTILE_TXT, dom, ev, svc

GEO_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "geo"
if not GEO_DIR.is_dir():
    GEO_DIR = Path("/work/shared/data/geo")

CANARY_SCRIPT = "<script>document.body.setAttribute('data-pwned','script')</script>"
CANARY_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
CANARY_SVG = "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>"
HOSTILE_ORG2 = "Gemeente <script>document.body.setAttribute('data-pwned','org')</script>\u202e"
BIDI = "evil\u202etxt.exe"


def _ms(domain: str, cat: str):
    return svc(cat, "microsoft", name="Microsoft",
               evidence=[ev(domain, "MX", f"0 {domain.replace('.', '-')}.mail.protection.outlook.com")])


def records(new: bool = True) -> list:
    """One scan's attributions; ``new=False`` is the earlier scan."""
    kpn = lambda c: svc(c, "kpn", name="KPN")  # noqa: E731
    google = lambda c: svc(c, "google", name="Google")  # noqa: E731
    transip = lambda c: svc(c, "transip", name="TransIP")  # noqa: E731
    hostile_ev = [ev("hostile.nl", "TXT", v) for v in (HOSTILE_TXT, CANARY_SCRIPT, CANARY_IMG, CANARY_SVG, BIDI)]
    out = [
        dom("almere.nl", "Gemeente Almere", "gemeente",
            {"mailbox": _ms("almere.nl", "mailbox") if new else transip("mailbox"),
             "mail_inbound": _ms("almere.nl", "mail_inbound") if new else transip("mail_inbound"),
             "dns": transip("dns"), "web": transip("web")}),
        dom("gemeente.groningen.nl", "Gemeente Groningen", "gemeente",
            {"mailbox": _ms("gemeente.groningen.nl", "mailbox"), "dns": kpn("dns"), "web": kpn("web")}),
        dom("utrecht.nl", "Gemeente Utrecht", "gemeente",
            {"mailbox": google("mailbox"), "dns": svc("dns", "self", "self")}),
        dom("amsterdam.nl", "Gemeente Amsterdam", "gemeente",
            {"mailbox": kpn("mailbox"), "dns": kpn("dns"), "web": svc("web", None, "unknown")}),
        dom("heemstede.nl", "Gemeente Heemstede", "gemeente",
            {c: svc(c, None, "error") for c in ("web", "dns", "mailbox")}, status="error"),
        dom("gemeente-nergens.nl", "Gemeente Nergensland", "gemeente", {"mailbox": kpn("mailbox")}),
        dom("ziekenhuis-b.nl", "Ziekenhuis B", "zorg",
            {"mailbox": _ms("ziekenhuis-b.nl", "mailbox"), "dns": svc("dns", "cloudflare", name="Cloudflare")}),
        dom("hostile.nl", HOSTILE_ORG, "stichting",
            {"web": kpn("web"), "dns": svc("dns", "kpn", name="KPN", evidence=hostile_ev)},
            saas=[svc("saas", "mystery", evidence=[ev("hostile.nl", "TXT", HOSTILE_TXT)])]),
        dom("hostile2.nl", HOSTILE_ORG2, "gemeente", {"dns": kpn("dns")}),
        dom("gone.nl", "Gemeente Weg", "gemeente", {}, status="nxdomain"),
        dom("orphan.nl", None, None, {"web": transip("web")}),
    ]
    if not new:
        out = [r for r in out if r.domain != "orphan.nl"]
    return out


def store_with_two_scans(tmp_path: Path, old_only: tuple[str, ...] = (), extra: tuple = ()):
    """(db path, store, new scan id); ``old_only``: domains in the earlier scan only (removed from
    the input before the later one); ``extra``: more records, in both scans."""
    from stekker import kb as K
    from stekker.store import Store

    kb = K.load()
    db = tmp_path / "site.db"
    st = Store.open(str(db))
    sid = None
    for label, new in (("old", False), ("new", True)):
        sid = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="ab" * 32,
                             resolvers=["127.0.0.1:53"], options={}, label=label)
        recs = records(new) + list(extra)
        if not new:
            recs += [dom(d, "Gemeente Weg", "gemeente", {"mailbox": svc("mailbox", "kpn", name="KPN")}) for d in old_only]
        st.add_targets(sid, [{"domain": r.domain, "organisation": r.organisation, "sector": r.sector}
                             for r in recs])
        st.finish_scan(sid, "finished")
        st.save_attributions(sid, kb.version, [replace(r, kb_version=kb.version).to_dict() for r in recs])
    return db, st, sid


EXPLANATIONS = """\
- domain: almere.nl
  category: mailbox
  text: "We move to a Dutch mail platform in 2027. <b>not bold</b>"
  by: CIO Almere
  date: 2026-11-01
"""
