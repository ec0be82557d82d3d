"""The companies knowledge base (src/stekker/kb/data/companies.yaml).

Most checks read the raw YAML with PyYAML so they do not depend on the KB
loader; the last group goes through ``stekker.kb.load()`` (chain and
jurisdiction on two dates) and skips when the loader is not available.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parents[1] / "src" / "stekker" / "kb" / "data"
COMPANIES = DATA / "companies.yaml"
PROVIDERS = DATA / "providers.yaml"

# ISO 3166-1 alpha-2 (officially assigned codes).
ISO2 = set(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
EVENT_KINDS = {"announced", "completed", "blocked", "withdrawn", "renamed"}
FAR_PAST = dt.date(1900, 1, 1)
FAR_FUTURE = dt.date(9999, 12, 31)


def _date(v) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


@pytest.fixture(scope="module")
def raw() -> dict:
    with COMPANIES.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def companies(raw) -> dict[str, dict]:
    return {c["id"]: c for c in raw["companies"]}


def _controller(company: dict, on: dt.date) -> str | None:
    """Direct controlling parent on a date (largest share; unknown = control)."""
    best = None
    for o in company.get("ownership") or []:
        if o.get("parent") is None:
            continue
        since, until = _date(o.get("since")) or FAR_PAST, _date(o.get("until")) or FAR_FUTURE
        if since <= on < until:
            if o.get("joint"):  # controlled together with others: nobody controls alone
                return None
            share = 1.0 if o.get("share") is None else float(o["share"])
            if best is None or share > best[0]:
                best = (share, o["parent"])
    return best[1] if best else None


def _chain(companies: dict, cid: str, on: dt.date) -> list[str]:
    out = [cid]
    cur = _controller(companies[cid], on)
    while cur is not None and cur not in out:
        out.append(cur)
        cur = _controller(companies[cur], on)
    return out


# -- shape ----------------------------------------------------------------------


def test_yaml_parses_and_ids_unique(raw):
    assert isinstance(raw, dict) and isinstance(raw.get("companies"), list)
    ids = [c.get("id") for c in raw["companies"]]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert len(ids) >= 50


def test_every_company_has_identity_and_a_source(companies):
    for cid, c in companies.items():
        assert isinstance(cid, str) and cid == cid.lower() and " " not in cid, cid
        assert c.get("name"), cid
        country = c.get("country")
        assert isinstance(country, str) and country.isupper() and country in ISO2, (cid, country)
        sources = c.get("sources") or []
        assert sources, f"{cid}: no source"
        for s in sources:
            assert str(s.get("url", "")).startswith(("http://", "https://")), (cid, s)
            assert _date(s.get("retrieved")) is not None, (cid, s)


def test_dates_are_iso_strings(companies):
    """Dates are quoted ISO strings in the file (not YAML dates, not free text)."""
    for cid, c in companies.items():
        values = []
        for o in c.get("ownership") or []:
            values += [o.get("since"), o.get("until")]
        for e in c.get("events") or []:
            values.append(e.get("date"))
        for h in c.get("holders") or []:
            values.append(h.get("as_of"))
        for s in c.get("sources") or []:
            values.append(s.get("retrieved"))
        for v in values:
            if v is None:
                continue
            assert isinstance(v, str), (cid, v)
            dt.date.fromisoformat(v)


def test_ownership_facts_are_sourced(companies):
    for cid, c in companies.items():
        for o in c.get("ownership") or []:
            assert str(o.get("source", "")).startswith("http"), (cid, o)
        for e in c.get("events") or []:
            assert e.get("kind") in EVENT_KINDS, (cid, e)
            assert str(e.get("source", "")).startswith("http"), (cid, e)
        for h in c.get("holders") or []:
            assert h.get("holder"), (cid, h)
            assert str(h.get("source", "")).startswith("http"), (cid, h)
            if h.get("country") is not None:
                assert h["country"] in ISO2, (cid, h)


def test_shares_in_unit_interval(companies):
    for cid, c in companies.items():
        for o in c.get("ownership") or []:
            if o.get("share") is not None:
                assert 0.0 <= float(o["share"]) <= 1.0, (cid, o)
        total = 0.0
        for h in c.get("holders") or []:
            if h.get("share") is not None:
                assert 0.0 <= float(h["share"]) <= 1.0, (cid, h)
                total += float(h["share"])
        assert total <= 1.0 + 1e-9, (cid, total)


def test_unverified_entries_carry_no_shares(companies):
    for cid, c in companies.items():
        if "unverified" not in str(c.get("note", "")).lower():
            continue
        for h in c.get("holders") or []:
            # A holder share is a fact about this company; allowed only when its
            # own source is cited next to it (checked above), never guessed.
            assert h.get("source"), (cid, h)


# -- references and consistency --------------------------------------------------


def test_parents_and_counterparties_exist(companies):
    # a parent may be recorded in a further companies-*.yaml file
    known = set(companies)
    for path in DATA.glob("companies-*.yaml"):
        known |= {c["id"] for c in yaml.safe_load(path.read_text(encoding="utf-8"))["companies"]}
    for cid, c in companies.items():
        for o in c.get("ownership") or []:
            p = o.get("parent")
            assert p is None or p in known, f"{cid}: unknown parent {p!r}"
            assert p != cid, f"{cid} owns itself"
        for e in c.get("events") or []:
            cp = e.get("counterparty")
            if e["kind"] == "renamed":
                assert cp is None or cp in companies, (cid, e)
            else:
                assert cp in companies, f"{cid}: unknown event counterparty {cp!r}"


def test_holder_ids_match_countries(companies):
    """A holder written as a company id must agree with that company's country."""
    for cid, c in companies.items():
        for h in c.get("holders") or []:
            hid = h.get("holder")
            if hid in companies and h.get("country") is not None:
                assert h["country"] == companies[hid]["country"], (cid, h)


