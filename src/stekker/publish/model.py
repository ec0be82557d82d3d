"""The publish layer's one door to the judged results.

Every import of judging / report-aggregation code of the publish package is
in this module: it builds the report the way ``stekker report`` does
(:func:`stekker.report.load_scan` + :func:`stekker.report.build`), compares
with the previous scan through :mod:`stekker.report.compare`, and turns
the result into plain dicts (page data) that the pages, the API and the
map read.  Nothing here decides a verdict: every verdict, reason, share and
HHI is read from the report's objects; this module only selects, sorts and
formats them (with the report's own formatters, :mod:`stekker.report.figures`).

Size (over 400 lines on purpose): being the *only* door to judging code is
the point of this module (a test enforces it), so every page kind's data
selection lives here; splitting it would mean several modules importing the
judge again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
import shlex
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

import yaml

from stekker.i18n import LANGS, _
from stekker.judge.domain import LIKELY_KEY, counted_errors, deciding_categories
from stekker.text import shorten
from stekker.text import visible as _visible


def visible(value: Any, keep_newlines: bool = False) -> str:
    """:func:`stekker.text.visible`, with a fast path for the common case
    (nothing to make visible)."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return _visible(text, keep_newlines)

# The JSON API's answers to a filter value (serve's 400/404 bodies): part of the API, in English like
# its other errors, whatever the language of the user who started the server - never translated.
API_AMBIGUOUS_SECTOR = "sector {value!r} matches several sectors of this scan ({ids}); give its id"
API_NO_SECTOR = "sector {value!r} is not a sector of this scan; the ids are in /api/v1/sectors.json"
API_NO_PROVIDER = "provider {value!r} is not a provider of this scan; the ids are in /api/v1/providers.json"


CATEGORY_ORDER = ("web", "cdn", "mail_inbound", "mail_gateway", "mailbox", "mail_outbound", "dns", "office",
                  "collaboration", "identity", "saas", "host")
TABLE_LIMIT = 300  # rows of a long table on a page; the whole table is in its CSV and JSON
FAILED_SHOWN = 3  # failed questions named as the reason of a verdict 'not measured' (all of them further down)
ORG_SERVICES_LIMIT = 15  # an organisation page shows "who runs what" for this many domains (each has its page)
ORG_PAGE_ROWS = 50  # an organisation's domains per page; more go on /org/<slug>/domains/<n>/ (page weight)
ORG_SUMMARY_ROWS = 10  # providers per service in an organisation's summary; the rest is one row
SUMMARY_CATEGORIES = ("web", "cdn", "mail_inbound", "mail_gateway", "mailbox", "dns", "office", "collaboration",
                      "identity")
_STATES = ("?", "error", "absent", "nxdomain")  # why a service has no provider: the one list
MAP_CATEGORIES = ("mailbox", "mail_inbound", "web", "dns", "office")

_SLUG_BAD = re.compile(r"[^a-z0-9]+")
_ID_OK = re.compile(r"^[a-z0-9][a-z0-9._-]{0,120}$")


# ---------------------------------------------------------------------------
# ids in URLs
# ---------------------------------------------------------------------------


def slugify(name: str) -> str:
    """A stable URL part for a name: ASCII, lower case, ``-`` between words;
    a short hash of the name when nothing readable is left or the name
    carries characters the slug would hide."""
    norm = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_BAD.sub("-", norm).strip("-")[:80]
    digest = hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:8]
    if not slug:
        return f"x-{digest}"
    return slug


@lru_cache(maxsize=4096)  # provider and company ids recur on every page (bounded: domains pass through once)
def safe_id(value: str) -> str:
    """A provider / company id or domain name as a URL part: unchanged when it
    is plain (lower-case letters, digits, ``.``, ``_``, ``-``), else a slug
    with a hash (the id came from user data or a knowledge base of one's own)."""
    v = str(value).lower().replace("#", "--")
    if _ID_OK.match(v) and ".." not in v:
        return v
    return f"{slugify(v)}-{hashlib.sha256(str(value).encode('utf-8')).hexdigest()[:8]}"


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _publish_strings() -> dict[str, Any]:
    text = resources.files("stekker.publish").joinpath("data", "strings.yaml").read_text("utf-8")
    return yaml.safe_load(text)


class Text:
    """UI words in one language: the site's own strings (publish/data/
    strings.yaml), the report's words for verdicts, categories and findings,
    and the report's number formatters."""

    def __init__(self, lang: str):
        from stekker.report.render import Strings

        if lang not in LANGS:
            raise ValueError(_("unknown language {lang!r}").format(lang=lang))
        self.lang = lang
        self.other = "en" if lang == "nl" else "nl"
        self._r = Strings(lang)
        self._s = _publish_strings()["strings"]

    def __call__(self, key: str, **kw: Any) -> str:
        entry = self._s.get(key)
        if entry is None:
            try:
                return self._r(key, **kw)
            except Exception:  # noqa: BLE001 - a missing word is a bug, but never a crash of the site
                return key
        text = entry.get(self.lang) or entry["en"]
        return text.format(**kw) if kw else text

    def verdict(self, v: str) -> str:
        return self._r.verdict(v)

    def category(self, c: str) -> str:
        return self._r.category(c)

    def count(self, key: str, n: int) -> str:
        return self._r.count(key, n)

    def pct(self, x: float | None) -> str:
        from stekker.render.fmt import fmt_pct

        return fmt_pct(x, self.lang)

    def int(self, n: int | float | None) -> str:
        from stekker.render.fmt import fmt_int

        return fmt_int(n, self.lang)

    def day(self, d: _dt.date | None) -> str:
        from stekker.render.fmt import fmt_day

        return fmt_day(d, self.lang)

    def provider(self, key: str, name: str | None) -> str:
        return self._r.host_provider(key, name)

    def absent(self, category: str) -> str:
        """A domain without the category's service, in its words ("no mail (no MX)")."""
        return self._r.absent(category)

    def note(self, service: Any) -> str:
        return self._r.note(service)

    def change_side(self, key: str | None, name: str | None) -> str:
        return self._r.change_side(key, name)

    def hhi_band(self, h: float | None) -> str:
        return self._r.hhi_band(h)

    def error_kind(self, kind: Any) -> str:
        """Why a DNS question failed, in words ("servfail" -> "the name server reported a failure")."""
        return self._r.error_kind(kind)

    def basis(self, basis: str | None) -> str:
        """What a service's answer rests on (``kb``, ``network``, ``likely``, ``self``), in words."""
        entry = self._s.get(f"basis_{basis}") if basis else None
        return (entry.get(self.lang) or entry["en"]) if entry else (basis or "–")


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------


