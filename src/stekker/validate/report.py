"""Text and Markdown output of the peer check."""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from typing import Iterable

from stekker.validate.check import BUCKETS, WEAK_PATTERNS, DatasetResult
from stekker.validate.verdict import CAUSES, stekker_kinds

HOW_TO_RUN = """\
```sh
# needs root, knotd and unbound (the loopback DNS lab, docs/LAB.md) and ../shared/data/peers
python -m stekker.validate peers --out docs/VALIDATION.md       # all datasets, ~1 min
stekker validate peers --peers ../shared/data/peers --out docs/VALIDATION.md   # same, once registered in the CLI
python -m stekker.validate peers --sample 60                     # a small deterministic sample
python -m stekker.validate peers --dns-only --brief              # without the realm answers (no --ms-realm)
pytest -m lab tests/test_validate_peers.py                       # the test (sample of ~60)
```"""


def _pct(a: int, n: int) -> str:
    return f"{100 * a / n:.1f}%" if n else "-"


def _md(s: str | None) -> str:
    """Text safe inside a Markdown table cell / paragraph."""
    s = (s or "").replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.split())


def _code(s: str) -> str:
    s = " ".join((s or "").split()).replace("`", "'")
    return f"`{s}`"


def verdict_counts(results: Iterable[DatasetResult]) -> Counter:
    return Counter(r.verdict for res in results for r in res.disagreements())


def cause_counts(results: Iterable[DatasetResult]) -> Counter:
    return Counter((r.cause, r.verdict) for res in results for r in res.disagreements())


def none_named_causes(res: DatasetResult) -> Counter:
    """Why stekker names no operator where the peer names one (see markdown())."""
    c: Counter = Counter()
    for r in res.rows:
        if not r.peer_names or r.stekker_names:
            continue
        if r.stekker_status in ("absent", "error"):
            c[r.stekker_status] += 1
        elif r.stekker_gateway:
            c["gateway"] += 1
        elif len(set(r.obs.mx_asns)) != 1:  # the lab gives an MX host a network only for one published ASN
            c["no_asn"] += 1
        else:
            c["unknown_mx"] += 1
    return c


# ------------------------------------------------------------------ text
def text_summary(results: list[DatasetResult], details: bool = True) -> str:
    out = []
    tot_n = sum(r.n for r in results)
    tot_a = sum(r.agree for r in results)
    out.append("stekker mailbox vs peer labels (microsoft / google / amazon / other)")
    for r in results:
        out.append(f"  {r.name:38} n={r.n:5}  agree={r.agree:5}  {_pct(r.agree, r.n):>6}  skipped={len(r.skipped)}"
                   f"  US control={_pct(r.us_agree, r.n):>6}  class and US={_pct(r.both_agree, r.n):>6}")
    out.append(f"  {'all':38} n={tot_n:5}  agree={tot_a:5}  {_pct(tot_a, tot_n):>6}")
    out.append("coverage (peer names a mailbox operator, stekker names none; agreement on local/independent operators)")
    for r in results:
        out.append(f"  {r.name:38} none named={r.none_named:4}/{r.peer_named:<5} {_pct(r.none_named, r.peer_named):>6}"
                   f"  local agree={r.local_agree:4}/{r.local_n:<5} {_pct(r.local_agree, r.local_n):>6}"
                   f"  network={r.basis_count('network')} likely={r.basis_count('likely')}"
                   f" infrastructure={r.infrastructure}")
    out.append("likely answers on a hyperscaler by what they rest on: peer names a hyperscaler / does not")
    for r in results:
        out.append(f"  {r.name:38} " + "  ".join("{}={}/{}".format(k, *r.pattern_split(k)) for k in WEAK_PATTERNS)
                   + f"  class and US if tenant_behind_gateway were other="
                     f"{_pct(r.both_agree_if_other(('tenant_behind_gateway',)), r.n):>6}")
    vc = verdict_counts(results)
    out.append(f"disagreements: {sum(vc.values())}  (peer right {vc.get('peer', 0)}, stekker right "
               f"{vc.get('stekker', 0)}, undecided {vc.get('undecided', 0)})")
    for (cause, verdict), n in sorted(cause_counts(results).items(), key=lambda x: -x[1]):
        out.append(f"  {n:4}  {cause:22} -> {verdict}")
    for r in results:
        out.append("")
        out.append(f"== {r.name}: confusion (rows: peer, columns: stekker)")
        conf = r.confusion()
        out.append("  " + " " * 10 + "".join(f"{b:>10}" for b in BUCKETS))
        for p in BUCKETS:
            out.append(f"  {p:10}" + "".join(f"{conf[p][s]:>10}" for s in BUCKETS))
        if not details:
            continue
        for d in r.disagreements():
            o = d.obs
            out.append(f"- {o.domain}: peer {o.label} ({d.peer_bucket}) vs stekker {d.stekker_label} "
                       f"({d.stekker_bucket}) -> verdict {d.verdict} [{d.cause}]")
            out.append(f"    peer: {o.reason}" + (f" | non-DNS: {'; '.join(o.non_dns_signals)}" if o.non_dns_signals else ""))
            ev = d.evidence or [d.stekker_note or "(no evidence)"]
            out.append("    stekker: " + (f"{d.stekker_note} | " if d.stekker_note and d.evidence else "") + "; ".join(ev[:6])
                       + (" ..." if len(ev) > 6 else ""))
            out.append(f"    verdict: {d.verdict_text}")
    return "\n".join(out)