def test_periods_do_not_overlap(companies):
    for cid, c in companies.items():
        spans = []
        for o in c.get("ownership") or []:
            since, until = _date(o.get("since")) or FAR_PAST, _date(o.get("until")) or FAR_FUTURE
            assert since < until, (cid, o)
            spans.append((since, until))
        # parents in joint control share one period (the same since and until)
        spans = sorted(set(spans) if any(o.get("joint") for o in c.get("ownership") or []) else spans)
        for (s1, u1), (s2, u2) in zip(spans, spans[1:]):
            assert u1 <= s2, f"{cid}: overlapping ownership periods {s1}..{u1} and {s2}..{u2}"


def test_no_ownership_cycles(companies):
    dates = {FAR_PAST, dt.date(2026, 11, 25)}
    for c in companies.values():
        for o in c.get("ownership") or []:
            for d in (o.get("since"), o.get("until")):
                if d is not None:
                    dates.add(_date(d))
    for on in sorted(dates):
        for cid in companies:
            seen = [cid]
            cur = _controller(companies[cid], on)
            while cur is not None:
                assert cur not in seen, f"cycle on {on}: {' -> '.join(seen + [cur])}"
                seen.append(cur)
                # a parent in a further companies-*.yaml: kb.validate() checks the whole (test_loader_validates)
                cur = _controller(companies[cur], on) if cur in companies else None


def test_blocked_deals_never_transfer_control(companies):
    for cid, c in companies.items():
        for e in c.get("events") or []:
            if e["kind"] not in ("blocked", "withdrawn"):
                continue
            for o in c.get("ownership") or []:
                if o.get("parent") != e["counterparty"]:
                    continue
                until = _date(o.get("until")) or FAR_FUTURE
                assert until <= _date(e["date"]), f"{cid}: control by {o['parent']} after blocked deal"


def test_provider_companies_exist(companies):
    with PROVIDERS.open(encoding="utf-8") as fh:
        provs = yaml.safe_load(fh).get("providers") or []
    missing = sorted({p["company"] for p in provs if p.get("company") and p["company"] not in companies})
    assert not missing, f"providers reference companies missing from companies.yaml: {missing}"


# -- the ownership stories the product must get right ------------------------------


def test_solvinity_kyndryl_sale_blocked(companies):
    s = companies["solvinity"]
    assert s["country"] == "NL"
    blocked = [e for e in s["events"] if e["kind"] == "blocked"]
    assert any(_date(e["date"]) == dt.date(2026, 5, 25) and e["counterparty"] == "kyndryl" for e in blocked)
    announced = [e for e in s["events"] if e["kind"] == "announced" and e["counterparty"] == "kyndryl"]
    assert announced and all(_date(e["date"]) < dt.date(2026, 5, 25) for e in announced)
    assert companies["kyndryl"]["country"] == "US"
    for on in (dt.date(2025, 12, 1), dt.date(2026, 5, 24), dt.date(2026, 6, 1), dt.date(2026, 11, 25)):
        assert "kyndryl" not in _chain(companies, "solvinity", on), on


