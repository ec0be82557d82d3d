"""Per-domain verdicts as CSV, JSONL and Parquet; a scan's records as JSONL
and its DNS questions as CSV (``stekker export``, docs/EXPORT.md).

Every JSON Lines file stekker writes goes through :func:`jsonl_line`.

CSV and Parquet are flat (one row per domain): for each policy its verdict
and the non-sovereign dependencies, for each category the provider (or the
service's state), and the input's extra hosts as ``host=provider`` pairs
(column ``hosts``).  JSONL is nested: every dependency with its verdicts,
reasons, SEAL levels and evidence, and every extra host the same way
(``hosts``).

Values in CSV that a spreadsheet would run as a formula (starting with
``= + - @`` or a tab/CR) are prefixed with ``'`` — DNS and input data are
attacker-controlled.
"""

from __future__ import annotations

import csv
import json
from typing import Any, Iterable, Iterator

from stekker.attribute.model import CATEGORIES
from stekker.judge import HOST_ABSENT, NONE, NOT_SOVEREIGN, SOVEREIGN, DomainResult
from stekker.text import json_inert

from .aggregate import Report

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _dep_label(d, pid: str, lang: str) -> str:
    v = d.verdicts[pid]
    from .render import Strings

    name = Strings(lang).host_provider(d.provider_key, d.service.provider_name) if d.service.provider_name \
        else d.provider_key
    return f"{d.category}: {name} ({v.reason(lang)})"


def _cat_value(r: DomainResult, cat: str) -> str:
    deps = [d for d in r.deps if d.category == cat]
    if not deps:
        return "error" if r.da.status == "error" else ""
    vals = []
    for d in deps:
        s = d.service
        if s.status == "attributed" and s.provider:
            # the key the provider tables count it under: "azure#self-hosted" (a server on Azure's network),
            # "microsoft#likely" (weak evidence only) - never plain "microsoft" for a guess (explore-e M8)
            vals.append(d.provider_key)
        else:
            vals.append(s.status)
    return ",".join(dict.fromkeys(vals))


def _hosts_value(r: DomainResult) -> str:
    """``host=provider`` pairs (provider id, ``self``, or the state: ``unknown``,
    ``error``, ``absent``), ``" | "``-separated."""
    out = []
    for h in r.hosts:
        k = h.provider_key
        out.append(f"{h.host}={'unknown' if k == '?' else k}")
    return " | ".join(out)


def finding_columns(report: Report, lang: str = "en") -> dict[str, str]:
    """Per policy, the CSV column that states the finding in words (from the
    report's strings): ``depends on at least one US-controlled service (nos)``."""
    from .render import Strings

    t = Strings(lang)
    return {p.id: f"{t.finding(p)['one']} ({p.id})" for p in report.policies}


def _dependent(verdict: str) -> bool | None:
    """True: depends on a service failing the definition; False: decided,
    does not; None: excluded (unknown, DNS error, does not exist)."""
    if verdict == NOT_SOVEREIGN:
        return True
    if verdict in (SOVEREIGN, NONE):
        return False
    return None


def flat_rows(report: Report, lang: str = "en") -> list[dict[str, Any]]:
    from .render import Strings

    t = Strings(lang)
    yes, no = t("word_yes"), t("word_no")
    fcols = finding_columns(report, lang)
    rows = []
    for r in report.results:
        row: dict[str, Any] = {
            "domain": r.domain,
            "organisations": " | ".join(r.organisations),
            "sectors": " | ".join(r.sectors),
            "status": r.da.status,
            "as_of": report.as_of.isoformat(),
            "kb_version": r.da.kb_version,
            "failed_queries": len(r.da.errors),
        }
        for p in report.policies:
            # the finding in words: yes / no, empty when excluded (the verdict column says why)
            dep = _dependent(r.verdict[p.id])
            row[fcols[p.id]] = "" if dep is None else (yes if dep else no)
        for p in report.policies:
            row[f"verdict_{p.id}"] = r.verdict[p.id]
            row[f"not_sovereign_{p.id}"] = " | ".join(_dep_label(d, p.id, lang) for d in r.non_sovereign(p.id))
        for c in CATEGORIES:
            row[c] = _cat_value(r, c)
        row["saas"] = _cat_value(r, "saas")
        row["hosts"] = _hosts_value(r)
        for p in report.policies:
            if p.id in report.host_policies:
                row[f"hosts_not_sovereign_{p.id}"] = " | ".join(
                    h.host for h in r.hosts if h.verdict[p.id] == NOT_SOVEREIGN)
        row["explanations"] = " | ".join(
            f"{e.category + ': ' if e.category else ''}{e.text} ({e.by or '-'}, {e.date or '-'})"
            for e in r.explanations)
        rows.append(row)
    return rows