# ------------------------------------------------------------------ markdown
# MX platforms the first peer check found missing in the knowledge base: (label, an MX host seen)
KB_GAPS = (
    ("one.com", "mx1.pub.mailpod5-cph3.one.com"),
    ("TitanHQ SpamTitan", "cloud7.spamtitan.com"),
    ("Fortinet FortiMail Cloud", "nivelles-be-1.fortimailcloud.com"),
    ("mailanyone.net / mx25.net", "dk.mx1.mailanyone.net"),
    ("staysecuregroup", "lifco-se.mx1.staysecuregroup.com"),
    ("Siminn", "spamvorn.internet.is"),
    ("Abraxas", "mta1.abxsec.com"),
    # third round (issue 12): "why stekker names no operator" in the Nordic and Swiss sets
    ("OpenSRS Hosted Email (Tucows)", "mx.netidentity.com.cust.hostedemail.com"),
    ("iWay", "elba.iway.ch"),
    ("ImproWare", "rrmx.imp.ch"),
    ("SolNet", "mx03.solnet.ch"),
    ("20i StackMail", "mx.stackmail.com"),
)


def markdown(results: list[DatasetResult], meta: dict, kb=None) -> str:
    if kb is None:
        from stekker import kb as kbmod

        kb = kbmod.load()
    L: list[str] = []
    w = L.append
    w("# Validation against peer classifiers (mxmap, mxmap.it, mxmap-dk)")
    w("")
    w("Generated by `stekker validate peers` (`python -m stekker.validate peers`); do not edit by hand, "
      "regenerate it:")
    w("")
    w(HOW_TO_RUN)
    w("")
    w(f"Generated {meta.get('generated')} with stekker {meta.get('stekker_version')}, knowledge base "
      f"`{meta.get('kb_version')}`, peer data from `{_md(meta.get('peers_dir'))}` (commits in "
      "`../shared/data/PROVENANCE.md`; MIT / CC BY-SA 4.0, nothing copied into the package)"
      + (f", sample of {meta['sample']} observations" if meta.get("sample") else "") + ".")
    w("")
    w("## What is compared")
    w("")
    w("The peers published, per domain, the DNS records they observed and the mail provider they concluded. "
      "The check turns the observed records into zones of the loopback DNS lab (net 127.84, real knotd + "
      "unbound, referrals from the lab root), scans every domain with stekker's real collect engine, "
      "attributes it with the shipped knowledge base, and compares stekker's **mailbox** service with the "
      "peer's label in four buckets: **microsoft / google / amazon / other**.")
    w("")
    w("* Peer labels: `microsoft`/`ms365` -> microsoft, `google`/`gws` -> google, `aws` -> amazon; everything "
      "else (`independent`, `local-isp`, `infomaniak`, `telia`, `unknown`, ...) -> other.")
    w("* stekker: the mailbox provider when the status is `attributed` and it is microsoft/google/amazon; any "
      "other provider, `self`, `unknown` (evidence, no conclusion - e.g. an own server behind a gateway), "
      "`absent` and `error` -> other. **stekker `unknown` vs peer `unknown`/`independent`:** both are `other` "
      "in the buckets, because neither names a hyperscaler, which is what the buckets measure; the table of "
      "labels below keeps them apart, so an abstention is never counted as a positive finding. A `likely` "
      "answer counts in its provider's bucket; a server known only by its address in a hyperscaler's network "
      "(service kind infrastructure) counts as other (self-hosted).")
    w("* Record reconstruction: MX, MX CNAMEs, SPF and verification TXT, autodiscover CNAME/SRV and DKIM "
      "selector CNAMEs as published. MX hosts get an address in the lab provider's prefixes when they are in a "
      "lab provider zone (outlook.com, google.com, pphosted.com, ...), else in a synthetic /24 of the ASN the "
      "peer published for the domain's MX hosts (100.64.0.0/10; only when one ASN remains after those of "
      "provider-zone hosts), else in 192.0.2.0/24 (no ASN). DKIM targets get a placeholder key; autodiscover "
      "targets an address. What the peers did not publish is absent: SPF include contents, other DKIM "
      "selectors, and - for mxmap-dk's company lists - everything but MX, SPF and the realm answer. Domains "
      "the lab rescanned once after a DNS error under load are counted in the timings.")
    if meta.get("ms_realm", True):
        w("* Microsoft's realm answer: the peers also published what Microsoft's user-realm endpoint said "
          "(`tenant`: Managed / Federated). A loopback stand-in of that endpoint (`stekker.lab.realm`) answers "
          "it, Unknown where the peer published none, and the scan asks it as `stekker scan --ms-realm` does "
          "(an opt-in look-up beyond DNS; off by default because it tells Microsoft which domains are looked "
          "at). The table *DNS alone* below attributes the same scan without those answers.")
    else:
        w("* Scanned from DNS alone (`--dns-only`): the realm answers the peers published are not asked.")
    w("* A verdict is given for every disagreement (`stekker`, `peer`, `undecided`) from what each side's "
      "conclusion rests on (`src/stekker/validate/verdict.py`; strong mailbox evidence = MX fingerprint, DKIM "
      "CNAME into the provider's key domain, autodiscover; weak = SPF include, verification token, realm "
      "answer (tenant), MX address in a cloud ASN).")
    w("")
    w("## Agreement")
    w("")
    tot_n = sum(r.n for r in results)
    tot_a = sum(r.agree for r in results)
    w("| dataset | compared | skipped | agree | agreement | US control | class and US control | disagree | "
      "peer right | stekker right | undecided |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        vc = Counter(d.verdict for d in r.disagreements())
        w(f"| {_md(r.name)} | {r.n} | {len(r.skipped)} | {r.agree} | **{_pct(r.agree, r.n)}** | "
          f"{_pct(r.us_agree, r.n)} | **{_pct(r.both_agree, r.n)}** | "
          f"{r.n - r.agree} | {vc.get('peer', 0)} | {vc.get('stekker', 0)} | {vc.get('undecided', 0)} |")
    vc = verdict_counts(results)
    tot_us = sum(r.us_agree for r in results)
    tot_both = sum(r.both_agree for r in results)
    w(f"| **all** | {tot_n} | {sum(len(r.skipped) for r in results)} | {tot_a} | **{_pct(tot_a, tot_n)}** | "
      f"{_pct(tot_us, tot_n)} | **{_pct(tot_both, tot_n)}** | "
      f"{tot_n - tot_a} | {vc.get('peer', 0)} | {vc.get('stekker', 0)} | {vc.get('undecided', 0)} |")
    w("")
    if any(r.dns_only is not None for r in results):
        w("")
        w("### DNS alone, and what the realm look-up adds")
        w("")
        w("The same scans attributed without the realm rows (what `stekker scan` gives without `--ms-realm`) "
          "-> with them. A realm answer proves a tenant, not where the mailboxes are: behind a filtering "
          "gateway it gives `likely microsoft` (as an `MS=` token does), never more; next to an MX platform or "
          "an own MX it changes nothing for the mailbox.")
        w("")
        w("| dataset | agreement | class and US control | explained (class and US control) | "
          "peer names an operator, stekker none |")
        w("|---|---:|---:|---:|---:|")
        for r in results:
            d = r.dns_only
            if d is None:
                continue
            w(f"| {_md(r.name)} | {_pct(d.agree, d.n)} -> {_pct(r.agree, r.n)} | "
              f"{_pct(d.both_agree, d.n)} -> {_pct(r.both_agree, r.n)} | "
              f"{_pct(d.both_explained, d.n)} -> {_pct(r.both_explained, r.n)} | "
              f"{d.none_named} ({_pct(d.none_named, d.peer_named)}) -> {r.none_named} "
              f"({_pct(r.none_named, r.peer_named)}) |")
        w("")
    w("**US control** = both sides agree whether the mailbox operator is US-controlled. The peers' labels name "
      "an operator, not its owners: mxmap files microsoft/google/aws as `us-cloud` and everything else as "
      "`swiss-based`, so the peer's answer is its hyperscaler bucket (`unknown` = not shown US-controlled). "
      "stekker's answer is the jurisdiction the judge uses: the ultimate parent's country on the date of the "
      "mailbox provider's company (a `likely` answer included; a server on a cloud's network is the cloud's), "
      "for a network answer the AS holder's registration country; `self`, `unknown`, `absent` are not "
      "US-controlled. It differs from the class where a non-hyperscaler operator is US-owned (or the reverse) "
      "and where both sides name a different hyperscaler. **Class and US control** counts a domain only "
      "when both agree (issue 12's \"agreement on class and US control\").")
    w("")
    w("Target: >= 97% per dataset (issue 3); issue 12: class and US control >= 98%. " + ", ".join(
        f"{_md(r.name)}: {'met' if r.rate >= 0.97 else 'NOT met'} / "
        f"{'met' if r.n and r.both_agree / r.n >= 0.98 else 'NOT met'}" for r in results) + ".")
    w("")
    w("### Coverage: is an operator named at all?")
    w("")
    w("The buckets above only ask whether a hyperscaler is named. Here: of the domains where the peer names a "
      "mailbox operator (any label but `unknown`), how many get **no operator from stekker** (`unknown`, "
      "`absent`, `error`), and of the domains the peer gives to a local ISP or an independent/other provider, "
      "how many get a non-hyperscaler operator from stekker (a provider, a network operator, the organisation "
      "itself, a server it runs on a cloud). `network` = answers that rest on the network operator of the MX "
      "addresses (IP-to-ASN holder; in the lab: the ASN the peer published), `likely` = answers from weak "
      "evidence only (SPF include, tenant token or realm answer behind a gateway), `self-hosted on a cloud` = an MX host "
      "known only by its address in a cloud's network (service kind infrastructure, bucket other). "
      "Explained agreement counts as agreements the disagreements whose verdict is `stekker` and the look-through questions (`likely_behind_gateway`, `peer_tenant_or_token`: a gateway that one side looks through on a tenant token; `both_look_through`: both sides do, on tokens of different platforms); the same for class and US control (a domain "
      "where only US control differs has no verdict and stays a disagreement). Disagreements the peer data "
      "cannot settle (`peer_unpublished`: the peer cites records it did not publish) are **not** counted as "
      "explained.")
    w("")
    w("| dataset | peer names an operator | stekker names none | share | local/independent (peer) | "
      "stekker agrees | local agreement | explained agreement | explained (class and US control) | network | "
      "likely | self-hosted on a cloud |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        w(f"| {_md(r.name)} | {r.peer_named} | {r.none_named} | **{_pct(r.none_named, r.peer_named)}** | "
          f"{r.local_n} | {r.local_agree} | **{_pct(r.local_agree, r.local_n)}** | "
          f"{_pct(r.agree_explained, r.n)} | {_pct(r.both_explained, r.n)} | {r.basis_count('network')} | "
          f"{r.basis_count('likely')} | {r.infrastructure} |")
    pn = sum(r.peer_named for r in results)
    nn = sum(r.none_named for r in results)
    ln = sum(r.local_n for r in results)
    la = sum(r.local_agree for r in results)
    ae = sum(r.agree_explained for r in results)
    be = sum(r.both_explained for r in results)
    w(f"| **all** | {pn} | {nn} | **{_pct(nn, pn)}** | {ln} | {la} | **{_pct(la, ln)}** | {_pct(ae, tot_n)} | "
      f"{_pct(be, tot_n)} | "
      f"{sum(r.basis_count('network') for r in results)} | {sum(r.basis_count('likely') for r in results)} | "
      f"{sum(r.infrastructure for r in results)} |")
    w("")
    w("Target (issue 12): no operator named where the peer names one <= 5% per dataset. " + ", ".join(
        f"{_md(r.name)}: {'met' if r.peer_named and r.none_named / r.peer_named <= 0.05 else 'NOT met'}"
        for r in results) + ".")
    w("")
    w("Why stekker names no operator where the peer names one (per dataset): **behind a gateway** = the MX is a "
      "filtering gateway stekker knows and the published records (and realm answer, with `--ms-realm`) show "
      "nothing of what is behind it (the peer's label then rests on a token or records it did not publish, or "
      "on the gateway's country); **unknown MX, no ASN** = an MX host no fingerprint knows and the peer published no single ASN for "
      "its address (none, or several), so the lab cannot give it a network operator (a live scan would); "
      "**unknown MX** = the same with one published ASN that still gave no operator; absent / error as such.")
    w("")
    w("| dataset | stekker names none | behind a gateway | unknown MX, no ASN | unknown MX | absent | error |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c = none_named_causes(r)
        w(f"| {_md(r.name)} | {r.none_named} | {c['gateway']} | {c['no_asn']} | {c['unknown_mx']} | "
          f"{c['absent']} | {c['error']} |")
    w("")
    conventions(results, w)
    w("### What the agreements rest on")
    w("")
    w("Agreement on a hyperscaler is only as good as stekker's evidence for it. Per dataset, the agreed "
      "microsoft/google/amazon answers by the strongest kind of evidence stekker had for that provider "
      "(`mx` > `dkim` > `autodiscover` (CNAME/SRV) > `spf` > `asn` > `txt`):")
    w("")
    order = ("mx", "dkim", "cname", "srv", "selector", "spf", "asn", "txt")
    label = {"cname": "autodiscover", "srv": "autodiscover", "selector": "dkim"}
    w("| dataset | agreed on a hyperscaler | mx | dkim | autodiscover | spf only | asn only | other |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c: Counter = Counter()
        for d in r.rows:
            if d.agree and d.stekker_bucket in ("microsoft", "google", "amazon"):
                kinds = stekker_kinds(d, d.stekker_bucket)
                best = next((label.get(k, k) for k in order if k in kinds), "other")
                c[best] += 1
        w(f"| {_md(r.name)} | {sum(c.values())} | {c['mx']} | {c['dkim']} | {c['autodiscover']} | {c['spf']} | "
          f"{c['asn']} | {c['txt'] + c['other']} |")
    w("")
    w("Agreements resting on an SPF include alone (stekker's mailbox from `spf.protection.outlook.com` when "
      "the MX host is unknown to the knowledge base, e.g. cantonal relays `ktvmx0N.mail.admin.ch`, "
      "`mailN.zg.ch`) share the weakness of the `stekker_spf_only` disagreements: both sides agree, neither "
      "has mailbox evidence. They are counted as agreements, as published, and flagged here.")
    w("")
    w("### Disagreements by cause")
    w("")
    w("| cause | verdict | n | meaning |")
    w("|---|---|---:|---|")
    for (cause, verdict), n in sorted(cause_counts(results).items(), key=lambda x: (-x[1], x[0])):
        w(f"| `{cause}` | {verdict} | {n} | {_md(CAUSES.get(cause, ''))} |")
    w("")
    w("### Findings for the engine and the knowledge base")
    w("")
    own = sum(d.cause == "own_mx_decides" for r in results for d in r.disagreements())
    relay = sum(d.agree and d.stekker_bucket != "other" and "self" in d.stekker_also
                and any(e.startswith("(also self) self.own-domain") and " MX " in e for e in d.evidence)
                for r in results for d in r.rows)
    own_spf = sum(d.cause == "spf_only_vs_own_mx" for r in results for d in r.disagreements())
    w(f"* **Engine (attribution rules), own MX vs platform evidence:** DKIM selector CNAMEs into a mailbox "
      "platform's key domain and autodiscover CNAME/SRV (rules.yaml mailbox `platform_kinds`) win over an MX "
      "host under the organisation's own domain; the own host is then the inbound hop (`mail_inbound` self) "
      "and a self-run relay (`mail_gateway` self, `relay_of: mailbox`). "
      f"{relay} agreements now rest on such platform evidence behind an own MX; {own} disagreements of the "
      f"kind `own_mx_decides` remain. Without platform evidence the own MX still decides ({own_spf} "
      "`spf_only_vs_own_mx`, undecided: an own MX can hold the mailboxes or relay to a platform, which DNS "
      "cannot tell apart without DKIM keys or autodiscover there).")
    spf_rows = [d for r in results for d in r.disagreements() if d.cause == "stekker_spf_only"]
    w(f"* **Engine, SPF includes:** an SPF include or verification token alone (`weak_kinds`) weighs 0.5 for "
      "the mailbox, comes after any MX host known by name, own domain or address, and carries a "
      "low-confidence note; among such providers one with an SPF include (mail is sent through it) comes "
      "before one with only a tenant token or realm answer (an account exists, perhaps for Teams alone; "
      "`weak_first`), and includes of equal weight are ordered by kinds of evidence (an office-role "
      "token such as `MS=ms...` counts) and then by their order in the record, no longer alphabetically. "
      f"{len(spf_rows)} disagreements remain where the MX host is unknown to the knowledge base and only an "
      "SPF include names a provider (`stekker_spf_only`"
      + (": " + ", ".join(sorted(d.input_domain for d in spf_rows)) if spf_rows else "")
      + "); the MX platform has to be added to the knowledge base where it is a known service; an "
      "organisation's own servers under another of its domains (SEB: seb.se for sebgroup.com) cannot be told "
      "from DNS.")
    dk = sum(any("dkim.mail.microsoft" in e for e in d.evidence) for r in results for d in r.rows)
    w(f"* **Knowledge base, fixed:** the newer Microsoft 365 DKIM CNAME format "
      f"`selectorN-<domain>._domainkey.<tenant>.<x>-v1.dkim.mail.microsoft` was missing; added as a data "
      f"change with its Microsoft Learn source ({dk} domains now carry it as evidence, two of them behind a "
      "Barracuda/Sophos gateway).")
    known, missing = [], []
    for label, host in KB_GAPS:
        m = kb.match_name(host, on="mx") if kb is not None else []
        (known if m else missing).append(f"{label} (`{host}`" + (f" -> {m[0].provider}" if m else "") + ")")
    if known:
        w("* **Knowledge base, MX platforms the peer check found missing, now in providers.yaml:** "
          + ", ".join(known) + ".")
    if missing:
        w("* **Knowledge base, MX platforms still missing** (no read source names their operator; a provider "
          "needs a sourced company first): " + ", ".join(missing) + ".")
    lbg = sum(d.cause == "likely_behind_gateway" for r in results for d in r.disagreements())
    w("* **Engine, answers beyond the knowledge base (issue 12):** an MX address in an ASN of no known provider "
      f"names its network operator (basis `network`: {sum(r.basis_count('network') for r in results)} mailbox "
      "answers here; the lab's ASN holder names are the peer-published ASNs); an MX at a known operator's own "
      "mail host, an SPF include alone or a tenant token or realm answer behind a filtering gateway is `likely <provider>` "
      f"({sum(r.basis_count('likely') for r in results)}); an MX known only by its address in a cloud's or "
      "ISP's network is `self-hosted on <provider>` (service kind infrastructure, bucket other: "
      f"{sum(r.infrastructure for r in results)}). {lbg} disagreements are `likely_behind_gateway`: the peer "
      "(mxmap) does not look through the gateway on a token, stekker shows 'likely microsoft' - a question "
      "DNS cannot settle; the explained agreement counts them.")
    w("* **Peers:** mxmap-dk's company lists cite DKIM/autodiscover/TXT records they do not publish; "
      "Google labels from a google-site-verification token alone (Search Console) and Microsoft labels "
      "from the tenant realm API alone are not mailbox evidence.")
    w("")
    for r in results:
        w(f"### {_md(r.name)}: confusion (rows: peer, columns: stekker)")
        w("")
        conf = r.confusion()
        w("| peer \\ stekker | " + " | ".join(BUCKETS) + " |")
        w("|---|" + "---:|" * len(BUCKETS))
        for p in BUCKETS:
            w(f"| **{p}** | " + " | ".join(str(conf[p][s]) for s in BUCKETS) + " |")
        w("")
        fine = r.fine()
        w("<details><summary>labels: peer label x stekker mailbox answer</summary>")
        w("")
        w("| peer label | stekker | n |")
        w("|---|---|---:|")
        for (pl, sl), n in sorted(fine.items(), key=lambda x: (-x[1], x[0])):
            w(f"| {_md(pl)} | {_md(sl)} | {n} |")
        w("")
        w("</details>")
        w("")
    w("## Every disagreement")
    w("")
    for r in results:
        dis = r.disagreements()
        w(f"### {_md(r.name)} ({len(dis)})")
        w("")
        if not dis:
            w("None.")
            w("")
        for d in sorted(dis, key=lambda x: (x.cause or "", x.obs.domain)):
            o = d.obs
            w(f"#### {_md(o.domain)} - peer **{_md(o.label)}**, stekker **{_md(d.stekker_label)}** - "
              f"verdict: **{d.verdict}** (`{d.cause}`)")
            w("")
            w(f"* MX: {', '.join(_code(m) for m in o.mx) or '(none)'}"
              + (f"; MX ASNs (peer): {', '.join(map(str, o.mx_asns))}" if o.mx_asns else "")
              + (f"; gateway (peer): {_md(o.gateway)}" if o.gateway else "")
              + (f"; gateway (stekker): {_md(d.stekker_gateway)}" if d.stekker_gateway else ""))
            w(f"* peer's reason: {_md(o.reason) or '(none given)'}"
              + (f"; signals beyond DNS: {_md('; '.join(o.non_dns_signals))}" if o.non_dns_signals else ""))
            if d.evidence:
                w(f"* stekker's evidence ({_md(d.stekker_label)}"
                  + (f"; also: {_md(', '.join(d.stekker_also))}" if d.stekker_also else "") + "):")
                for e in d.evidence[:8]:
                    w(f"  * {_code(e)}")
                if len(d.evidence) > 8:
                    w(f"  * ... {len(d.evidence) - 8} more")
            if d.stekker_note:
                w(f"* stekker's note: {_md(d.stekker_note)}")
            if d.dropped:
                w(f"* records the lab could not hold: {_md('; '.join(d.dropped))}")
            w(f"* **verdict ({d.verdict})**: {_md(d.verdict_text)}")
            w("")
    w("## Skipped observations")
    w("")
    skipped = [s for r in results for s in r.skipped]
    if not skipped:
        w("None.")
    else:
        w("| dataset | domain | peer label | reason |")
        w("|---|---|---|---|")
        for s in skipped:
            w(f"| {_md(s.dataset)} | {_md(s.domain)} | {_md(s.label)} | {_md(s.reason)} |")
    dropped = [(r.name, d) for r in results for d in r.rows if d.dropped]
    w("")
    w(f"Observations with records the lab could not hold (listed per domain): {len(dropped)}.")
    for name, d in dropped:
        w(f"* {_md(name)} / {_md(d.obs.domain)}: {_md('; '.join(d.dropped))}")
    w("")
    w("## Timings")
    w("")
    for r in results:
        w(f"* {_md(r.name)}: " + ", ".join(f"{k} {v}" for k, v in r.timings.items()))
    w("")
    return "\n".join(L)


def conventions(results: list[DatasetResult], w) -> None:
    """The peers' own conventions on the weak evidence behind a 'likely'
    answer, and what the targets would read under the other convention."""
    pats = list(WEAK_PATTERNS)
    tenant = ("tenant_behind_gateway",)
    w("### One reading, two peers: the evidence the peers label differently")
    w("")
    w("stekker answers `likely <provider>` on weak evidence alone (issue 12 item 4) and counts it in its provider's "
      "bucket. The peers read the same evidence by different conventions. Per dataset, stekker's `likely` answers "
      "on a hyperscaler by what they rest on, split by the peer's label (**h** = the peer names a hyperscaler, "
      "**o** = it names another operator or none):")
    w("")
    for k in pats:
        w(f"* `{k}`: {WEAK_PATTERNS[k]}")
    w("")
    w("| dataset | " + " | ".join(f"{k}: h / o" for k in pats) + " | class and US control (as published) | "
      "if `tenant_behind_gateway` counted as other | if every `likely` counted as other |")
    w("|---|" + "---:|" * (len(pats) + 3))
    for r in results:
        cells = " | ".join("{} / {}".format(*r.pattern_split(k)) for k in pats)
        w(f"| {_md(r.name)} | {cells} | {_pct(r.both_agree, r.n)} | {_pct(r.both_agree_if_other(tenant), r.n)} | "
          f"{_pct(r.both_agree_if_other(pats), r.n)} |")
    w("")
    split = {r.name: r.pattern_split("tenant_behind_gateway") for r in results}
    yes = [n for n, (h, o) in split.items() if h > o]
    no = [n for n, (h, o) in split.items() if o > h]
    if yes and no:
        w(f"A tenant behind a gateway is a hyperscaler's mailbox for {', '.join(map(_md, yes))} and not for "
          f"{', '.join(map(_md, no))}: no single reading of that evidence reaches the same agreement on both, and "
          "choosing the reading per peer would be tuning to the peer. stekker keeps one reading - `likely`, shown "
          "separately, never counted as sovereign - and these columns show what the other reading would give.")
    w("")


def meta_for(peers_dir, sample: int | None = None) -> dict:
    from stekker import __version__
    from stekker import kb as kbmod

    return {
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "stekker_version": __version__,
        "kb_version": kbmod.load().version,
        "peers_dir": "../shared/data/peers" if str(peers_dir).rstrip("/").endswith("shared/data/peers") else str(peers_dir),
        "sample": sample,
    }
