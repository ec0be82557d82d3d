"""Report: a scan's verdicts under several definitions of "sovereign"
(judged by :mod:`stekker.judge`), tallied and presented with their
denominators.

    from stekker.report import build, load_scan
    attributions, meta = load_scan(store, "latest", kb)
    report = build(attributions, kb, load_policies().select(None), as_of=None, meta=meta)

Outputs: :mod:`stekker.report.terminal` (Rich), :mod:`stekker.report.render`
(HTML, organisation page, PDF), :mod:`stekker.report.export` (CSV, JSONL,
Parquet); :mod:`stekker.report.compare` for two scans.  Definitions and
method for readers: docs/REPORT.md.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from stekker.dates import scan_day
from stekker.text import Message

from .aggregate import HostGroup, Report, Tally, build, tally
from .compare import Comparison, compare

__all__ = [
    "Comparison",
    "HostGroup",
    "Report",
    "Tally",
    "build",
    "compare",
    "load_scan",
    "measurement_date",
    "scan_meta",
    "tally",
]

def scan_meta(store: Any, scan_id: int, kb: Any = None) -> dict[str, Any]:
    """What the report states about the measurement: scan, versions, datasets."""
    info = dict(store.scan_info(scan_id))
    meta: dict[str, Any] = {
        "scan_id": scan_id,
        "label": info.get("label"),
        "started_at": info.get("started_at"),
        "finished_at": info.get("finished_at"),
        "state": info.get("state"),
        "tool_version": info.get("tool_version"),
        "input_path": info.get("input_path"),
        "input_sha256": info.get("input_sha256"),
        "counts": info.get("counts"),
        "kb_version": getattr(kb, "version", None),
        "datasets": [],
        "warnings": [],
    }
    try:
        meta["datasets"] = [dict(d) for d in store.datasets()]
    except Exception:  # noqa: BLE001 - an older store without the table: no datasets to show
        meta["datasets"] = []
    _psl_in_force(meta)
    try:
        from stekker.attribute.engine import asn_data_info
        from stekker.ipasn import AsnTable, stale_warning

        table = AsnTable.load_default()
        used = _asn_used(info, kb)
        if used is not False and used != asn_data_info(table):
            # the stored attributions rest on other IP-to-ASN data than the installed one (or none):
            # the figures are theirs, so state theirs and say how to use the installed data
            meta["datasets"] = [d for d in meta["datasets"]
                                if not (isinstance(d, dict) and table is not None and d.get("name") == table.info.get("name"))]
            have = _asn_label(asn_data_info(table))
            was = _asn_label(used)
            meta["warnings"].append(Message(
                "asn_attributed_with", f"the attributions of scan {scan_id} were computed with IP-to-ASN data {was}; "
                f"installed now: {have}. The figures rest on the former: `stekker attribute --scan {scan_id}` "
                "recomputes them with the installed data", scan=scan_id, was=was, have=have))
            table = None if used is None else used
        if table is not None:
            info_ = dict(table.info) if not isinstance(table, dict) else dict(table)
            if not any(d.get("name") == info_.get("name") for d in meta["datasets"]):
                meta["datasets"].append(info_)
        # no table at all is the worst case: web hosting by IP address stays unknown
        w = stale_warning(table)
        if w:
            meta["warnings"].append(w)
    except Exception:  # noqa: BLE001 - no ASN table installed: nothing to report
        pass
    realm = (info.get("summary") or {}).get("ms_realm") if isinstance(info.get("summary"), dict) else None
    if isinstance(realm, dict):  # the opt-in look-up beyond DNS was used: say so (docs/SCAN.md)
        present, absent, errors = (int(realm.get(k) or 0) for k in ("present", "absent", "error"))
        n = present + absent + errors
        meta["warnings"].append(Message(
            "ms_realm_asked", f"besides DNS, Microsoft's user-realm endpoint was used (stekker scan --ms-realm): of "
            f"{n} domains, {present} are verified in an Entra ID tenant, {absent} are not, {errors} could not be "
            "looked up; identity answers and 'likely Microsoft' mailboxes behind a mail filter rest on it",
            n=n, present=present, absent=absent, errors=errors))
        if errors:
            meta["warnings"].append(Message(
                "ms_realm_errors", f"the Microsoft realm look-up failed for {errors} domains: recorded as errors, "
                "never as 'no tenant'", errors=errors))
    # rows of the input that were not measured (an invalid name, an address, a public suffix, a
    # malformed line): the figures rest on fewer lines than the list had - say so (docs/REPORT.md)
    try:
        from collections import Counter

        from stekker.targets import REJECTING_KINDS

        issues = store.input_issues(scan_id)
        dropped = Counter(i["kind"] for i in issues if i["kind"] in REJECTING_KINDS)
        cut = any(i["kind"] == "truncated" for i in issues)  # more issues than are stored one by one
    except Exception:  # noqa: BLE001 - an older store without the table
        dropped, cut = Counter(), False
    if dropped:
        n = sum(dropped.values())
        # (the kinds are codes, "invalid 2, ip_address 1": a report says them in its language, Strings.message)
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0])))
        meta["warnings"].append(Message(
            "input_rejected_cut" if cut else "input_rejected",
            f"{'at least ' if cut else ''}{n} lines of the input were not measured ({kinds}): the figures do not "
            f"cover them; `stekker show --issues --scan {scan_id}` lists each", n=n, kinds=kinds, scan=scan_id))
    if info.get("state") and info.get("state") != "finished":
        c = info.get("counts") or {}
        meta["warnings"].append(_unfinished(scan_id, info.get("state"), int(c.get("done") or 0),
                                            int(c.get("targets") or 0)))
    return meta


def _asn_label(d: Any) -> str:
    """An IP-to-ASN table as a report names it: ``'ip2asn-v4' (version
    2026-12-05, imported 2026-12-06)``, so two copies of one data set read
    apart (explore-f L15: "computed with 'ip2asn-v4'; installed now:
    'ip2asn-v4'")."""
    if not d:
        return "none"
    from stekker.dates import as_datetime

    parts = [f"version {d['version']}"] if d.get("version") else []
    when = as_datetime(d.get("imported_at"))
    if when is not None:
        parts.append(f"imported {when:%Y-%m-%d %H:%M}")
    if d.get("rows"):
        parts.append(f"{d['rows']} rows")
    return repr(d.get("name")) + (f" ({', '.join(parts)})" if parts else "")


def _unfinished(scan_id: int, state: Any, done: int, total: int) -> Message:
    """The caveat of a scan that did not finish (yet): ``done`` is the number of domains the figures
    cover - :func:`load_scan` counts the attributions it read, as a running scan goes on between reads."""
    return Message("scan_unfinished", f"scan {scan_id} is {state}: {done} of the {total} domains of the input "
                   f"were measured; every figure covers those {done} only", scan=scan_id, state=state,
                   done=done, total=total)


def _asn_used(info: dict[str, Any], kb: Any) -> Any:
    """The IP-to-ASN data the scan's attributions of this knowledge base were computed with (an
    info dict, or None for none), as `attribute_scan` records it; False when not recorded."""
    summ = info.get("summary") if isinstance(info.get("summary"), dict) else {}
    rec = (summ.get("attributed_with") or {}).get(getattr(kb, "version", None))
    return rec.get("asn_data") if isinstance(rec, dict) else False


def _psl_in_force(meta: dict[str, Any]) -> None:
    """Keep the report's public suffix list entry truthful: the store records
    what `stekker data update --db` downloaded, but every stage uses the list
    in force (:func:`stekker.datasets.suffix_list`: the downloaded copy, else
    the bundled one).  When the two differ, the list in force is stated."""
    try:
        from stekker.datasets import suffix_list

        info = dict(getattr(suffix_list(), "info", None) or {})
    except Exception:  # noqa: BLE001 - no list readable: state nothing about it
        return
    rows = meta["datasets"]
    for i, d in enumerate(rows):
        if isinstance(d, dict) and d.get("name") == "psl":
            if d.get("version") != info.get("version") or info.get("bundled"):
                meta["warnings"].append(Message(
                    "psl_in_force", f"the store records public suffix list version {d.get('version')}, but version "
                    f"{info.get('version')} ({info.get('source')}) is in force",
                    stored=d.get("version"), version=info.get("version"), source=info.get("source")))
                rows[i] = info
            return


def measurement_date(meta: dict[str, Any]) -> _dt.date:
    """The day the scan ran (the default ownership date of a report)."""
    return scan_day(meta) or _dt.date.today()


def load_scan(store: Any, scan_ref: Any, kb: Any) -> tuple[list, dict[str, Any]]:
    """(attributions, meta) of a stored scan; attributions are computed from
    the stored evidence (and stored) when missing for the current KB."""
    from stekker.attribute import load_attributions

    scan_id = store.resolve_scan(scan_ref)
    meta = scan_meta(store, scan_id, kb)
    attributions = list(load_attributions(store, scan_id, kb=kb))
    if attributions:
        meta["kb_version"] = attributions[0].kb_version or meta.get("kb_version")
    meta["warnings"] = [_unfinished(scan_id, w.args["state"], len(attributions), w.args["total"])
                        if getattr(w, "key", None) == "scan_unfinished" else w for w in meta.get("warnings") or []]
    return attributions, meta