def test_zivver_sold_to_kiteworks(companies):
    z = companies["zivver"]
    done = [e for e in z["events"] if e["kind"] == "completed" and e["counterparty"] == "kiteworks"]
    assert done
    after = max(_date(e["date"]) for e in done) + dt.timedelta(days=1)
    assert _controller(z, after) == "kiteworks"
    assert _chain(companies, "zivver", after)[-1] == "kiteworks"
    assert companies["kiteworks"]["country"] == "US"
    assert _controller(z, dt.date(2024, 1, 1)) is None  # Dutch-owned before 2025


def test_proofpoint_thoma_bravo(companies):
    p = companies["proofpoint"]
    assert _controller(p, dt.date(2021, 8, 30)) is None
    assert _controller(p, dt.date(2021, 8, 31)) == "thoma-bravo"
    assert companies["thoma-bravo"]["country"] == "US"


def test_hornetsecurity_under_proofpoint(companies):
    h = companies["hornetsecurity"]
    assert h["country"] == "DE"
    assert _chain(companies, "hornetsecurity", dt.date(2025, 1, 1)) == ["hornetsecurity"]
    assert _chain(companies, "hornetsecurity", dt.date(2026, 6, 1)) == ["hornetsecurity", "proofpoint", "thoma-bravo"]


def test_mimecast_permira_and_vodafoneziggo_jv(companies):
    assert _controller(companies["mimecast"], dt.date(2022, 5, 18)) is None
    assert _controller(companies["mimecast"], dt.date(2022, 5, 19)) == "permira"
    vz = companies["vodafoneziggo"]
    assert _controller(vz, dt.date(2026, 1, 1)) is None  # 50/50: nobody controls alone
    shares = {h["holder"]: h["share"] for h in vz["holders"]}
    assert shares == {"vodafone-group": 0.5, "liberty-global": 0.5}
    assert companies["vodafone-group"]["country"] == "GB"
    assert companies["liberty-global"]["country"] == "BM"
    assert {o["parent"] for o in vz["ownership"] if o.get("joint")} == {"vodafone-group", "liberty-global"}


# -- through the KB loader ----------------------------------------------------------


@pytest.fixture(scope="module")
def kbase():
    from stekker import kb

    return kb.load()


def test_loader_validates(kbase):
    assert kbase.validate() == []


@pytest.mark.parametrize(
    "cid, before, after, chain_before, chain_after, jur_before, jur_after",
    [
        ("proofpoint", "2021-01-01", "2022-01-01", ["proofpoint"], ["proofpoint", "thoma-bravo"], "US", "US"),
        ("zivver", "2025-01-01", "2026-01-01", ["zivver"], ["zivver", "kiteworks"], "NL", "US"),
        ("hornetsecurity", "2025-06-01", "2026-06-01", ["hornetsecurity"],
         ["hornetsecurity", "proofpoint", "thoma-bravo"], "DE", "US"),
        ("mimecast", "2022-01-01", "2023-01-01", ["mimecast"], ["mimecast", "permira"], "JE", "GB"),
        ("google", "2015-01-01", "2016-01-01", ["google"], ["google", "alphabet"], "US", "US"),
        ("infomaniak", "2026-01-01", "2026-06-01", ["infomaniak"],
         ["infomaniak", "infomaniak-foundation"], "CH", "CH"),
        # Dutch public-sector suppliers (issue 12, sixth round): a school platform to Finland, another to
        # Canada; a German hospital-software house to US private equity
        ("iddink", "2019-09-12", "2019-09-13", ["iddink", "npm-capital"], ["iddink", "sanoma"], "NL", "FI"),
        ("tss", "2013-12-30", "2021-01-04", ["tss"], ["tss", "topicus-com", "constellation-software"], "NL", "CA"),
        ("topicus", "2021-02-09", "2021-02-10", ["topicus"], ["topicus", "topicus-com", "constellation-software"],
         "NL", "CA"),
        ("nexus", "2025-04-27", "2025-04-28", ["nexus"], ["nexus", "ta-associates"], "DE", "US"),
    ],
)
def test_chain_and_jurisdiction_on_two_dates(kbase, cid, before, after, chain_before, chain_after,
                                             jur_before, jur_after):
    assert kbase.chain(cid, before) == chain_before
    assert kbase.chain(cid, after) == chain_after
    assert kbase.jurisdiction(cid, before) == jur_before
    assert kbase.jurisdiction(cid, after) == jur_after


def test_solvinity_through_loader(kbase):
    for on in ("2026-05-24", "2026-06-01"):
        chain = kbase.chain("solvinity", on)
        assert "kyndryl" not in chain
        assert kbase.jurisdiction("solvinity", on) != "US"
    kinds = {(e.kind, e.counterparty, e.date.isoformat()) for e in kbase.events("solvinity")}
    assert ("blocked", "kyndryl", "2026-05-25") in kinds