def _safe(v: Any) -> Any:
    from stekker.text import cell

    return cell(v) if isinstance(v, str) else v


def write_csv(report: Report, path: str, sep: str = ",", lang: str = "en") -> int:
    rows = flat_rows(report, lang)
    fields = list(rows[0]) if rows else ["domain"]
    with open(path, "w", newline="", encoding="utf-8-sig" if sep == ";" else "utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, delimiter=sep, quoting=csv.QUOTE_MINIMAL)
        w.writeheader()
        for row in rows:
            w.writerow({k: _safe(v) for k, v in row.items()})
    return len(rows)


def _dep_record(d, lang: str) -> dict[str, Any]:
    s = d.service
    return {
        "category": d.category,
        "primary": d.primary,
        "status": s.status,
        "provider": s.provider,
        "provider_name": s.provider_name,
        "chain": [{"id": e.id, "name": e.name, "country": e.country} for e in (d.chain or [])],
        # parents that control the top of the chain together (joint control), each with its own chain
        "joint_control": [[{"id": e.id, "name": e.name, "country": e.country} for e in ch] for ch in d.joint]
        if d.joint else None,
        "jurisdiction": d.jurisdiction,
        "confidence": s.confidence,
        "basis": s.basis,  # issue 12: kb | network | likely | self (null in older records)
        "service_kind": s.service_kind,  # platform | infrastructure | null
        "note": s.note,  # what to keep in mind: weak evidence, an identity provider not recognised, ...
        "verdicts": {pid: v.to_dict(lang) for pid, v in d.verdicts.items() if v is not None},
        "seal": {k: v.label() for k, v in (d.seal or {}).items()},
        "evidence": [{"qname": e.qname, "rtype": e.rtype, "value": e.value, "rule": e.rule}
                     for e in s.evidence],
    }


def host_record(h, lang: str = "en", pids: list[str] | None = None) -> dict[str, Any]:
    """One extra host: its verdict per policy that judges hosts (``absent``:
    the name has no address) and its providers (primary first) in the shape
    of a dependency."""
    s = h.service
    return {
        "host": h.host,
        "status": s.status,
        "provider": h.provider_key if h.identified else None,
        "verdicts": {pid: ("absent" if v == HOST_ABSENT else v) for pid, v in h.verdict.items()
                     if pids is None or pid in pids},
        "providers": [_dep_record(d, lang) for d in h.deps],
        "note": s.note,
        "evidence": [{"qname": e.qname, "rtype": e.rtype, "value": e.value, "rule": e.rule}
                     for e in s.evidence],
    }


def domain_record(report: Report, r: DomainResult, lang: str = "en",
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    if labels is None:
        labels = finding_labels(report, lang)
    deps = [_dep_record(d, lang) for d in r.deps]
    return {
        "domain": r.domain,
        "organisations": r.organisations,
        "sectors": r.sectors,
        "status": r.da.status,
        "as_of": report.as_of.isoformat(),
        "kb_version": r.da.kb_version,
        "verdicts": dict(r.verdict),
        # per definition: the finding in words and whether this domain has it
        # (null: excluded — unknown, DNS error or not existing; see verdicts)
        "findings": {p.id: {"finding": labels[p.id], "dependent": _dependent(r.verdict[p.id])}
                     for p in report.policies},
        "dependencies": deps,
        "hosts": [host_record(h, lang, report.host_policies) for h in r.hosts],
        "errors": r.da.errors,
        "explanations": [{"category": e.category, "text": e.text, "date": e.date, "by": e.by}
                         for e in r.explanations],
    }


def finding_labels(report: Report, lang: str = "en") -> dict[str, str]:
    from .render import Strings

    t = Strings(lang)
    return {p.id: t.finding(p)["one"] for p in report.policies}


def jsonl_line(record: dict[str, Any]) -> str:
    """One JSON Lines record (UTF-8, not ASCII-escaped) with its newline; hostile
    text from DNS or the input (bidi overrides, C1 controls) as JSON escapes."""
    return json_inert(json.dumps(record, ensure_ascii=False)) + "\n"


def write_jsonl_records(records: Iterable[dict[str, Any]], fh: Any) -> int:
    """Write records to an open text file, one line each; returns the count."""
    n = 0
    for rec in records:
        fh.write(jsonl_line(rec))
        n += 1
    return n


def write_jsonl(report: Report, path: str, lang: str = "en") -> int:
    labels = finding_labels(report, lang)
    with open(path, "w", encoding="utf-8") as fh:
        return write_jsonl_records((domain_record(report, r, lang, labels) for r in report.results), fh)


# ---------------------------------------------------------------------------
# a scan's records (stekker export): the contract of docs/EXPORT.md
# ---------------------------------------------------------------------------


def query_record(r: Any) -> dict[str, Any]:
    """One stored DNS question (``stekker.evidence.QueryResult``) of an export record."""
    return {
        "purpose": r.purpose,
        "qname": r.qname,
        "qtype": r.qtype,
        "status": r.status.value,
        "absent_kind": r.absent_kind.value if r.absent_kind else None,
        "error_kind": r.error_kind.value if r.error_kind else None,
        "rcode": r.rcode,
        "wildcard": r.wildcard,
        "resolver": r.resolver,
        "ts": r.ts,
        "detail": r.detail,
        "answers": [{"name": rr.name, "type": rr.rtype, "ttl": rr.ttl, "value": rr.value} for rr in r.answers],
    }


def scan_records(evidences: Iterable[Any], scan_id: int, evidence: bool = True,
                 attributions: Iterable[Any] | None = None,
                 attribute_missing: Any = None) -> Iterator[dict[str, Any]]:
    """The export records of a scan (docs/EXPORT.md), one per domain of
    ``evidences`` (``store.iter_evidence(scan)``, input order).

    ``attributions``: the scan's stored attributions in the same order
    (``stekker.attribute.load_attributions``); a domain's record is its
    ``DomainAttribution.to_dict()``.  A domain with no stored attribution
    (scanned after ``stekker attribute`` ran) gets ``attribute_missing(ev)``
    when given, else only its input fields.  ``attributions`` None: input
    fields only (``--no-attribution``)."""
    pending = iter(attributions) if attributions is not None else None
    nxt = None
    for ev in evidences:
        rec = None
        if pending is not None:
            if nxt is None:
                nxt = next(pending, None)
            if nxt is not None and nxt.domain == ev.domain:
                rec, nxt = nxt.to_dict(), None
            elif attribute_missing is not None:
                rec = attribute_missing(ev).to_dict()
        rec = rec or {
            "domain": ev.domain,
            "organisation": ev.organisations[0] if ev.organisations else None,
            "organisations": ev.organisations,
            "sector": ev.sectors[0] if ev.sectors else None,
            "sectors": ev.sectors,
            "status": ev.status,
        }
        rec = dict(rec)
        rec["scan_id"] = scan_id
        if evidence:
            rec["queries"] = [query_record(r) for r in ev.results]
        yield rec


QUESTION_COLUMNS = ["domain", "purpose", "qname", "qtype", "status", "absent_kind", "error_kind", "rcode",
                    "wildcard", "resolver", "ts", "answers", "detail"]


def write_questions_csv(evidences: Iterable[Any], fh: Any, sep: str = ",") -> int:
    """One CSV row per stored DNS question (``stekker export --format csv``);
    cells a spreadsheet would run as a formula get a leading '."""
    from stekker.text import cell

    w = csv.writer(fh, delimiter=sep)
    w.writerow(QUESTION_COLUMNS)
    n = 0
    for ev in evidences:
        for r in ev.results:
            w.writerow([cell(v) for v in (
                ev.domain, r.purpose, r.qname, r.qtype, r.status.value,
                r.absent_kind.value if r.absent_kind else "", r.error_kind.value if r.error_kind else "",
                r.rcode or "", int(r.wildcard), r.resolver or "", r.ts or "",
                " | ".join(f"{rr.name} {rr.ttl} {rr.rtype} {rr.value}" for rr in r.answers),
                r.detail or "")])
            n += 1
    return n


def write_parquet(report: Report, path: str, lang: str = "en") -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = flat_rows(report, lang)
    if rows:
        table = pa.Table.from_pylist(rows)
    else:
        table = pa.table({"domain": pa.array([], pa.string())})
    meta = {b"stekker.as_of": report.as_of.isoformat().encode(),
            b"stekker.policies": ",".join(p.id for p in report.policies).encode(),
            b"stekker.kb_version": str(report.meta.get("kb_version", "")).encode(),
            # per policy: the finding its yes/no column states (the CSV column names)
            b"stekker.findings": json.dumps(finding_labels(report, lang), ensure_ascii=False).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    # into a file opened here: pyarrow reads a path as a URI (and cannot encode a name that is not UTF-8)
    with open(path, "wb") as fh:
        pq.write_table(table, fh)
    return len(rows)