@dataclass
class Model:
    """One scan, judged, ready to be published (read-only)."""

    report: Any
    kb: Any
    scan: dict[str, Any]  # scan id, label, dates, versions
    previous: Any = None  # the previous scan's judged results when given (from_report); load() keeps none
    comparison: Any = None
    history: list[tuple[dict[str, Any], dict[str, dict[str, str]]]] = field(default_factory=list)
    contest_url: str | None = None
    contest_email: str | None = None
    publisher: str | None = None  # who publishes the site (DCAT-AP dct:publisher), as the publisher says
    licence: str | None = None  # the data's licence URL (dct:license), as the publisher says; never assumed
    site_url: str | None = None  # the site's public address, ending in "/" (the feeds' xml:base and ids)
    _by_domain: dict[str, Any] = field(default_factory=dict, repr=False)
    _dom_ids: dict[str, str] = field(default_factory=dict, repr=False)
    _verdict_cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    _org_results: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    _prov_parents: dict[str, set[str]] = field(default_factory=dict, repr=False)  # provider -> ultimate parents
    _policy_titles: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    _decides_cache: dict[str, frozenset[str]] | None = field(default=None, repr=False)
    _orgs: dict[str, str] = field(default_factory=dict, repr=False)  # slug -> organisation name
    _org_slug: dict[str, str] = field(default_factory=dict, repr=False)
    _sectors: dict[str, str] = field(default_factory=dict, repr=False)  # slug -> sector
    _providers: dict[str, Any] = field(default_factory=dict, repr=False)  # safe id -> ProviderShare
    _parents: dict[str, Any] = field(default_factory=dict, repr=False)  # safe id -> ProviderShare
    _prov_domains: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict, repr=False)
    _parent_domains: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict, repr=False)
    _parent_companies: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # parent -> {company in joint control: (that company, every parent controlling it together)}
    _parent_joint: dict[str, dict[str, tuple[Any, list[Any]]]] = field(default_factory=dict, repr=False)
    _labels: dict[str, str] | None = field(default=None, repr=False)  # the JSON records' finding labels
    _last_record: tuple[str, dict[str, Any]] | None = field(default=None, repr=False)
    _last_org: tuple[str, dict[str, Any]] | None = field(default=None, repr=False)
    _filter_ids: set[str] | None = field(default=None, repr=False)  # provider ids the API's filter knows

    # ------------------------------------------------------------- building
    @classmethod
    def load(cls, store: Any, scan_ref: Any = "latest", kb: Any = None, policies: Any = None,
             explanations: Any = None, history: int = 6, contest_url: str | None = None,
             contest_email: str | None = None) -> "Model":
        """Judge a stored scan like ``stekker report`` does, plus the previous
        scan (for the changes) and up to ``history`` scans (verdict history).

        The earlier scans are judged in a forked process while this one
        judges the scan itself (two cores: the load takes the longer of the
        two, not their sum); only their comparison states and verdicts come
        back.  When an attribution would have to be computed and stored
        first, or fork is missing, everything runs here, one after another."""
        from stekker.judge import load_policies
        from stekker.report import build, load_scan, measurement_date
        from stekker.report.compare import compare

        if kb is None:
            from stekker import kb as _kb

            kb = _kb.load()
        pols = policies if policies is not None else load_policies().select(None)
        sid = store.resolve_scan(scan_ref)
        # the changes and the verdict history rest on finished scans only: an aborted or interrupted
        # scan (a resolver that went away, Ctrl-C) measured part of its list or nothing, and compared
        # with it every domain read as "added" and the real changes were gone (explore-e H2)
        earlier = [s["id"] for s in store.list_scans()
                   if s["id"] < sid and s.get("state") == "finished"][: max(0, history - 1)]  # newest first
        job = _EarlierJob(store, kb, pols, earlier)
        pending = job.start() if earlier and _parallel_ok(store, kb, [sid, *earlier]) else None
        try:
            attributions, meta = load_scan(store, sid, kb)
            rep = build(attributions, kb, pols, measurement_date(meta), meta=meta,
                        explanations=explanations or [])
            del attributions
            first, olds = pending.get() if pending is not None else job.run()
        finally:
            job.stop()
        # a scan being published that did not finish (interrupted, still running): the domains of its
        # input it has not measured yet are "not measured in it", never "removed from the input" - as
        # `report --compare` says them (field trial F3; review: the feed named each one as removed)
        unfinished = any(getattr(w, "key", None) == "scan_unfinished" for w in meta.get("warnings") or [])
        new_input = {t["domain"] for t in store.iter_targets(sid)} if unfinished and first is not None else None
        comparison = (compare(first[1], rep.results, str(first[0]), str(sid), new_input=new_input)
                      if first is not None else None)
        hist: list[tuple[dict[str, Any], dict[str, dict[str, str]]]] = [
            (_scan_row(meta), {r.domain: r.verdict for r in rep.results}), *olds]
        m = cls(rep, kb, _scan_row(meta), None, comparison, hist, contest_url, contest_email)
        m._index()
        return m

    @classmethod
    def from_report(cls, report: Any, kb: Any, previous_results: Any = None, **kw: Any) -> "Model":
        """A model of an already built report (tests, the benchmark)."""
        from stekker.report.compare import compare

        comparison = None
        if previous_results is not None:
            comparison = compare(previous_results, report.results, "previous", str(report.meta.get("scan_id")))
        hist = [(_scan_row(report.meta), {r.domain: dict(r.verdict) for r in report.results})]
        m = cls(report, kb, _scan_row(report.meta), previous_results, comparison, hist, **kw)
        m._index()
        return m

    def _index(self) -> None:
        rep = self.report
        self._by_domain = {r.domain: r for r in rep.results}
        self._dom_ids = {safe_id(r.domain): r.domain for r in rep.results}
        self._org_results = defaultdict(list)  # Report.org_results(name) for every name at once (it scans all)
        for r in rep.results:
            for o in r.organisations:
                self._org_results[o].append(r)
        used: dict[str, str] = {}
        for o in rep.org_verdicts:
            s = slugify(o)
            if s in used and used[s] != o:
                s = f"{s}-{hashlib.sha256(o.encode('utf-8')).hexdigest()[:8]}"
            used[s] = o
            self._org_slug[o] = s
        self._orgs = used
        self._sectors = {}
        for sec in rep.by_sector:
            if sec == "-":
                continue
            s = slugify(sec)
            if s in self._sectors:
                s = f"{s}-{hashlib.sha256(sec.encode('utf-8')).hexdigest()[:8]}"
            self._sectors[s] = sec
        self._providers = {safe_id(p.key): p for p in rep.providers_overall if p.key != "self"}
        self._parents = {safe_id(p.key): p for p in rep.parents_overall}
        pd: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        par: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        comp: dict[str, dict[str, Any]] = defaultdict(dict)
        for r in rep.results:
            if r.da.status != "ok":  # the same domains the shares count (measured without a DNS error)
                continue
            for d in r.deps:
                if not _identified(d) or d.service.account_only:
                    continue  # (a verification token alone shows an account, no dependence: as the report counts)
                pd[safe_id(d.provider_key)][r.domain].add(d.category)  # "self": its API document lists them
                if d.provider_key == "self":
                    continue
                if d.provider_key.endswith(LIKELY_KEY):
                    continue  # a guess on weak evidence: counted for no parent, as in the report's tables
                # one path per company that controls the provider at the top (each parent in joint control)
                paths = [[*(d.chain or []), *ch] for ch in d.joint] if d.joint else ([d.chain] if d.chain else [])
                tops = d.controllers
                for path in paths:
                    top = safe_id(path[-1].id)
                    if d.joint and d.chain:
                        self._parent_joint.setdefault(top, {}).setdefault(d.chain[-1].id, (d.chain[-1], tops))
                    self._prov_parents.setdefault(safe_id(d.provider_key), set()).add(top)
                    par[top][r.domain].add(d.category)
                    for e in path:
                        comp[top].setdefault(e.id, e)
        self._prov_domains = {k: sorted((dom, sorted(c)) for dom, c in v.items()) for k, v in pd.items()}
        self._parent_domains = {k: sorted((dom, sorted(c)) for dom, c in v.items()) for k, v in par.items()}
        self._parent_companies = dict(comp)

    # ------------------------------------------------------------- listing
    def org_slugs(self) -> list[str]:
        return sorted(self._orgs)

    def domain_names(self) -> list[str]:
        return [r.domain for r in self.report.results]

    def provider_ids(self) -> list[str]:
        return sorted(self._providers)

    def parent_ids(self) -> list[str]:
        return sorted(self._parents)

    def sector_slugs(self) -> list[str]:
        return sorted(self._sectors)

    def has_domain(self, name: str) -> bool:
        return name in self._by_domain

    def domain_ids(self) -> list[str]:
        return sorted(self._dom_ids)

    def domain_by_id(self, did: str) -> str | None:
        return self._dom_ids.get(did)

    def org_slug(self, name: str) -> str:
        return self._org_slug[name]

    def policies(self, t: Text) -> list[dict[str, Any]]:
        out = []
        for p in self.report.policies:
            f = t._r.finding(p)
            out.append({"id": p.id, "title": p.title(t.lang), "short": p.short_title(t.lang),
                        "summary": p.describe(t.lang), "finding": f["label"], "one": f["one"],
                        "column": f["column"]})
        return out

    # ------------------------------------------------------------- meta
    def about(self, t: Text) -> dict[str, Any]:
        """Measurement date and age, versions, reference data, warnings."""
        meta = self.report.meta or {}
        measured = _measured(self.scan)
        today = _dt.datetime.now(_dt.timezone.utc).date()
        datasets = []
        for ds in meta.get("datasets") or []:
            if isinstance(ds, dict):
                when = ds.get("data_date") or ds.get("fetched_at") or ds.get("imported_at")
                datasets.append({"name": str(ds.get("name") or "?"), "version": str(ds.get("version") or "–"),
                                 "date": _day_text(when), "source": str(ds.get("source") or "")})
        return {
            "scan_id": self.scan["scan_id"], "label": self.scan.get("label"),
            "measured": t.day(measured) if measured else "–", "measured_iso": measured.isoformat() if measured else None,
            "age_days": (today - measured).days if measured else None,
            "as_of": self.report.as_of.isoformat(), "kb_version": str(meta.get("kb_version") or "–"),
            "tool_version": str(meta.get("tool_version") or "–"), "datasets": datasets,
            "warnings": [visible(t._r.message(w)) for w in meta.get("warnings") or []],
            "previous": self.comparison.old_label if self.comparison else None,
        }

    # ------------------------------------------------------------- contesting a label
    def contesting(self) -> bool:
        """Whether the publisher named where to report an error (--contest-url / --contest-email)."""
        return bool(self.contest_url or self.contest_email)

    def label_ref(self) -> dict[str, str]:
        """What pins every label of this site: the scan, the knowledge-base version it was worked
        out under (``stekker attribute`` can work the same scan out again under another) and the
        day whose ownership facts it uses."""
        return {"scan": str(self.scan["scan_id"]), "kb": str((self.report.meta or {}).get("kb_version") or "–"),
                "as_of": self.report.as_of.isoformat()}

    def contest(self, t: Text, what: dict[str, str], title: str, lines: list[str] = ()) -> str | None:
        """The "report an error" link of one label: the contest URL with the label's identification
        (:meth:`label_ref` and ``what``: domain, category, provider, host, organisation, company) as
        query parameters, or a mailto whose subject names it (``title``) and whose body holds the
        same identification as ``key: value`` lines, the label as shown (``lines``, in the page's
        language) and what the reader should add.  None when the publisher named no contact."""
        from urllib.parse import quote, urlencode, urlsplit, urlunsplit

        ref = {**self.label_ref(), **{k: v for k, v in what.items() if v}}
        if self.contest_url:
            # the label's parameters join the form's own query, before any fragment (a "#frag" took
            # them into the fragment, where the form never sees them: field trial publish 5)
            u = urlsplit(self.contest_url)
            query = urlencode({**ref, "lang": t.lang})
            return urlunsplit(u._replace(query=f"{u.query}&{query}" if u.query else query))
        if not self.contest_email:
            return None
        subject = t("contest_subject", what=title, scan=ref["scan"])
        body = [t("contest_label") + ":", *(f"{k}: {visible(v)}" for k, v in ref.items()),
                *lines, "", t("contest_ask")]
        return (f"mailto:{self.contest_email}?subject={quote(subject, safe='')}"
                f"&body={quote(chr(10).join(body).replace(chr(10), chr(13) + chr(10)), safe='')}")  # CRLF: RFC 6068

    def _contest_service(self, domain: str, d: Any, sv: dict[str, Any], t: Text) -> str | None:
        """The link to contest one service row of a domain's page: its provider, company, owner,
        country and the verdicts that follow, with the evidence it rests on."""
        if not self.contesting():
            return None
        chain = " → ".join(e["name"] for e in sv["chain"]) or "–"
        lines = [f"{t('col_category')}: {sv['category_name']}{'' if d.primary else ' ' + t('primary_no')}",
                 f"{t('col_provider')}: {sv['provider']}" + (f" ({sv['note']})" if sv["note"] else ""),
                 f"{t('chain_short')}: {chain}", f"{t('contest_jurisdiction')}: {sv['jurisdiction']}",
                 f"{t('col_basis')}: {t.basis(sv['basis_id'])}",
                 f"{t('contest_verdicts')}: " + "; ".join(f"{v['title']}: {v['label']}" for v in sv["verdicts"])]
        ev = sv["evidence"]
        lines += [f"{t('evidence')}: {e['qname']} {e['rtype']} {_cut(e['value'], 120)}" for e in ev[:3]]
        if len(ev) > 3:
            lines.append(f"{t('evidence')}: … (+{len(ev) - 3})")
        return self.contest(t, {"domain": domain, "category": d.category, "provider": d.provider_key},
                            f"{domain} – {sv['category_name']} – {sv['provider']}", lines)

    # ------------------------------------------------------------- home
    def home(self, t: Text) -> dict[str, Any]:
        from stekker.report.figures import headline_figures

        rep = self.report
        figs = [{**_figure_row(f.policy, f.tally, f.org_tally, t), "quote": f.quotes.get(t.lang)}
                for f in headline_figures(rep, t._r)]
        sc = rep.status_counts
        # the input's count, also when the scan did not finish (then some were never measured)
        targets = int(((rep.meta or {}).get("counts") or {}).get("targets") or 0)
        status = {"total": max(rep.domain_count, targets), "pending": max(0, targets - rep.domain_count),
                  "ok": sc.get("ok", 0), "error": sc.get("error", 0),
                  "nxdomain": sc.get("nxdomain", 0), "failed_queries": rep.domains_with_failed_queries,
                  "organisations": rep.organisation_count, "no_org": rep.domains_without_org}
        return {"figures": figs, "status": status, "about": self.about(t),
                "providers": self._provider_rows(t, 15), "parents": self._parent_rows(t, 10),
                "sectors": self._sector_rows(t)}

    # ------------------------------------------------------------- tables
    def _provider_rows(self, t: Text, limit: int | None = None) -> list[dict[str, Any]]:
        """The report's provider table (its order): "own infrastructure" is counted as the report
        counts it, without a page of its own (id None)."""
        rows = []
        for p in self.report.providers_overall:
            sid = None if p.key == "self" else safe_id(p.key)
            rows.append({"id": sid, "name": visible(t.provider(p.key, p.name)), "count": p.count, "count_text": t.int(p.count),
                         "share": t.pct(p.share), "share_raw": p.share, "company": visible(p.company or "–"),
                         "parent": visible(p.parent or "–"), "jurisdiction": p.jurisdiction or "–",
                         "denominator": p.denominator})
        return rows[:limit] if limit else rows

    def _parent_rows(self, t: Text, limit: int | None = None) -> list[dict[str, Any]]:
        rows = []
        for sid, p in sorted(self._parents.items(), key=lambda kv: (-kv[1].count, kv[0])):
            rows.append({"id": sid, "name": visible(p.name), "count": p.count, "count_text": t.int(p.count),
                         "share": t.pct(p.share), "share_raw": p.share, "jurisdiction": p.jurisdiction or "–",
                         "denominator": p.denominator})
        return rows[:limit] if limit else rows

    def _sector_rows(self, t: Text) -> list[dict[str, Any]]:
        """Every sector's shares, and last, as in the report, the domains whose input row names no
        sector ("(no sector given)", no page of its own): the rows add up to every domain."""
        named = sorted(self._sectors.items(), key=lambda kv: kv[1].lower())
        rows = []
        for slug, sec in [*named, *([(None, "-")] if "-" in self.report.by_sector else [])]:
            tallies = self.report.by_sector[sec]
            rows.append({"slug": slug, "name": visible(sec) if slug else t("no_sector"),
                         "domains": self.report.sector_domain_counts.get(sec, 0),
                         "shares": [{"policy": pid, "pct": t.pct(tl.share), "base": t._r("fig_of", n=t.int(
                             tl.not_sovereign), d=t.int(tl.decided)), "share_raw": tl.share}
                                    for pid, tl in tallies.items()]})
        return rows

    # ------------------------------------------------------------- domains
    def _verdicts(self, r: Any, t: Text) -> list[dict[str, Any]]:
        out = []
        for p in self.report.policies:
            v = r.verdict[p.id]
            deciding = []
            errs = counted_errors(r.da, p, self._decides()) if v == "error" else []
            if errs:
                # not measured: the failed questions that left it so are its reason, first of all (field
                # trial publish 6: "not measured (DNS error)" with reason "–", the cause at the page's foot)
                deps = []
                for e in errs[:FAILED_SHOWN]:
                    deciding.append({"text": t("failed_reason", q=visible(f"{e.get('qname', '')} {e.get('qtype', '')}"),
                                                why=t.error_kind(e.get("error_kind")))})
                if len(errs) > FAILED_SHOWN:
                    deciding.append({"text": t("failed_more", n=t.int(len(errs) - FAILED_SHOWN))})
            elif v == "not_sovereign":
                deps = r.non_sovereign(p.id)
            elif v in ("unknown", "error"):
                deps = [d for d in r.deps if d.verdicts.get(p.id) is not None and d.verdicts[p.id].verdict == v]
            else:
                deps = []
            for d in deps[:6]:
                deciding.append({"category": t.category(d.category),
                                 "provider": visible(t.provider(d.provider_key, d.service.provider_name)),
                                 "reason": visible(d.verdicts[p.id].reason(t.lang))})
            out.append({"policy": p.id, "title": p.title(t.lang), "verdict": v, "label": t.verdict(v),
                        "deciding": deciding})
        return out

    def _decides(self) -> dict[str, frozenset[str]]:
        """purpose -> the categories it decides (the judge's, for which failed question counts)."""
        if self._decides_cache is None:
            self._decides_cache = deciding_categories(self.kb)
        return self._decides_cache

    def _entity(self, cid: str | None, name: str, country: str | None) -> dict[str, Any]:
        """A company as shown: its page when it is an ultimate parent seen in the scan, and whether
        who controls it is not researched (``controller_unknown``: its country is its seat, not a
        controller's)."""
        comp = None
        try:
            comp = self.kb.company(cid) if cid else None
        except Exception:  # noqa: BLE001 - a knowledge base without the company (e.g. a test's)
            comp = None
        page = safe_id(cid) if cid and safe_id(cid) in self._parents else None
        return {"id": cid, "page": page, "name": visible(name), "country": country or "–",
                "control_unknown": bool(getattr(comp, "controller_unknown", False)), "joint": None}

    def _chain_view(self, d: Any) -> list[dict[str, Any]]:
        """The control chain as shown; parents in joint control as one last step that names each of
        them with its page ("Apax Partners (GB) + Warburg Pincus LLC (US)")."""
        out = [self._entity(e.id, e.name, e.country) for e in (d.chain or [])]
        if out and getattr(d, "joint", None):
            out[-1]["control_unknown"] = False  # its controllers are the joint parents below
            tops = [self._entity(e.id, e.name, e.country) for e in d.controllers]
            out.append({"id": None, "page": None, "control_unknown": any(e["control_unknown"] for e in tops),
                        "name": visible(" + ".join(f"{e['name']} ({e['country']})" for e in tops)),
                        "country": "/".join(sorted({e["country"] for e in tops})), "joint": tops})
        return out

    @staticmethod
    def _tops(chain: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Who controls the top of a shown chain: each parent in joint control, else its last company."""
        return (chain[-1]["joint"] or chain[-1:]) if chain else []

    def _service(self, d: Any, t: Text) -> dict[str, Any]:
        s = d.service
        chain = self._chain_view(d)
        ev = []
        for e in s.evidence:
            failed = e.rule == "error"  # a failed question: why, in words, not the code
            ev.append({"qname": visible(e.qname), "rtype": visible(e.rtype), "failed": failed,
                       "value": t.error_kind(e.value) if failed else visible(e.value),
                       "rule": t("evidence_failed") if failed else visible(e.rule),
                       "dig": dig_command(e.qname, e.rtype)})
        pkey = d.provider_key
        pid = safe_id(pkey) if _identified(d) and pkey != "self" and safe_id(pkey) in self._providers else None
        parents = self._tops(chain)
        joint = len(parents) > 1
        parent = parents[0]["page"] if parents and not joint else None
        return {
            "category": d.category, "category_name": t.category(d.category), "primary": d.primary,
            "status": s.status, "provider": visible(_provider_words(s, t)),
            "provider_id": pid, "parent_id": parent,
            "company": chain[0]["name"] if chain else visible(s.company or "–"),
            "parent": visible(d.parent_name or "–"), "parents": parents,
            "joint": joint, "control_unknown": bool(chain and chain[-1]["control_unknown"]),
            "jurisdiction": d.jurisdiction or "–",
            "chain": chain, "basis": s.basis or "–", "basis_id": s.basis, "note": visible(t.note(s)) if s.note else None,
            "verdicts": self._dep_verdicts(d, t),
            "cells": self._dep_cells(d, t),
            "evidence": ev,
        }

    def _titles(self, t: Text) -> dict[str, str]:
        """The definitions' short names in the page's language, made once per language."""
        return self._policy_titles.setdefault(t.lang, {p.id: p.short_title(t.lang) for p in self.report.policies})

    def _policy_title(self, pid: str, t: Text) -> str:
        """A definition's short name in the page's language (its id when the report has no such policy)."""
        return self._titles(t).get(pid, pid)

    def _dep_verdicts(self, d: Any, t: Text) -> list[dict[str, Any]]:
        # the judge shares one verdict dict between dependencies on the same provider: render it once
        key = (id(d.verdicts), t.lang)
        hit = self._verdict_cache.get(key)
        if hit is None or hit[0] is not d.verdicts:
            titles = self._titles(t)
            rows = [{"policy": p, "title": titles.get(p, p), "label": t.verdict(v.verdict), "verdict": v.verdict,
                     "reason": visible(v.reason(t.lang))} for p, v in d.verdicts.items() if v is not None]
            hit = (d.verdicts, rows)
            self._verdict_cache[key] = hit
        return hit[1]

    def _dep_cells(self, d: Any, t: Text) -> list[dict[str, Any]]:
        """One cell per definition of the report, in its order: the verdict,
        or "–" where the definition does not look at this dependency (a
        definition limited to some records or categories)."""
        by = {v["policy"]: v for v in self._dep_verdicts(d, t)}
        return [by.get(p.id) or {"policy": p.id, "verdict": "not_judged", "label": "–"}
                for p in self.report.policies]

    def domain(self, name: str, t: Text) -> dict[str, Any]:
        r = self._by_domain[name]
        order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
        deps = sorted(r.deps, key=lambda d: (order.get(d.category, 99), not d.primary))
        history = []
        for scan, verdicts in self.history:
            v = verdicts.get(name)
            if v is None:
                continue
            history.append({"scan_id": scan["scan_id"], "measured": t.day(_measured(scan)),
                            "verdicts": [{"policy": p.id, "label": t.verdict(v.get(p.id, "unknown")),
                                          "verdict": v.get(p.id, "unknown")} for p in self.report.policies]})
        services = [self._service(d, t) for d in deps]
        for d, sv in zip(deps, services):  # each row's label can be contested on its own
            sv["contest"] = self._contest_service(r.domain, d, sv, t)
        reasons: dict[Any, dict[str, Any]] = {}
        for d, sv in zip(deps, services):
            key = (sv["provider"], tuple((v["policy"], v["verdict"], v["reason"]) for v in sv["verdicts"]))
            g = reasons.setdefault(key, {"provider": sv["provider"], "categories": [], "verdicts": sv["verdicts"]})
            g["categories"].append(sv["category_name"])
        evidence = [{"service": sv["category_name"], **e} for sv in services for e in sv["evidence"]]
        verdicts = self._verdicts(r, t)
        return {
            "reasons": list(reasons.values()), "evidence": evidence,
            "domain": r.domain, "unicode": _unicode_name(r.domain), "id": safe_id(r.domain), "status": r.da.status,
            "organisations": [{"name": visible(o), "slug": self._org_slug.get(o)} for o in r.organisations],
            "sectors": [{"name": visible(s), "slug": self._sector_slug(s)} for s in r.sectors],
            "verdicts": verdicts, "services": services,
            "hosts": [self._host(r.domain, h, t) for h in r.hosts],
            "errors": [{**{k: visible(v) for k, v in e.items()}, "why": t.error_kind(e.get("error_kind"))}
                       for e in r.da.errors],
            "explanations": _explanations(r.explanations, t),
            "history": history, "tenant": visible(r.da.tenant or "") or None,
            "contest": self.contest(t, {"domain": r.domain}, r.domain, [
                f"{t('contest_verdicts')}: " + "; ".join(f"{v['title']}: {v['label']}" for v in verdicts)]),
        }

    def _host(self, domain: str, h: Any, t: Text) -> dict[str, Any]:
        """An extra host of the input as shown, with the link to contest its label."""
        provider = visible(t.provider(h.provider_key, h.service.provider_name))
        verdicts = [{"policy": pid, "title": self._policy_title(pid, t), "label": t._r.host_verdict(v)}
                    for pid, v in h.verdict.items()]
        contest = None
        if self.contesting():
            lines = [f"host: {visible(h.host)}", f"{t('col_provider')}: {provider}",
                     f"{t('contest_verdicts')}: " + "; ".join(f"{v['title']}: {v['label']}" for v in verdicts)]
            contest = self.contest(t, {"domain": domain, "category": "host", "host": h.host, "provider": h.provider_key},
                                   f"{domain} – {visible(h.host)} – {provider}", lines)
        return {"host": visible(h.host), "provider": provider, "verdicts": verdicts, "contest": contest}

    def _sector_slug(self, sec: str) -> str | None:
        return next((k for k, v in self._sectors.items() if v == sec), None)

    def domain_rows(self, names: list[str] | None, t: Text) -> list[dict[str, Any]]:
        out = []
        for n in names if names is not None else self.domain_names():
            r = self._by_domain[n]
            out.append({"domain": r.domain, "status": r.da.status, "id": safe_id(r.domain),
                        "organisations": [visible(o) for o in r.organisations],
                        "verdicts": [{"policy": p.id, "verdict": r.verdict[p.id], "label": t.verdict(r.verdict[p.id])}
                                     for p in self.report.policies],
                        "providers": self._primary_providers(r, t)})
        return out

    def _primary_providers(self, r: Any, t: Text) -> list[dict[str, str]]:
        out = []
        for c in ("web", "mailbox", "dns", "office"):
            d = primary_dep(r, c)
            out.append({"category": c, "name": visible(t.provider(d.provider_key, d.service.provider_name))
                        if d else "–"})
        return out

    # ------------------------------------------------------------- organisations
    def org_pages(self, slug: str) -> int:
        """How many pages the organisation's domain list takes (1: all on its page)."""
        n = len(self._org_results.get(self._orgs[slug], []))
        return max(1, -(-n // ORG_PAGE_ROWS))

    def org(self, slug: str, t: Text, page: int = 1) -> dict[str, Any]:
        """An organisation's page; ``page`` > 1 is one more page of its domain
        list (``/<lang>/org/<slug>/domains/<page>/``)."""
        name = self._orgs[slug]
        rep = self.report
        results = self._org_results.get(name, [])
        pages = self.org_pages(slug)
        if not 1 <= page <= pages:
            raise KeyError(page)
        verdicts = []
        for p in rep.policies:
            v = rep.org_verdicts[name][p.id]
            counts = Counter(r.verdict[p.id] for r in results)
            verdicts.append({"policy": p.id, "title": p.title(t.lang), "verdict": v, "label": t.verdict(v),
                             "counts": ", ".join(f"{t.int(n)} {t.verdict(k)}" for k, n in sorted(
                                 counts.items(), key=lambda kv: (-kv[1], kv[0])))})
        exps = [e for r in results for e in r.explanations]
        exps = list({(e.text, e.domain, e.category): e for e in exps}.values())
        sectors = sorted({s for r in results for s in r.sectors})
        start = (page - 1) * ORG_PAGE_ROWS
        shown = results[start:start + ORG_PAGE_ROWS]
        return {"name": visible(name), "slug": slug, "verdicts": verdicts,
                "sectors": [{"name": visible(s), "slug": self._sector_slug(s)} for s in sectors],
                # one domain: the summary would repeat its services table below, row for row
                "summary": self._org_summary(results, t) if page == 1 and len(results) > 1 else [],
                "domains": self.domain_rows([r.domain for r in shown], t),
                "domains_total": len(results), "page": page,
                "first": t.int(start + 1), "last": t.int(start + len(shown)),
                "pages": [{"n": i, "first": t.int((i - 1) * ORG_PAGE_ROWS + 1),
                           "last": t.int(min(i * ORG_PAGE_ROWS, len(results))),
                           "href": f"/{t.lang}/org/{slug}/" + (f"domains/{i}/" if i > 1 else "")}
                          for i in range(1, pages + 1)] if pages > 1 else [],
                # every dependency, those beside the primary one marked "(also)": a second MX at a
                # US-controlled operator decides the verdict and must be visible here too
                "services": [{"domain": r.domain, "services": [self._service(d, t) for d in r.deps]}
                             for r in results[:ORG_SERVICES_LIMIT]] if page == 1 else [],
                "services_cut": max(0, len(results) - ORG_SERVICES_LIMIT),
                "explanations": _explanations(exps, t),
                "contest": self.contest(t, {"organisation": name}, visible(name), [
                    f"{t('contest_verdicts')}: " + "; ".join(f"{v['title']}: {v['label']}" for v in verdicts)])}

    def _org_summary(self, results: list[Any], t: Text) -> list[dict[str, Any]]:
        """Who runs each service for how many of the organisation's domains:
        one row per category and provider (or state: unknown, DNS error,
        none seen), the most frequent first; beyond ORG_SUMMARY_ROWS
        providers of a category one row adds up the rest."""
        out = []
        total = len(results)
        for cat in SUMMARY_CATEGORIES:
            cnt: Counter = Counter()
            words: dict[str, str] = {}
            for r in results:
                key, word = self._provider_of([r], cat, t)
                cnt[key] += 1
                words[key] = word
            if set(cnt) == {"absent"}:
                continue
            ranked = sorted(cnt, key=lambda k: (k in _STATES, -cnt[k], k))
            rows = []
            providers = [k for k in ranked if k not in _STATES]
            for k in providers[:ORG_SUMMARY_ROWS]:
                sid = safe_id(k)
                rows.append({"name": words[k], "id": sid if k != "self" and sid in self._providers else None,
                             "count": t.int(cnt[k]), "share": t.pct(cnt[k] / total), "state": False})
            rest = providers[ORG_SUMMARY_ROWS:]
            if rest:
                n = sum(cnt[k] for k in rest)
                rows.append({"name": t("org_summary_rest", n=t.int(len(rest))), "id": None,
                             "count": t.int(n), "share": t.pct(n / total), "state": False})
            for k in ranked:
                if k in _STATES:
                    rows.append({"name": words[k], "id": None, "count": t.int(cnt[k]),
                                 "share": t.pct(cnt[k] / total), "state": True})
            out.append({"category": t.category(cat), "rows": rows})
        return out

    def org_rows(self, t: Text, slugs: list[str] | None = None) -> list[dict[str, Any]]:
        rep = self.report
        rows = []
        for slug in self.org_slugs() if slugs is None else slugs:
            name = self._orgs[slug]
            rows.append({"slug": slug, "name": visible(name),
                         "verdicts": [{"policy": p.id, "verdict": rep.org_verdicts[name][p.id],
                                       "label": t.verdict(rep.org_verdicts[name][p.id])} for p in rep.policies]})
        return rows

    def org_names(self) -> list[tuple[str, str, list[str], list[str]]]:
        """(slug, name, domains, sectors) of every organisation (map matching)."""
        rep = self.report
        dom: dict[str, list[str]] = defaultdict(list)
        sec: dict[str, set[str]] = defaultdict(set)
        for r in rep.results:
            for o in r.organisations:
                dom[o].append(r.domain)
                sec[o].update(r.sectors)
        return [(self._org_slug[o], o, dom[o], sorted(sec[o])) for o in rep.org_verdicts]

    def org_provider(self, name: str, category: str, t: Text) -> tuple[str, str]:
        """(provider key, name in words) of an organisation's service in one
        category: its first domain (input order by name) with that service
        identified, else the state (``?`` unknown, ``error``, ``absent``)."""
        return self._provider_of(self._org_results.get(name, []), category, t)

    def domain_provider(self, domain: str, category: str, t: Text) -> tuple[str, str]:
        """The same for one domain."""
        r = self._by_domain.get(domain)
        return self._provider_of([r] if r is not None else [], category, t)

    def _provider_of(self, results: list[Any], category: str, t: Text) -> tuple[str, str]:
        """(key, words) of who runs ``category`` for these domains (the first with a provider), else
        why none: a DNS error, not recognised, no such service, or the domain does not exist."""
        if results and all(r.da.status == "nxdomain" for r in results):
            return "nxdomain", t.verdict("nxdomain")
        states = []
        for r in results:
            d = primary_dep(r, category)
            if d is not None:
                return d.provider_key, visible(t.provider(d.provider_key, d.service.provider_name))
            if r.da.status == "error" or any(x.service.status == "error" for x in r.deps if x.category == category):
                states.append("error")
            elif any(x.service.status == "unknown" for x in r.deps if x.category == category):
                states.append("?")
        key = "error" if "error" in states else ("?" if "?" in states else "absent")
        return key, t.absent(category) if key == "absent" else t.provider(key, None)

    # ------------------------------------------------------------- providers, parents
    def provider(self, pid: str, t: Text) -> dict[str, Any]:
        p = self._providers[pid]
        markets = []
        for row, m in self.report.markets.items():
            s = next((x for x in m.shares if safe_id(x.key) == pid), None)
            if s is None:
                continue
            markets.append({"row": row, "name": t.category(row), "count": t.int(s.count), "share": t.pct(s.share),
                            "denominator": t.int(m.denominator),
                            "of": t._r("fig_of", n=t.int(s.count), d=t.int(m.denominator)),
                            "hhi": _hhi_text(m.hhi, t),
                            "hhi_band": t.hhi_band(m.hhi)})
        chain, events = self._chain_of_provider(pid, t)
        doms = self._prov_domains.get(pid, [])
        return {"id": pid, "name": visible(t.provider(p.key, p.name)), "count": t.int(p.count), "share": t.pct(p.share),
                "denominator": t.int(p.denominator), "jurisdiction": p.jurisdiction or "–",
                "chain": chain, "events": events, "markets": markets,
                "parent_id": chain[-1]["page"] if chain else None,
                "parents": self._tops(chain),
                "control_unknown": bool(chain and chain[-1]["control_unknown"]),
                "dependents": self._dependents(doms[:TABLE_LIMIT], t), "dependents_total": len(doms),
                "contest": self.contest(t, {"provider": p.key, "company": p.name}, visible(t.provider(p.key, p.name)), [
                    f"{t('chain_short')}: " + (" → ".join(e["name"] for e in chain) or "–"),
                    f"{t('contest_jurisdiction')}: {p.jurisdiction or '–'}"])}

    def _dependents(self, doms: list[tuple[str, list[str]]], t: Text) -> list[dict[str, Any]]:
        out = []
        for dom, cats in doms:
            r = self._by_domain[dom]
            out.append({"domain": dom, "id": safe_id(dom),
                        "organisations": [{"name": visible(o), "slug": self._org_slug.get(o)} for o in r.organisations],
                        "categories": ", ".join(t.category(c) for c in cats)})
        return out

    def _chain_of_provider(self, pid: str, t: Text) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        dep = None  # the first dependency on this provider with a known chain
        for dom, _cats in self._prov_domains.get(pid, [])[:50]:
            for d in self._by_domain[dom].deps:
                if _identified(d) and safe_id(d.provider_key) == pid and d.chain:
                    dep = d
                    break
            if dep:
                break
        entities = self._chain_view(dep) if dep else []
        return entities, self._events([e["id"] for e in entities if e["id"]], t)

    def _events(self, company_ids: list[str], t: Text) -> list[dict[str, Any]]:
        out = []
        for cid in company_ids:
            try:
                evs = self.kb.events(cid)
            except Exception:  # noqa: BLE001 - a knowledge base without events (e.g. a test's)
                evs = []
            comp = None
            try:
                comp = self.kb.company(cid)
            except Exception:  # noqa: BLE001
                pass
            cname = getattr(comp, "name", cid)
            for e in evs:
                cp = getattr(e, "counterparty", None)
                cpn = cp
                if cp:
                    try:
                        cpn = getattr(self.kb.company(cp), "name", cp)
                    except Exception:  # noqa: BLE001
                        cpn = cp
                out.append({"date": e.date.isoformat(), "company": visible(cname), "kind": e.kind,
                            "kind_text": t(f"event_{e.kind}"), "counterparty": visible(cpn or "–"),
                            "note": visible(getattr(e, "note", None) or ""), "source": _url(getattr(e, "source", None))})
        out.sort(key=lambda e: e["date"])
        return out

    def parent(self, pid: str, t: Text) -> dict[str, Any]:
        p = self._parents[pid]
        comps = self._parent_companies.get(pid, {})
        providers = [row for row in self._provider_rows(t) if pid in self._prov_parents.get(row["id"], ())]
        joint = [{"company": self._entity(c.id, c.name, c.country),
                   "parents": [self._entity(e.id, e.name, e.country) for e in tops]}
                 for c, tops in self._parent_joint.get(pid, {}).values()]
        top = self._entity(p.key, p.name, p.jurisdiction)
        return {"id": pid, "name": visible(p.name), "count": t.int(p.count), "share": t.pct(p.share),
                "denominator": t.int(p.denominator), "jurisdiction": p.jurisdiction or "–",
                "control_unknown": top["control_unknown"], "joint_control": joint,
                "companies": [{"id": e.id, "name": visible(e.name), "country": e.country or "–"} for e in comps.values()],
                "events": self._events(list(comps), t), "providers": providers,
                # the concentration of each market is the whole scan's, not this parent's: on the
                # providers' pages, not here
                "markets": [], "dependents": self._dependents(self._parent_domains.get(pid, [])[:TABLE_LIMIT], t),
                "dependents_total": len(self._parent_domains.get(pid, [])),
                "contest": self.contest(t, {"parent": p.key, "company": p.name}, visible(p.name), [
                    f"{t('contest_jurisdiction')}: {p.jurisdiction or '–'}"])}

    # ------------------------------------------------------------- sectors
    def sector(self, slug: str, t: Text) -> dict[str, Any]:
        sec = self._sectors[slug]
        rep = self.report
        results = [r for r in rep.results if sec in r.sectors]
        # the home page's headline columns, for the sector's domains and organisations
        figs = [_figure_row(p, rep.by_sector[sec][p.id], rep.by_sector_orgs.get(sec, {}).get(p.id), t)
                for p in rep.policies]
        # every domain of the sector in one row: its mailbox platform, or why there is none (not
        # recognised, a DNS error, no mail, does not exist) - the share is of all of them
        cnt: Counter = Counter()
        names: dict[str, str] = {}
        for r in results:
            key, word = self._provider_of([r], "mailbox", t)
            cnt[key] += 1
            names[key] = visible(word)
        total = len(results)
        mail = [{"name": names[k], "count": t.int(n), "share": t.pct(n / total), "state": k in _STATES}
                for k, n in sorted(cnt.items(), key=lambda kv: (kv[0] in _STATES, -kv[1], kv[0]))]
        orgs = sorted({o for r in results for o in r.organisations})
        return {"slug": slug, "name": visible(sec), "figures": figs, "mailbox": mail,
                "organisations": [{"slug": self._org_slug[o], "name": visible(o),
                                   "verdicts": [{"policy": p.id, "verdict": rep.org_verdicts[o][p.id],
                                                 "label": t.verdict(rep.org_verdicts[o][p.id])}
                                                for p in rep.policies]} for o in orgs[:TABLE_LIMIT]],
                "organisations_total": len(orgs),
                "domains": len(results)}

    # ------------------------------------------------------------- changes
    def changes(self, t: Text) -> dict[str, Any] | None:
        c = self.comparison
        if c is None:
            return None
        rows = []
        for ch in c.changes:
            rows.append({"kind": ch.kind, "kind_text": t(f"change_{ch.kind}"), "domain": ch.domain,
                         "id": safe_id(ch.domain) if ch.domain in self._by_domain else None,
                         "organisations": [visible(o) for o in ch.organisations],
                         "category": t.category(ch.category),
                         "old": visible(t.change_side(ch.old, ch.old_name)),
                         "new": visible(t.change_side(ch.new, ch.new_name)),
                         "host": visible(ch.host) if ch.host else None})
        rows.sort(key=lambda x: ({"moved": 0, "new": 1, "vanished": 2, "existence": 3}.get(x["kind"], 4), x["domain"]))
        verdicts = [{"domain": v.domain, "id": safe_id(v.domain) if v.domain in self._by_domain else None,
                     "organisations": [visible(o) for o in v.organisations], "policy": v.policy,
                     "title": self._policy_title(v.policy, t),
                     "old": t.verdict(v.old), "new": t.verdict(v.new)} for v in c.verdict_changes]
        return {"old": c.old_label, "new": c.new_label, "common": t.int(c.common),
                "added": [visible(d) for d in c.added_domains], "removed": [visible(d) for d in c.removed_domains],
                # the names themselves (a removed domain has no page of its own: only here it is named)
                "added_rows": [{"domain": visible(d), "id": safe_id(d) if d in self._by_domain else None}
                               for d in c.added_domains[:TABLE_LIMIT]],
                "removed_rows": [{"domain": visible(d), "id": None} for d in c.removed_domains[:TABLE_LIMIT]],
                "unmeasured": len(c.unmeasured_new),
                "counts": {k: len(c.of_kind(k)) for k in ("moved", "new", "vanished", "existence", "not_comparable")},
                "changes": rows, "verdict_changes": verdicts}

    def methods(self, t: Text) -> dict[str, Any]:
        from stekker.report.figures import dns_limit_lines

        lim = self.report.limits
        contest = None
        if self.contesting():  # where to report an error, shown as the address itself
            contest = {"href": self.contest(t, {}, t("contest_a_label")),
                       "address": visible(self.contest_email or self.contest_url or "")}
        return {"policies": self.policies(t), "limits": dns_limit_lines(lim, t._r) if lim is not None else [],
                "contest": contest}

    # ------------------------------------------------------------- open data (language-neutral JSON, CSV)
    def api_domain(self, name: str) -> dict[str, Any]:
        """The domain's ``stekker report --jsonl`` record (the last one is kept:
        the site writes a domain's JSON and CSV one after the other)."""
        from stekker.report.export import domain_record, finding_labels

        last = self._last_record
        if last is not None and last[0] == name:
            return last[1]
        if self._labels is None:
            self._labels = finding_labels(self.report, "en")
        rec = domain_record(self.report, self._by_domain[name], "en", self._labels)
        self._last_record = (name, rec)
        return rec

    def sector_filter(self, value: str) -> str:
        """The sector id an API filter value names: the sector's id (from /api/v1/sectors.json) or
        its name, matched without regard to case (ids are lower case; a sector name is what the
        input wrote) - an exact match first.  LookupError (saying why) when it names no sector of
        this scan, ValueError when several that differ only in case."""
        if value in self._sectors:
            return value
        exact = [k for k, v in self._sectors.items() if v == value]
        if exact:
            return exact[0]
        low = value.casefold()
        hits = sorted({k for k, v in self._sectors.items() if k == low or v.casefold() == low})
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise ValueError(API_AMBIGUOUS_SECTOR.format(value=value, ids=", ".join(hits)))
        raise LookupError(API_NO_SECTOR.format(value=value))

    def provider_filter(self, value: str) -> str:
        """The provider id an API filter value names: its id (from /api/v1/providers.json, or
        ``self`` for own infrastructure) or the knowledge base's key, matched without regard to
        case (ids are lower case).  LookupError when no domain of this scan uses it."""
        known = self._provider_filter_ids()
        for cand in (value, value.lower(), safe_id(value), safe_id(value.lower())):
            if cand in known:
                return cand
        raise LookupError(API_NO_PROVIDER.format(value=value))

    def _provider_filter_ids(self) -> set[str]:
        if self._filter_ids is None:
            self._filter_ids = set(self._providers) | {safe_id(d.provider_key) for r in self.report.results
                                                       for d in r.deps if _identified(d)}
        return self._filter_ids

    def api_domain_rows(self, sector: str | None = None, provider: str | None = None) -> Iterator[dict[str, Any]]:
        """The domains' summary rows, of one sector and of domains using one provider when given
        (ids as :meth:`sector_filter` and :meth:`provider_filter` give them)."""
        rep = self.report
        name = self._sectors[sector] if sector is not None else None
        for r in rep.results:
            if name is not None and name not in r.sectors:
                continue
            if provider is not None and not any(_identified(d) and not d.service.account_only
                                                and safe_id(d.provider_key) == provider for d in r.deps):
                # (a verification token alone shows an account, no dependence: the domains the
                # provider's own document counts, providers/{id}.json)
                continue
            yield {"domain": r.domain, "organisations": r.organisations, "sectors": r.sectors,
                   "status": r.da.status, "verdicts": dict(r.verdict),
                   "providers": _primary_keys(r)}

    def api_org_rows(self, sector: str | None = None) -> Iterator[dict[str, Any]]:
        rep = self.report
        secs = None
        if sector is not None:
            name = self._sectors[sector]
            secs = {o for r in rep.results if name in r.sectors for o in r.organisations}
        for slug in self.org_slugs():
            name = self._orgs[slug]
            if secs is not None and name not in secs:
                continue
            yield {"id": slug, "name": name, "verdicts": dict(rep.org_verdicts[name]),
                   "domains": [r.domain for r in self._org_results.get(name, [])]}

    def api_org(self, slug: str) -> dict[str, Any]:
        """An organisation: its verdicts and one summary row per domain (the
        full record of each domain is at /api/v1/domains/<domain>.json).
        The last one is kept (the site writes its JSON and CSV in a row)."""
        last = self._last_org
        if last is not None and last[0] == slug:
            return last[1]
        name = self._orgs[slug]
        doms = {r.domain for r in self._org_results.get(name, [])}
        rows = [{**row, "id": safe_id(row["domain"])} for row in self._domain_rows_of(doms)]
        doc = {"id": slug, "name": name, "verdicts": dict(self.report.org_verdicts[name]), "domains": rows}
        self._last_org = (slug, doc)
        return doc

    def _domain_rows_of(self, names: set[str]) -> Iterator[dict[str, Any]]:
        for r in sorted((self._by_domain[n] for n in names), key=lambda r: r.domain):
            yield {"domain": r.domain, "organisations": r.organisations, "sectors": r.sectors,
                   "status": r.da.status, "verdicts": dict(r.verdict),
                   "providers": _primary_keys(r)}

    def api_provider_rows(self) -> list[dict[str, Any]]:
        def parents(k: str) -> list[dict[str, Any]]:  # each company that controls it at the top
            return [{"id": top, "name": self._parents[top].name, "country": self._parents[top].jurisdiction}
                    for top in sorted(self._prov_parents.get(k, ())) if top in self._parents]

        own = self._own_infrastructure()
        rows = [*self._providers.items(), *([("self", own)] if own is not None else [])]
        # own infrastructure (an organisation's own name servers, mail or web server) is counted as the
        # report counts it; every name is the English page's ("own infrastructure", "likely Google": a
        # guess on weak evidence is never named as the provider itself, field trial publish 8)
        en = Text("en")
        return [{"id": k, "key": p.key, "name": en.provider(p.key, p.name),
                 "domains": p.count, "denominator": p.denominator,
                 "share": None if p.share is None else round(p.share, 6), "company": p.company, "parent": p.parent,
                 "jurisdiction": p.jurisdiction, "parents": parents(k), "joint_control": len(parents(k)) > 1,
                 "own_infrastructure": p.key == "self", "account_only": p.account_only}
                for k, p in sorted(rows, key=lambda kv: kv[0])]

    def _own_infrastructure(self) -> Any:
        """The report's row "own infrastructure" (provider key ``self``), or None."""
        return next((p for p in self.report.providers_overall if p.key == "self"), None)

    def api_provider_ids(self) -> list[str]:
        """Every id providers.json lists, each with a document: the providers with a page, and
        ``self`` (own infrastructure, which has no page) when the scan has any."""
        return sorted([*self._providers, *(["self"] if self._own_infrastructure() is not None else [])])

    def api_provider(self, pid: str) -> dict[str, Any]:
        row = next(x for x in self.api_provider_rows() if x["id"] == pid)
        return {**row, "dependents": [{"domain": d, "categories": c} for d, c in self._prov_domains.get(pid, [])]}

    def api_parent_rows(self) -> list[dict[str, Any]]:
        return [{"id": k, "key": p.key, "name": p.name, "domains": p.count, "denominator": p.denominator,
                 "share": None if p.share is None else round(p.share, 6), "jurisdiction": p.jurisdiction,
                 "account_only": p.account_only}
                for k, p in sorted(self._parents.items())]

    def api_parent(self, pid: str) -> dict[str, Any]:
        row = next(x for x in self.api_parent_rows() if x["id"] == pid)
        return {**row, "dependents": [{"domain": d, "categories": c} for d, c in self._parent_domains.get(pid, [])]}

    def api_sector_rows(self) -> list[dict[str, Any]]:
        rep = self.report
        return [{"id": slug, "name": sec, "domains": rep.sector_domain_counts.get(sec, 0),
                 "tallies": {pid: tl.to_dict() for pid, tl in rep.by_sector[sec].items()}}
                for slug, sec in sorted(self._sectors.items())]

    def api_sector(self, slug: str) -> dict[str, Any]:
        row = next(x for x in self.api_sector_rows() if x["id"] == slug)
        sec = self._sectors[slug]
        return {**row, "organisations": sorted({o for r in self.report.results if sec in r.sectors
                                                for o in r.organisations})}

    def api_changes(self) -> dict[str, Any]:
        if self.comparison is None:
            return {"old": None, "new": str(self.scan["scan_id"]), "changes": [], "verdict_changes": [],
                    "added_domains": [], "removed_domains": [], "common_domains": 0}
        return self.comparison.to_dict()

    def api_scan(self) -> dict[str, Any]:
        rep = self.report
        return {"scan": {k: v for k, v in self.scan.items()}, "as_of": rep.as_of.isoformat(),
                "kb_version": (rep.meta or {}).get("kb_version"),
                "policies": [{"id": p.id, "name": p.name, "summary": p.summary} for p in rep.policies],
                "domains": {pid: tl.to_dict() for pid, tl in rep.domains.items()},
                "organisations": {pid: tl.to_dict() for pid, tl in rep.organisations.items()},
                "status": dict(rep.status_counts)}

    HOME_CSV = ("scan_id", "measured", "as_of", "kb_version", "definition", "finding", "not_sovereign", "known",
                "share", "unknown", "error", "nxdomain", "total", "organisations_not_sovereign",
                "organisations_known", "organisations_share")

    def api_home_rows(self) -> list[dict[str, Any]]:
        """The headline table as numbers (``/data/home.csv``, docs/PUBLISH.md): per definition the
        domains that depend (``not_sovereign``) of those whose answer is known (``known``), the share
        as a number (as ``scan.json``'s tallies), what was not counted, and the same for the
        organisations (empty: the input names none); with the scan, its date and the finding counted."""
        rep = self.report
        measured = _measured(self.scan)
        en = Text("en")
        out = []
        for p in rep.policies:
            d = rep.domains[p.id].to_dict()
            o = rep.organisations[p.id].to_dict() if rep.organisation_count else None
            out.append({"scan_id": self.scan["scan_id"], "measured": measured.isoformat() if measured else None,
                        "as_of": rep.as_of.isoformat(), "kb_version": (rep.meta or {}).get("kb_version"),
                        "definition": p.id, "finding": en._r.finding(p)["label"], "not_sovereign": d["not_sovereign"],
                        "known": d["decided"], "share": d["share"], "unknown": d["unknown"], "error": d["error"],
                        "nxdomain": d["nxdomain"], "total": d["total"],
                        "organisations_not_sovereign": o["not_sovereign"] if o else None,
                        "organisations_known": o["decided"] if o else None,
                        "organisations_share": o["share"] if o else None})
        return out

    def write_scan_csv(self, path: str) -> int:
        from stekker.report.export import write_csv

        return write_csv(self.report, path, ",", "en")

    def write_scan_parquet(self, path: str) -> int:
        from stekker.report.export import write_parquet

        return write_parquet(self.report, path, "en")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _figure_row(policy: Any, tl: Any, org_tl: Any, t: Text) -> dict[str, Any]:
    """One row of a headline table (the home page's, a sector's): the share of
    domains that depend, labelled with its finding, the count it rests on and
    what was not counted, and the organisations' share with its count (None:
    no organisations)."""
    from stekker.report.figures import base_text, excluded_text

    orgs = org_tl is not None and org_tl.total > 0
    return {"policy": policy.id, "title": policy.title(t.lang), "finding": t._r.finding(policy)["label"],
            "pct": t.pct(tl.share), "base": base_text(tl, t._r), "excluded": excluded_text(tl, t._r),
            "unknown": tl.counts.get("unknown", 0), "error": tl.counts.get("error", 0),
            "nxdomain": tl.counts.get("nxdomain", 0),
            "orgs_pct": t.pct(org_tl.share) if orgs else None,
            "orgs_base": base_text(org_tl, t._r, "organisation") if orgs else None}


def _identified(d: Any) -> bool:
    s = d.service
    return s.status == "self" or (s.status == "attributed" and bool(s.provider))


def _provider_words(s: Any, t: Text) -> str:
    if s.status == "self":
        return t.provider("self", None)
    if s.status == "attributed":
        return t.provider(s.provider or "–", s.provider_name or s.provider) if s.provider else (s.provider_name or "–")
    if s.status == "error":
        return t.verdict("error")
    if s.status == "unknown":
        return t("provider_unknown")
    return "–"


def _primary_keys(r: Any) -> dict[str, str | None]:
    """The provider key of a domain's primary identified web, mailbox, DNS
    and office dependency (None where there is none)."""
    out: dict[str, str | None] = {"web": None, "mailbox": None, "dns": None, "office": None}
    for d in r.deps:
        c = d.category
        if c in out and out[c] is None and d.primary and _identified(d):
            out[c] = d.provider_key
    return out


def _unicode_name(domain: str) -> str | None:
    """An internationalised name as people write it (``café-de-kroon.nl`` for
    ``xn--caf-de-kroon-deb.nl``), shown beside its A-label, never instead of it (a look-alike in
    another script stays visible); None for a name without ``xn--`` labels or one that does not decode."""
    if "xn--" not in domain:
        return None
    import idna

    try:
        return visible(idna.decode(domain))
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def primary_dep(r: Any, category: str) -> Any:
    """The primary identified dependency of a domain in one category (None)."""
    for d in r.deps:
        if d.category == category and d.primary and _identified(d):
            return d
    return None


def dig_command(qname: str, rtype: str) -> str:
    """A command to re-check one record: ``dig`` for DNS; for a look-up
    beyond DNS (plan.yaml ``lookups:``, e.g. Microsoft's realm) the request
    itself. The name is shell-quoted (it comes from DNS) and shown with
    control characters made visible."""
    lookup = _lookups().get(str(rtype or ""))
    if lookup is not None:
        return f"curl -s {shlex.quote(lookup.request_url(visible(qname)))}"
    rt = rtype if re.fullmatch(r"[A-Z0-9]{1,10}", str(rtype or "")) else "ANY"
    return f"dig +noall +answer {shlex.quote(visible(qname))} {rt}"


@lru_cache(maxsize=1)
def _lookups() -> dict[str, Any]:
    """The plan's look-ups beyond DNS by the qtype their rows are stored
    under and by the further record types their answers hold (IDP)."""
    from stekker.collect.plan import load_plan

    return {t: lk for lk in load_plan().lookups.values() for t in (lk.type, *lk.records)}


def _explanations(exps: list[Any], t: Text, today: _dt.date | None = None) -> list[dict[str, Any]]:
    """Explanations as shown: the category in the page's words, who gave it and when, and its end
    date when it has one, marked expired once that day has passed (field trial publish 7: an
    explanation that ended in 2025 read as current). Expired ones stay shown: never hidden."""
    today = today or _dt.date.today()
    out = []
    for e in exps:
        expires = getattr(e, "expires", None)
        expired = e.expired(today)
        by = t("explanation_by", by=visible(e.by or "–"), date=visible(e.date or "–"))
        if expires:
            by += "; " + t("explanation_expired" if expired else "explanation_until", expires=visible(str(expires)))
        out.append({"text": visible(e.text, keep_newlines=True), "by_line": by, "expired": expired,
                    "category": visible(t.category(e.category)) if e.category else None})
    return out


def _cut(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters (an ellipsis says so): :func:`stekker.text.shorten`."""
    return shorten(text, n)


def _hhi_text(h: float | None, t: Text) -> str:
    return "–" if h is None else t.int(round(h))


def _url(u: Any) -> str | None:
    if isinstance(u, str) and re.match(r"^https?://[^\s\"'<>]+$", u):
        return u
    return None


def _measured(scan: dict[str, Any]) -> _dt.date | None:
    for k in ("started_at", "finished_at"):
        v = scan.get(k)
        if isinstance(v, (int, float)):
            return _dt.datetime.fromtimestamp(float(v), _dt.timezone.utc).date()
        if isinstance(v, _dt.datetime):
            return v.date()
        if v:
            try:
                return _dt.date.fromisoformat(str(v)[:10])
            except ValueError:
                pass
    return None


def _day_text(v: Any) -> str:
    if isinstance(v, (int, float)):
        return _dt.datetime.fromtimestamp(float(v), _dt.timezone.utc).date().isoformat()
    return str(v)[:10] if v else "–"


def _scan_row(meta: dict[str, Any]) -> dict[str, Any]:
    def iso(v: Any) -> Any:
        if isinstance(v, (int, float)):
            return _dt.datetime.fromtimestamp(float(v), _dt.timezone.utc).isoformat()
        return v.isoformat() if hasattr(v, "isoformat") else v

    return {"scan_id": meta.get("scan_id"), "label": meta.get("label"), "started_at": iso(meta.get("started_at")),
            "finished_at": iso(meta.get("finished_at")), "state": meta.get("state"),
            "tool_version": meta.get("tool_version"), "kb_version": meta.get("kb_version")}


def _parallel_ok(store: Any, kb: Any, scan_ids: list[int]) -> bool:
    """Judge earlier scans in a forked process only when nothing has to be
    written first (every scan has attributions for this knowledge base)."""
    import multiprocessing
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods() or cores < 2:
        return False
    try:
        return all(store.attributions_current(i, kb.version) for i in scan_ids)
    except Exception:  # noqa: BLE001 - a store that cannot say: judge here, one after another
        return False


_JOB: "_EarlierJob | None" = None  # the job a forked judging process runs (inherited, never pickled)


def _run_job() -> Any:
    assert _JOB is not None
    try:
        _JOB.store.engine.dispose(close=False)  # the parent's connections stay the parent's
    except Exception:  # noqa: BLE001 - a store without an engine (tests)
        pass
    return _JOB.run()


class _EarlierJob:
    """Judge earlier scans: the first one's comparison states and each one's
    verdicts (the judged results themselves are dropped)."""

    def __init__(self, store: Any, kb: Any, pols: Any, scan_ids: list[int]):
        self.store, self.kb, self.pols, self.scan_ids = store, kb, pols, scan_ids
        self._pool: Any = None

    def run(self) -> tuple[tuple[int, list[Any]] | None, list[tuple[dict[str, Any], dict[str, dict[str, str]]]]]:
        from stekker.judge import judge_results
        from stekker.report import load_scan, measurement_date
        from stekker.report.compare import domain_state

        first = None
        olds = []
        for i, scan_id in enumerate(self.scan_ids):
            try:
                old_attr, old_meta = load_scan(self.store, scan_id, self.kb)
            except LookupError:
                continue
            old = judge_results(old_attr, self.kb, self.pols, measurement_date(old_meta))
            del old_attr
            if i == 0:
                first = (scan_id, [domain_state(r) for r in old])
            olds.append((_scan_row(old_meta), {r.domain: r.verdict for r in old}))
            del old  # only the states and the verdicts are kept: memory is one judged scan
        return first, olds

    def start(self) -> Any:
        global _JOB
        import multiprocessing
        import os

        from stekker.workers import quiet_pool_worker

        _JOB = self
        try:
            # Ctrl-C is the parent's; the SIGTERM of stop() ends the worker silently (the CLI's handler,
            # inherited by fork, made it a KeyboardInterrupt traceback); it dies with the parent
            self._pool = multiprocessing.get_context("fork").Pool(1, initializer=quiet_pool_worker,
                                                                  initargs=(os.getpid(),))
        finally:
            _JOB = None
        return self._pool.apply_async(_run_job)

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
