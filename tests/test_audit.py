"""stekker audit: inventory validation, resolution through the KB (incl. an
ownership change on a date), scenario arithmetic, seeding from DNS,
ranking, rendered report (nl/en) and the CLI."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner
from cli_util import cli

from stekker.audit import catalog as C
from stekker.audit.loader import InventoryError, load, load_text
from stekker.audit.model import Inventory, Item
from stekker.audit.plan import make_plan
from stekker.audit.report import context, render_html, run_audit
from stekker.audit.resolve import resolve, resolve_item
from stekker.audit.scenarios import concentration, cut_off, owner_change, price_doubles
from stekker.audit.seed import seed_items

EXAMPLE = C.DATA_DIR / "inventory_example.yaml"
TEMPLATE = C.DATA_DIR / "inventory_template.yaml"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "reference" / "european-alternatives"


# --------------------------------------------------------------- a test KB
class FakeKB:
    """The subset of the stekker.kb API the audit uses (see kb/data/README.md):
    company(id) -> None when unknown; chain(id, as_of) -> ids, company first;
    jurisdiction(id, as_of) -> ISO-2 of the ultimate parent; events(id)."""

    version = "test-kb-1"

    def __init__(self, companies: dict, ownership: dict | None = None, events: dict | None = None):
        self.companies = {k: SimpleNamespace(id=k, name=v[0], country=v[1]) for k, v in companies.items()}
        self.ownership = ownership or {}  # id -> [(parent, since, until)]
        self._events = events or {}

    def company(self, cid):
        return self.companies.get(cid)

    def _parent(self, cid, d):
        for parent, since, until in self.ownership.get(cid, []):
            if (since is None or since <= d) and (until is None or d < until):
                return parent
        return None

    def chain(self, cid, as_of):
        d = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
        out = [cid]
        while (p := self._parent(out[-1], d)) is not None:
            out.append(p)
        return out

    def jurisdiction(self, cid, as_of):
        return self.companies[self.chain(cid, as_of)[-1]].country

    def events(self, cid):
        return [SimpleNamespace(date=dt.date.fromisoformat(d), kind=k, counterparty=c, note=n, source="https://example.org/" + cid)
                for d, k, c, n in self._events.get(cid, [])]


def test_kb() -> FakeKB:
    return FakeKB(
        companies={
            "microsoft": ("Microsoft Corporation", "US"),
            "slack": ("Slack Technologies", "US"),
            "salesforce": ("Salesforce, Inc.", "US"),
            "exact": ("Exact Group B.V.", "NL"),
            "kkr": ("KKR & Co. Inc.", "US"),
            "mollie": ("Mollie B.V.", "NL"),
            "transip": ("TransIP B.V.", "NL"),
            "team-blue": ("team.blue", "BE"),
            "cpp-investments": ("CPP Investments", "CA"),
            "nextcloud": ("Nextcloud GmbH", "DE"),
        },
        ownership={
            "exact": [("kkr", dt.date(2019, 7, 1), None)],
            "slack": [("salesforce", dt.date(2021, 7, 21), None)],
            "transip": [("team-blue", dt.date(2019, 1, 1), None)],
        },
        events={
            "exact": [("2019-04-01", "announced", "kkr", "KKR to buy Exact"), ("2019-07-01", "completed", "kkr", None)],
            "slack": [("2020-12-01", "announced", "salesforce", "Salesforce to buy Slack")],
            "team-blue": [("2024-07-10", "announced", "cpp-investments", "partial sale")],
        },
    )


test_kb.__test__ = False  # a factory, not a test


def inv(*items: dict, budget=None) -> Inventory:
    return Inventory.model_validate({"organisation": "Test B.V.", "it_budget": budget, "items": list(items)})


# --------------------------------------------------------------- validation
def test_yaml_errors_name_file_line_and_field(tmp_path):
    p = tmp_path / "inv.yaml"
    p.write_text(
        "organisation: X\n"            # 1
        "items:\n"                     # 2
        "  - name: Mail\n"             # 3
        "    category: email\n"        # 4
        "    product: Microsoft 365\n"  # 5
        "    annual_cost: -5\n"        # 6
        "  - name: CRM\n"              # 7
        "    category: crmx\n"         # 8
        "    product: HubSpot\n"       # 9
        "    users: veel\n"            # 10
        "    contract_end: 2027-13-01\n"  # 11
        "  - category: crm\n"          # 12
        "    vendor: HubSpot\n",       # 13
        encoding="utf-8")
    with pytest.raises(InventoryError) as ei:
        load(p)
    msgs = [str(x) for x in ei.value.problems]
    f = str(p)
    assert any(m.startswith(f"{f}:6: items[0] (Mail).annual_cost:") and "greater than or equal to 0" in m for m in msgs), msgs
    assert any(m.startswith(f"{f}:8: items[1] (CRM).category: unknown category 'crmx'") for m in msgs), msgs
    assert any(m.startswith(f"{f}:10: items[1] (CRM).users:") and "'veel'" in m for m in msgs), msgs
    assert any(m.startswith(f"{f}:11: items[1] (CRM).contract_end:") for m in msgs), msgs
    assert any(m.startswith(f"{f}:12: items[2].name: Field required") for m in msgs), msgs
    assert len(msgs) == 5


def test_yaml_model_level_errors_point_at_the_item_line():
    text = "items:\n  - name: X\n    category: crm\n  - name: Y\n    category: email\n    users: 3\n"
    with pytest.raises(InventoryError) as ei:
        load_text(text, "i.yaml")
    (p1, p2) = ei.value.problems
    assert (p1.line, p1.field) == (2, "items[0] (X)") and "product or a vendor" in p1.message
    assert (p2.line, p2.field) == (4, "items[1] (Y)")


def test_duplicate_names_and_unknown_dependency_have_lines():
    text = ("items:\n"
            "  - {name: Mail, category: email, product: Proton}\n"
            "  - name: mail\n    category: email\n    product: Tuta\n"
            "  - name: CRM\n    category: crm\n    product: HubSpot\n    depends_on: [Login]\n")
    with pytest.raises(InventoryError) as ei:
        load_text(text, "d.yaml")
    msgs = [str(p) for p in ei.value.problems]
    assert msgs[0].startswith("d.yaml:3: items[1].name: 'mail' is also the name of items[0]")
    assert msgs[1].startswith("d.yaml:9: items[2] (CRM).depends_on: 'Login' is not the name of an item")


def test_problems_of_items_and_between_items_come_in_one_round():
    """Explore-c (low): a duplicate name or a depends_on naming no item was
    reported only after every item's own problems were fixed: the user fixed
    the file twice.  Now all come at once, in the order of the file; an item
    with problems of its own still counts by its name."""
    text = ("items:\n"
            "  - name: Mail\n    category: email\n    product: Microsoft 365\n    annual_cost: veel\n"
            "  - name: CRM\n    category: crm\n    depends_on: Inloggen; Mail\n"
            "  - name: mail\n    category: crm\n    product: HubSpot\n")
    with pytest.raises(InventoryError) as ei:
        load_text(text, "r.yaml")
    got = [(p.line, p.field, p.message.split(":")[0]) for p in ei.value.problems]
    assert got == [(5, "items[0] (Mail).annual_cost", "not an amount"),
                   (6, "items[1] (CRM)", "give at least a product or a vendor"),
                   (8, "items[1] (CRM).depends_on", "'Inloggen' is not the name of an item in this inventory"),
                   (9, "items[2].name", "'mail' is also the name of items[0]; names must be unique")], got


def test_invalid_yaml_syntax_reports_line():
    with pytest.raises(InventoryError) as ei:
        load_text("items:\n  - name: [unclosed\n    category: crm\n", "bad.yaml")
    assert ei.value.problems[0].line is not None and "invalid YAML" in ei.value.problems[0].message


def test_inventory_problems_read_in_dutch(monkeypatch):
    """An inventory's problems reach its owner in Dutch (STEKKER_LANG=nl), pydantic's own messages
    too: they are matched word for word with pydantic's English (stekker.audit.loader), so a pydantic
    that words one otherwise leaves it English - and this test names it."""
    from stekker import i18n

    text = ("items:\n"
            "  - name: Mail\n    category: email\n    product: Gmail\n    annual_cost: -5\n"
            "    users: veel\n    criticality: heel hoog\n    colour: blue\n    export: 5\n"
            "  - category: crm\n    vendor: HubSpot\n    users: 2.5\n    stops: 5\n    detected: misschien\n"
            "  - {name: '', category: crm, vendor: HubSpot, depends_on: [Login]}\n")
    monkeypatch.setenv("STEKKER_LANG", "nl")
    i18n.reset()
    try:
        with pytest.raises(InventoryError) as ei:
            load_text(text, "i.yaml")
        with pytest.raises(InventoryError) as ej:
            load_text("name;category;colour\nX;crm\n", "c.csv")
    finally:
        i18n.reset()
    msgs = [str(p) for p in ei.value.problems + ej.value.problems]
    english = [m for m in msgs if re.search(r"Input should|Field required|Extra inputs|should have|\(got |is not the name"
                                            r"|unknown column|cells, the header", m)]
    assert not english, english
    assert any(m.startswith("i.yaml:5: items[0] (Mail).annual_cost: ") and "groter dan of gelijk aan 0" in m
               and "(ingevuld: " in m for m in msgs), msgs
    assert any("criticality: " in m and "'high', 'medium' of 'low'" in m for m in msgs), msgs
    assert any(m.startswith("i.yaml:10: items[1].name: ") for m in msgs), msgs
    assert any(m.startswith("i.yaml:15: items[2].depends_on: 'Login' ") for m in msgs), msgs  # no "(None)"
    assert len(msgs) == 12, msgs


def test_csv_rows_report_their_line_and_parse_lists():
    text = ("# organisation: CSV B.V.\n"
            "# it_budget: 10000\n"
            "name,category,product,annual_cost,users,stops,export_formats,export_api\n"
            "Mail,email,Proton Mail,120,3,e-mail;agenda,EML;ICS,true\n"
            "\n"
            "CRM,crm,HubSpot,veel,2,,,\n")
    with pytest.raises(InventoryError) as ei:
        load_text(text, "i.csv")
    (p,) = ei.value.problems
    assert str(p).startswith("i.csv:6: items[1] (CRM).annual_cost:") and "'veel'" in str(p)
    ok = load_text(text.replace("veel", "1000"), "i.csv")
    assert ok.organisation == "CSV B.V." and ok.it_budget == Decimal(10000)
    assert ok.items[0].stops == ["e-mail", "agenda"] and ok.items[0].export.formats == ["EML", "ICS"]
    assert ok.items[0].export.api is True and ok.items[1].annual_cost == Decimal(1000)


def test_csv_unknown_column_is_an_error():
    with pytest.raises(InventoryError) as ei:
        load_text("name,category,colour\nX,crm,red\n", "c.csv")
    assert ei.value.problems[0].line == 1 and "colour" in ei.value.problems[0].message


def test_shipped_example_and_template_validate():
    ex = load(EXAMPLE)
    assert len(ex.items) >= 12 and ex.it_budget == Decimal(60000)
    products = {i.product for i in ex.items}
    assert {"Exact Online", "Nmbrs", "Mollie", "Dropbox Business"} <= products
    assert load(TEMPLATE).items[0].name == "E-mail en agenda"
    assert Path(__file__).resolve().parents[1].joinpath("examples", "inventory.yaml").read_text() == EXAMPLE.read_text()


# --------------------------------------------------------------- resolution
def test_ownership_change_on_a_date_changes_parent_and_jurisdiction():
    kb = test_kb()
    item = Item(name="Boekhouding", category="accounting", product="Exact Online")
    before = resolve_item(item, kb, "2019-01-01")
    after = resolve_item(item, kb, "2020-01-01")
    assert (before.status, before.parent, before.jurisdiction, before.group) == ("resolved", "exact", "NL", "eu")
    assert (after.parent, after.parent_name, after.jurisdiction, after.group) == ("kkr", "KKR & Co. Inc.", "US", "non_european")
    assert [l.id for l in after.chain] == ["exact", "kkr"]
    # the change-of-owner scenario sees the change within the look-back window (5 years) ...
    (ch,) = after.owner_changes
    assert (ch.kind, ch.from_parent, ch.to_parent, ch.to_jurisdiction, ch.date) == (
        "changed", "Exact Group B.V.", "KKR & Co. Inc.", "US", "2019-07-01")
    # ... but not once it is older than that, and not before it happened
    assert resolve_item(item, kb, "2025-01-01").owner_changes == []
    assert before.owner_changes == []


def test_pending_deal_and_completed_deal():
    kb = test_kb()
    web = resolve_item(Item(name="Website", category="website_hosting", product="TransIP"), kb, "2025-01-01")
    (ch,) = web.owner_changes
    assert (ch.kind, ch.company, ch.counterparty, ch.counterparty_jurisdiction) == ("pending", "team-blue", "cpp-investments", "CA")
    # announced before the as-of date only
    assert resolve_item(Item(name="W", category="website_hosting", product="TransIP"), kb, "2024-01-01").owner_changes == []
    # Slack's announced deal is not "pending": Salesforce already controls it
    slack = resolve_item(Item(name="Chat", category="communication", product="Slack"), kb, "2025-01-01")
    assert slack.parent == "salesforce" and all(c.kind != "pending" for c in slack.owner_changes)


def test_unknown_is_reported_never_guessed():
    kb = test_kb()
    r1 = resolve_item(Item(name="A", category="other", product="WerkbonPro", vendor="Appsoft B.V."), kb, "2025-01-01")
    assert (r1.status, r1.reason, r1.jurisdiction, r1.group) == ("unknown", "product_not_in_catalogue", None, "unknown")
    # a near-miss spelling is not fuzzily matched
    r2 = resolve_item(Item(name="B", category="crm", product="Hubspott"), kb, "2025-01-01")
    assert r2.reason == "product_not_in_catalogue"
    # in the catalogue, but the KB lacks the company (named by the product: a company's names are the KB's)
    r3 = resolve_item(Item(name="C", category="ai_services", product="ChatGPT Team"), kb, "2025-01-01")
    assert (r3.status, r3.reason, r3.company, r3.vendor_label) == ("unknown", "company_not_in_kb", "openai", "ChatGPT")
    # no KB at all
    r4 = resolve_item(Item(name="D", category="email", product="Microsoft 365"), None, "2025-01-01")
    assert r4.reason == "company_not_in_kb"
    # vendor only, matched by exact (normalised) vendor name
    r5 = resolve_item(Item(name="E", category="email", vendor="MICROSOFT corporation"), kb, "2025-01-01")
    assert (r5.matched_by, r5.jurisdiction) == ("kb_name", "US")


def test_shipped_kb_resolves_catalogue_products_when_present():
    from stekker.audit.resolve import load_kb

    kb, err = load_kb()
    assert kb is not None, f"shipped KB not loadable: {err}"
    r = resolve_item(Item(name="M", category="office_suite", product="Office 365"), kb, "2026-01-01")
    assert (r.status, r.parent, r.jurisdiction) == ("resolved", "microsoft", "US")
    g = resolve_item(Item(name="G", category="office_suite", product="G Suite"), kb, "2026-01-01")
    assert g.status == "resolved" and g.chain[0].id == "google" and g.jurisdiction == "US"
    # every catalogue company id is either in the KB or on the wanted list
    wanted = (Path(C.__file__).parents[1] / "kb" / "data" / "companies_wanted_audit.txt").read_text()
    for p in C.catalogue().products.values():
        assert kb.company(p.company) is not None or re.search(rf"^{re.escape(p.company)}\b", wanted, re.M), p.company


# --------------------------------------------------------------- scenarios
def scenario_inventory(budget=20000) -> tuple[Inventory, list]:
    i = inv(
        {"name": "Office", "category": "office_suite", "product": "Microsoft 365", "annual_cost": 3000, "users": 20,
         "criticality": "high", "stops": ["e-mail", "offertes"]},
        {"name": "Login", "category": "security", "product": "Entra ID", "annual_cost": 0, "users": 20,
         "criticality": "high", "stops": ["inloggen"], "depends_on": ["Office"]},
        {"name": "CRM", "category": "crm", "vendor": "Onbekend CRM B.V.", "annual_cost": 1500, "users": 4,
         "criticality": "high", "stops": ["verkoop", "offertes"], "depends_on": ["Login"]},
        {"name": "Chat", "category": "communication", "product": "Slack", "annual_cost": 500, "users": 20,
         "criticality": "medium", "stops": ["chat"]},
        {"name": "Boeken", "category": "accounting", "product": "Exact Online", "annual_cost": 1000, "users": 2,
         "criticality": "high", "stops": ["facturatie"]},
        {"name": "Betalen", "category": "payments", "product": "Mollie", "criticality": "medium",
         "stops": ["online betalen"]},
        budget=budget,
    )
    return i, resolve(i, test_kb(), "2020-01-01")


def test_a_vendor_whose_control_is_not_researched_is_not_grouped_by_its_seat():
    """Exploratory test (explore-c H8): Veeam (controller not researched in
    the knowledge base: controller_unknown) was grouped 'Europe (non-EU)' by
    its Swiss seat; the DNS judge already says 'unknown' for such a company.
    Now the audit does too, with the reason."""
    from stekker import kb as K

    kb = K.load()
    assert kb.company("veeam").controller_unknown
    r = resolve_item(Item(name="Back-up", category="backup", product="Veeam Backup"), kb, "2026-01-01")
    assert r.company == "veeam" and r.group == "unknown" and r.jurisdiction is None
    assert r.reason == "controller_unknown" and r.status != "resolved"


def test_price_doubles_exact_numbers():
    i, res = scenario_inventory()
    p = price_doubles(i, res)
    assert p.total_current == Decimal(6000) and p.total_extra == Decimal(6000)
    assert p.share_of_budget == Decimal("0.3")
    by = {v.label: v for v in p.vendors}
    assert by["Microsoft Corporation"].extra == Decimal(3000)
    assert by["Microsoft Corporation"].items == ["Office", "Login"]
    assert by["Microsoft Corporation"].share_of_budget == Decimal("0.15")
    assert by["KKR & Co. Inc."].extra == Decimal(1000)  # Exact, grouped under its owner on 2020-01-01
    assert by["Slack Technologies"].extra == Decimal(500)  # Salesforce took control only in 2021
    assert by["Onbekend CRM B.V."].group == "unknown" and by["Onbekend CRM B.V."].extra == Decimal(1500)
    assert p.cost_unknown == ["Betalen"] and by["Mollie B.V."].cost_unknown == ["Betalen"]
    # the EU's only system (Mollie) has no known cost: unknown, not 0 (exploratory test H5)
    assert by["Mollie B.V."].extra is None and by["Mollie B.V."].share_of_budget is None
    assert p.extra_by_group == {"eu": None, "europe": Decimal(0), "non_european": Decimal(4500), "unknown": Decimal(1500)}
    assert not any(p.extra_by_group_at_least.values())  # every group's sum is whole (the EU's is unknown)
    # a group whose sum leaves out an item of unknown cost says so (review 27: it looked complete in --json)
    i4 = inv(*[{**it.model_dump(exclude_none=True), **({"annual_cost": None} if it.name == "Chat" else {})}
               for it in i.items], budget=20000)
    p4 = price_doubles(i4, resolve(i4, test_kb(), "2020-01-01"))
    assert p4.extra_by_group["non_european"] == Decimal(4000) and p4.extra_by_group_at_least["non_european"]
    assert not p4.extra_by_group_at_least["unknown"] and not p4.extra_by_group_at_least["eu"]
    assert p.biggest.label == "Microsoft Corporation"
    # a 50% increase
    assert price_doubles(i, res, factor=Decimal("1.5")).total_extra == Decimal(3000)
    # no budget -> no share
    i2, res2 = scenario_inventory(budget=None)
    assert price_doubles(i2, res2).share_of_budget is None


def test_cut_off_follows_dependencies_and_counts_users():
    i, res = scenario_inventory()
    sc = cut_off(i, res)
    ms = next(c for c in sc.vendors if c.label == "Microsoft Corporation")
    assert ms.direct == ["Office", "Login"] and ms.knock_on == ["CRM"]  # CRM logs in via Login
    assert ms.functions == ["e-mail", "inloggen", "offertes", "verkoop"]
    assert ms.users == 20 and ms.critical_items == ["Office", "Login", "CRM"] and ms.shared
    assert sc.worst is ms
    us = next(c for c in sc.jurisdictions if c.jurisdiction == "US")
    assert us.direct == ["Office", "Login", "Chat", "Boeken"]
    assert us.functions == ["chat", "e-mail", "facturatie", "inloggen", "offertes", "verkoop"]
    mollie = next(c for c in sc.vendors if c.label == "Mollie B.V.")
    assert mollie.users is None and mollie.users_unknown == ["Betalen"] and not mollie.shared


def test_owner_change_scenario_flags_move_to_non_eu():
    i, res = scenario_inventory()
    oc = owner_change(i, res)
    assert [(o.item, o.kind, o.to_non_eu) for o in oc.items] == [("Boeken", "changed", True)]
    assert oc.to_non_eu == ["Boeken"] and oc.unknown_items == ["CRM"]


def test_concentration_shares():
    i, res = scenario_inventory()
    c = concentration(i, res)
    assert c.all_functions == ["chat", "e-mail", "facturatie", "inloggen", "offertes", "online betalen", "verkoop"]
    top = c.top_vendor_functions
    assert top.label == "Microsoft Corporation" and top.function_share == Decimal(4) / Decimal(7)
    assert top.spend_share == Decimal("0.5")
    # high-criticality items list e-mail, offertes, inloggen, verkoop, facturatie: Microsoft stops 4 of those 5
    assert c.critical_functions == ["e-mail", "facturatie", "inloggen", "offertes", "verkoop"]
    assert top.critical_functions == ["e-mail", "inloggen", "offertes", "verkoop"]
    assert top.critical_share == Decimal("0.8")
    assert c.top_vendor_spend.label == "Microsoft Corporation"
    us = c.top_jurisdiction_spend
    assert us.jurisdiction == "US" and us.spend == Decimal(4500) and us.spend_share == Decimal("0.75")
    assert c.unknown_jurisdiction_items == ["CRM"]


# --------------------------------------------------------------- plan / ranking
def test_ranking_formula_and_start_here():
    kb = test_kb()
    i = inv(
        {"name": "Chat", "category": "communication", "product": "Slack", "users": 25, "criticality": "medium",
         "data_sensitivity": "internal", "export": {"formats": ["JSON"], "api": True}},
        {"name": "Office", "category": "office_suite", "product": "Microsoft 365", "users": 25, "criticality": "high",
         "data_sensitivity": "personal", "export": {"formats": ["DOCX"], "api": True}},
        {"name": "Site", "category": "website_hosting", "product": "TransIP", "criticality": "medium"},
        {"name": "Special", "category": "other", "product": "WerkbonPro", "criticality": "high"},
    )
    res = resolve(i, kb, "2026-01-01")
    plan = make_plan(i.items, res, kb, dt.date(2026, 1, 1))
    by = {x.item: x for x in plan.ranking}
    # Chat: 2 (medium) * 1.2 (internal) * (1.0 non-EU * 1.25 owner changed in 2021 - 0.1 EU) = 2.76;
    # effort 1.0 * (1 + 25/50) * 0.7 (formats and API) = 1.05
    assert by["Chat"].risk_reduced == 2.76 and by["Chat"].effort == 1.05 and by["Chat"].score == round(2.76 / 1.05, 4)
    assert by["Chat"].best_alternative == "element-matrix"  # matches Slack's chat-first features
    # Office: 3 * 1.5 * 0.9 = 4.05; effort 4.0 * 1.5 * 0.7 = 4.2
    assert by["Office"].risk_reduced == 4.05 and by["Office"].effort == 4.2
    # Site: TransIP -> team.blue (BE) is already EU: nothing to reduce
    assert (by["Site"].risk_reduced, by["Site"].note) == (0.0, "already_eu")
    # unknown product in 'other': no alternative in the catalogue
    assert by["Special"].note == "no_alternative" and by["Special"].best_alternative is None
    assert [x.item for x in plan.ranking] == ["Chat", "Office", "Site", "Special"]
    assert plan.start_here.item == "Chat"


def test_alternatives_that_look_european_but_are_not_are_never_recommended():
    kb = test_kb()
    i = inv({"name": "Boeken", "category": "accounting", "product": "Exact Online", "criticality": "high"},
            {"name": "CRM", "category": "crm", "product": "Salesforce", "criticality": "high"},
            {"name": "Boeken2", "category": "accounting", "product": "Twinfield", "criticality": "high"})
    res = resolve(i, kb, "2026-01-01")
    plan = make_plan(i.items, res, kb, dt.date(2026, 1, 1))
    for comp in plan.comparisons:
        for a in comp.alternatives:
            if a.id in ("exact-online", "pipedrive"):
                assert not a.recommended and a.warning == "not_eu_controlled"
    boek = next(c for c in plan.comparisons if c.item == "Boeken")
    assert boek.alternatives[0].id == "twinfield" and boek.alternatives[0].recommended
    assert "exact-online" not in [a.id for a in boek.alternatives]  # never the current vendor itself


def test_exit_checklist_and_contract_deadline():
    i = inv({"name": "Office", "category": "office_suite", "product": "Microsoft 365", "criticality": "high",
             "contract_end": "2026-03-31", "notice_days": 30, "contact": "Jan", "stops": ["mail"], "users": 5})
    res = resolve(i, test_kb(), "2026-01-01")
    plan = make_plan(i.items, res, None, dt.date(2026, 1, 1))
    (e,) = plan.exits
    assert (e.contract_end, e.days_to_contract_end, e.notice_deadline, e.contact) == ("2026-03-31", 89, "2026-03-01", "Jan")
    assert plan.contracts_soon == ["Office"] and plan.contracts_past == []
    assert make_plan(i.items, res, None, dt.date(2026, 6, 1)).contracts_past == ["Office"]


def test_a_passed_notice_deadline_is_said_as_such_never_as_the_moment_to_switch():
    """Field trial F4: CRM ends 2026-12-31 with 30 days' notice; on 2026-12-06 the last day to give
    notice (2026-12-01) has passed. It is not "ends soon - the right moment to switch" but "notice
    deadline passed: it probably renews", in the summary, the exit checklist and 'start here', in
    both languages; a contract ending later whose notice falls within the window is 'soon'."""
    kb = test_kb()
    i = inv({"name": "CRM", "category": "crm", "product": "Salesforce", "criticality": "high", "users": 6,
             "contract_end": "2026-12-31", "notice_days": 30},
            {"name": "Hosting", "category": "website_hosting", "product": "TransIP", "criticality": "high",
             "contract_end": "2027-09-30", "notice_days": 180},
            {"name": "Web", "category": "website_hosting", "product": "TransIP", "criticality": "low",
             "contract_end": "2027-12-31", "notice_days": 30})
    day = dt.date(2026, 12, 6)
    res = resolve(i, kb, day)
    plan = make_plan(i.items, res, kb, day)
    assert plan.notice_passed == ["CRM"] and "CRM" not in plan.contracts_soon
    assert plan.contracts_soon == ["Hosting"]  # ends in 298 days, but notice is due 2027-04-03
    crm = next(e for e in plan.exits if e.item == "CRM")
    assert (crm.notice_deadline, crm.days_to_notice_deadline) == ("2026-12-01", -5)
    # on the last day itself it is still "soon", and said to be today
    assert make_plan(i.items, res, kb, dt.date(2026, 12, 1)).contracts_soon[0] == "CRM"
    a = run_audit(i, kb, day)
    assert a.plan.start_here.item == "CRM"
    for lang, soon, passed, renews in (
            ("en", "right moment", "Notice deadline passed: CRM (notice was due by 2026-12-01, ends 2026-12-31)",
             "passed 5 days ago: the contract probably renews after 2026-12-31"),
            ("nl", "goede moment", "Opzegtermijn verstreken: CRM (opzeggen kon tot en met 2026-12-01, einde 2026-12-31)",
             "5 dagen geleden verstreken: het contract wordt waarschijnlijk verlengd na 2026-12-31")):
        ctx = context(a, lang)
        soon_line = next(s for s in ctx["summary"] if soon in s)
        assert "CRM" not in soon_line and "Hosting" in soon_line, soon_line
        assert any(s.startswith(passed) for s in ctx["summary"]), ctx["summary"]
        lines = next(e for e in ctx["exits"] if e["item"] == "CRM")["contract"]
        assert any(renews in x for x in lines) and not any(x.endswith(": 2026-12-01") for x in lines), lines
        steps = " ".join(ctx["start"]["steps"])
        assert "2026-12-01" in steps and ("has passed" in steps if lang == "en" else "is voorbij" in steps), steps
        assert ("next notice date" in steps) if lang == "en" else ("volgende opzegdatum" in steps)
        assert passed in render_html(a, lang)


# --------------------------------------------------------------- seeding
def _att(domain, services, saas=()):
    from stekker.attribute.model import DomainAttribution, EvidenceItem, Service

    def svc(cat, prov, name):
        return Service(category=cat, status="attributed", provider=prov, provider_name=name, company=prov,
                       evidence=[EvidenceItem(qname=domain, rtype="MX", value="x." + prov + ".example", rule=prov + ".mx")])

    return DomainAttribution(
        domain=domain, organisation=None, organisations=[], sector=None, sectors=[], status="ok",
        services={c: svc(c, p, n) for c, p, n in services},
        saas=[svc("saas", p, n) for p, n in saas], kb_version="t", as_of="2026-01-01")


def test_seed_from_attributions_marks_detected_and_keeps_unknown_providers():
    a = _att("school-c.nl", [("office", "google", "Google"), ("mailbox", "google", "Google"),
                             ("web", "amazon", "Amazon"), ("dns", "amazon", "Amazon")],
             saas=[("docusign", "DocuSign"), ("acme-saas", "Acme SaaS")])
    b = _att("gemeente-a.nl", [("office", "microsoft", "Microsoft"), ("mailbox", "microsoft", "Microsoft"),
                               ("collaboration", "microsoft", "Microsoft"), ("identity", "microsoft", "Microsoft"),
                               ("dns", "transip", "TransIP")])
    items = seed_items([a, b])
    names = [i["name"] for i in items]
    assert names == ["Google Workspace", "Amazon Web Services", "DocuSign", "Acme SaaS (other)", "Microsoft 365",
                     "Exchange Online", "Microsoft Teams", "Microsoft Entra ID", "TransIP"]
    assert all(i["detected"] is True and i["evidence"].startswith("DNS of ") for i in items)
    # the seeded inventory validates and resolves
    inv_ = Inventory.model_validate({"items": items})
    res = resolve(inv_, test_kb(), "2026-01-01")
    acme = next(r for r in res if r.item == "Acme SaaS (other)")
    assert acme.status == "unknown"


def test_seed_merge_keeps_existing_items():
    from stekker.audit.seed import merge

    existing = {"organisation": "X", "items": [{"name": "Mail", "category": "email", "product": "Google Workspace"}]}
    merged = merge(existing, [{"name": "Google Workspace", "category": "office_suite", "product": "Google Workspace",
                               "detected": True}, {"name": "TransIP", "category": "website_hosting", "product": "TransIP"}])
    assert [i["name"] for i in merged["items"]] == ["Mail", "TransIP"] and merged["organisation"] == "X"
    # a user's name with a trailing space is the same item as `audit check` sees it (explore-c M8: the
    # detected "Exchange Online" was added beside "Exchange Online " and the file then failed check)
    mine = {"items": [{"name": "Exchange Online ", "category": "email", "vendor": "Microsoft"}]}
    got = merge(mine, [{"name": "Exchange Online", "category": "email", "product": "Exchange Online"}])
    assert len(got["items"]) == 1
    # a user's item of that name that is known to be another supplier's does not hide the detected one
    # (explore-c, low): it is added beside it under a name of its own, so the file still checks
    mine = {"items": [{"name": "Google Workspace", "category": "email", "product": "Proton Mail"},
                      {"name": "Google Workspace (detected)", "category": "crm", "vendor": "Eigen beheer"}]}
    got = merge(mine, [{"name": "Google Workspace", "category": "office_suite", "product": "Google Workspace",
                        "detected": True}])
    assert [i["name"] for i in got["items"]][2:] == ["Google Workspace (detected 2)"], got
    assert got["items"][2]["product"] == "Google Workspace"


@pytest.mark.lab
def test_seed_from_lab_scan(lab_scan):
    from stekker.audit.seed import from_scan

    store, sid = lab_scan
    items = {i["product"] for i in from_scan(store, sid, "gemeente-a.nl") if "product" in i}
    assert {"Microsoft 365", "Exchange Online", "Microsoft Teams", "Microsoft Entra ID", "TransIP"} <= items
    school = {i["name"] for i in from_scan(store, sid, "school-c.nl")}
    assert "Google Workspace" in school and "Amazon Web Services" in school


# --------------------------------------------------------------- report
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'


def _hostile_inventory():
    return inv({"name": HOSTILE, "category": "other", "product": HOSTILE, "vendor": HOSTILE, "annual_cost": 10,
                "criticality": "high", "stops": [HOSTILE], "contact": HOSTILE},
               {"name": "Office", "category": "office_suite", "product": "Microsoft 365", "annual_cost": 100,
                "users": 3, "criticality": "high", "stops": ["mail"], "depends_on": [HOSTILE]})


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_report_renders_completely_in_both_languages(lang):
    a = run_audit(load(EXAMPLE), test_kb(), "2026-11-25")
    html = render_html(a, lang)
    assert f'<html lang="{lang}">' in html
    assert "<script" not in html.lower()
    import html as _h
    csp = _h.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert "default-src 'none'" in csp and "script-src 'none'" in csp and "unsafe-inline" not in csp
    # the style element is pinned by its hash
    import base64
    import hashlib

    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert "sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() in csp
    heads = {"nl": ["Samenvatting", "Scenario's: wat als…", "Europese alternatieven", "Plan", "Begin hier"],
             "en": ["Summary", "Scenarios: what if…", "European alternatives", "Plan", "Start here"]}[lang]
    for h in heads:
        assert h.replace("'", "&#39;") in html
    # summary comes before scenarios, then alternatives, then plan
    pos = [html.index(f'id="{s}"') for s in ("summary", "scenarios", "alternatives", "plan")]
    assert pos == sorted(pos)
    assert html.count('<th scope="col"') > 30 and "<caption>" in html
    # numbers: total cost of the example, in the language's format
    total = sum(it.annual_cost for it in load(EXAMPLE).items)
    assert total == Decimal(25730)
    assert ("€ 25.730" if lang == "nl" else "€25,730") in html
    ctx = context(a, lang)
    assert ctx["start"] is not None and len(ctx["start"]["steps"]) == 5
    # every item is either compared or named in one of the two "skipped" lines
    shown = {c["item"] for c in ctx["comparisons"]} | set(ctx["alt_skipped_eu"]) | set(ctx["alt_skipped_none"])
    assert shown == {it.name for it in a.inventory.items}
    assert "Website" in ctx["alt_skipped_eu"] and "Werkbonnen" in ctx["alt_skipped_none"]


def test_hostile_names_stay_inert():
    a = run_audit(_hostile_inventory(), test_kb(), "2026-01-01")
    for lang in ("nl", "en"):
        html = render_html(a, lang)
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # JSON stays exact and unescaped
    d = a.to_dict()
    assert d["items"][0]["name"] == HOSTILE


def test_money_and_percent_formats():
    from stekker.audit.report import fmt_money, fmt_pct

    assert fmt_money(Decimal("1234.5"), "nl") == "€ 1.235" and fmt_money(Decimal("1234.5"), "en") == "€1,235"
    assert fmt_pct(Decimal("0.4288"), "nl") == "42,9%" and fmt_pct(Decimal("0.5"), "en") == "50%"
    assert fmt_money(None, "en") == "unknown"


# --------------------------------------------------------------- data
def test_catalogue_and_alternatives_are_sourced_and_consistent():
    cat = C.catalogue()
    assert len(cat.products) >= 40
    for p in cat.products.values():
        assert p.source.startswith("https://"), p.id
    alts = C.alternatives()
    for a in alts:
        assert a["sources"] and all(s.startswith("https://") for s in a["sources"]), a["id"]
        assert a.get("migration", {}).get("nl") and a["migration"].get("en"), a["id"]
        if a.get("price"):
            assert a["price"]["source"].startswith("https://")
    # every category except 'other' has at least one alternative
    for cid in C.category_ids():
        if cid != "other":
            assert C.alternatives_for(cid), cid
    # known traps are marked
    by = {a["id"]: a for a in alts}
    assert by["exact-online"]["eu_controlled"] is False and by["exact-online"]["controller_country"] == "US"
    assert by["pipedrive"]["eu_controlled"] is False
    assert by["twinfield"]["controller_country"] == "NL"
    # every string exists in both languages
    def walk(node, path=""):
        if isinstance(node, dict) and {"nl", "en"} <= set(node) <= {"nl", "en", "nl_one", "en_one", "count"}:
            assert ("nl_one" in node) == ("en_one" in node), path  # singular forms in both languages
            return
        assert isinstance(node, dict), path
        for k, v in node.items():
            walk(v, f"{path}.{k}")
    walk(C.strings())


@pytest.mark.skipif(not SHARED.exists(), reason="shared european-alternatives catalogue not present")
def test_coverage_against_public_european_alternatives_catalogue():
    ref = json.loads((SHARED / "manualAlternatives.json").read_text())["manualAlternatives"]
    ref += json.loads((SHARED / "researchAlternatives.json").read_text())["researchAlternatives"]
    ref_by = {C.norm(x["name"]): x for x in ref}
    ours = {C.norm(a["name"].split(" (")[0]): a for a in C.alternatives()}
    # well-known European entries of the public catalogue that we must cover
    must = ["Nextcloud", "Proton Mail", "Tuta", "OVHcloud", "Scaleway", "Hetzner", "IONOS", "Infomaniak",
            "Jitsi", "BigBlueButton", "Element", "Collabora Online", "openDesk", "Mistral AI", "Mollie", "Adyen",
            "MultiSafepay", "Passbolt", "KeePassXC"]
    names = " | ".join(a["name"] for a in C.alternatives())
    for m in must:
        assert C.norm(m) in ref_by, f"{m} no longer in the reference catalogue"
        assert m.split()[0] in names, f"{m} missing from alternatives.yaml"
    # our categories that map onto reference categories have alternatives there too
    for c in C.categories():
        for rc in c["reference"]:
            assert any(x["category"] == rc for x in ref), rc
            assert C.alternatives_for(c["id"]), c["id"]
    # where both catalogues name the same thing, the country agrees — except
    # documented differences (Jitsi: maintained by US 8x8 since 2018)
    differ = {"jitsi"}
    for k, a in ours.items():
        r = ref_by.get(k)
        if r and a["id"] not in differ:
            assert r["country"].upper() == a["country"], (a["id"], r["country"], a["country"])


# --------------------------------------------------------------- CLI
def _cli():
    from stekker.cli import _register, app

    _register()
    return app


def test_cli_init_check_report(tmp_path):
    r = CliRunner()
    app = _cli()
    out = r.invoke(app, ["audit", "init", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "inventory.yaml").exists() and (tmp_path / "inventory-example.yaml").exists()
    assert r.invoke(app, ["audit", "init", str(tmp_path)]).exit_code == 2  # no silent overwrite (usage error)
    ok = r.invoke(app, ["audit", "check", str(tmp_path / "inventory-example.yaml")])
    assert ok.exit_code == 0 and "OK, 15 item(s)" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("items:\n  - name: X\n    category: nope\n    product: Slack\n")
    res = r.invoke(app, ["audit", "check", str(bad)])
    assert res.exit_code == 2 and f"{bad}:3: items[0] (X).category" in res.output
    j = tmp_path / "a.json"
    h = tmp_path / "a.html"
    rep = r.invoke(app, ["audit", "report", str(tmp_path / "inventory-example.yaml"), "--lang", "en",
                         "--as-of", "2026-11-25", "--json", str(j), "--html", str(h)])
    assert rep.exit_code == 0, rep.output
    d = json.loads(j.read_text())
    assert d["scenarios"]["price"]["total_extra"] == "25730" and d["as_of"] == "2026-11-25"
    assert 'lang="en"' in h.read_text()
    assert r.invoke(app, ["audit", "report", str(bad), "--lang", "fr"]).exit_code == 2


def test_cli_help_has_examples():
    r = CliRunner()
    app = _cli()
    for cmd in (["audit", "--help"], ["audit", "init", "--help"], ["audit", "check", "--help"],
                ["audit", "report", "--help"], ["audit", "seed", "--help"]):
        out = r.invoke(app, cmd)
        assert out.exit_code == 0 and "Example" in out.output, cmd


@pytest.mark.lab
def test_cli_seed_domain_scans_through_the_scan_engine(lab, tmp_path):
    r = CliRunner()
    app = _cli()
    out = tmp_path / "inv.yaml"
    res = r.invoke(app, ["audit", "seed", "--domain", "gemeente-a.nl", "--resolver", str(lab.resolver),
                         "--db", str(tmp_path / "s.db"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    items = yaml.safe_load(out.read_text())["items"]
    assert {"Microsoft 365", "Exchange Online", "TransIP"} <= {i["name"] for i in items}
    assert all(i["detected"] for i in items)
    # the seeded file is a valid inventory
    assert len(load(out).items) == len(items)
    # the issue's short form: stekker audit --scan ID (scan 1 in that database) --domain to pick it
    res2 = r.invoke(app, ["audit", "--scan", "1", "--domain", "gemeente-a.nl", "--db", str(tmp_path / "s.db")])
    assert res2.exit_code == 0 and "Microsoft 365" in res2.output
    assert "is now the newest" not in res.output  # the database's only scan
    # a second one-domain scan becomes 'latest': said (exploratory test 2026-12-06)
    res3 = r.invoke(app, ["audit", "seed", "--domain", "gemeente-a.nl", "--resolver", str(lab.resolver),
                          "--db", str(tmp_path / "s.db")])
    assert res3.exit_code == 0 and "note: scan 2 (audit gemeente-a.nl) is now the newest" in res3.output, res3.output


def test_a_failed_one_domain_scan_is_recorded_aborted(tmp_path):
    # field trial F9: each `audit seed --domain` without a working resolver left a scan 'created'
    from stekker.store import Store

    db = tmp_path / "s.db"
    res = CliRunner().invoke(_cli(), ["audit", "seed", "--domain", "example.nl", "--resolver", "127.0.0.1:9",
                                      "--db", str(db)])
    assert res.exit_code == 3, res.output
    st = Store.open(str(db), create=False)
    (scan,) = st.list_scans()
    assert scan["state"] == "aborted" and scan["label"] == "audit example.nl"
    assert "no DNS resolver answered" in scan["summary"]["message"]
    st.close()


def test_csv_example_is_the_same_inventory_as_the_yaml_example():
    root = Path(__file__).resolve().parents[1] / "examples"
    y, c = load(root / "inventory.yaml"), load(root / "inventory.csv")
    assert c.model_dump() == y.model_dump()


def test_resolution_through_the_real_kb_api_with_a_test_companies_file():
    from stekker import kb as K

    kb = K.load(companies=Path(__file__).parent / "data" / "audit_kb_companies.yaml", validate=False)
    it = Item(name="Boekhouding", category="accounting", product="Exact Online")
    r2016 = resolve_item(it, kb, "2016-01-01")
    r2020 = resolve_item(it, kb, "2020-01-01")
    assert (r2016.parent, r2016.jurisdiction, r2016.group) == ("apax", "GB", "europe")
    assert (r2020.parent, r2020.jurisdiction, r2020.group) == ("kkr", "US", "non_european")
    # both control changes within the 5-year window, each with its date
    c1, c2 = r2020.owner_changes
    assert (c1.kind, c1.from_parent, c1.to_parent, c1.date) == ("changed", "Exact Group B.V.", "Apax Partners LLP", "2015-02-01")
    assert (c2.kind, c2.from_parent, c2.to_parent, c2.date, c2.to_jurisdiction) == (
        "changed", "Apax Partners LLP", "KKR & Co. Inc.", "2019-07-01", "US")
    pay = Item(name="Betalen", category="payments", product="Mollie")
    assert resolve_item(pay, kb, "2026-01-01").owner_changes == []
    (p,) = resolve_item(pay, kb, "2026-11-25").owner_changes
    assert (p.kind, p.counterparty, p.counterparty_jurisdiction) == ("pending", "kkr", "US")
    i = inv({"name": "Betalen", "category": "payments", "product": "Mollie", "annual_cost": 100})
    oc = owner_change(i, resolve(i, kb, "2026-11-25"))
    assert oc.to_non_eu == ["Betalen"]


def test_a_controller_first_seen_on_a_retrieval_date_is_no_new_owner():
    """Field trial F5: Visma's control by Hg is recorded from the first day a read source shows it
    (start_unknown): 2017-12-31, the end of the year a source says Hg regained control (it was the
    governance page's retrieval day, 2026-11-25, until a dated source was found). That day is no
    "new owner: Hg" for Nmbrs or Teamleader, and before it Visma's controller is unknown (not
    Visma AS, NO, as its own ultimate parent)."""
    from stekker import kb as K

    kb = K.load()
    nmbrs = Item(name="x", category="hr_payroll", product="Nmbrs")
    # 2018-06-01: the first-seen day lies in the audit's look-back window, and is still no "new owner: Hg"
    for day in ("2026-12-06", "2025-06-01", "2018-06-01"):
        now = resolve_item(nmbrs, kb, day)
        assert now.parent == "hg" and not [c for c in now.owner_changes if c.to_parent and "Hg" in c.to_parent]
    before = resolve_item(nmbrs, kb, "2017-06-01")
    assert (before.status, before.reason, before.group, before.jurisdiction) == (
        "unknown", "controller_unknown", "unknown", None)
    # Teamleader's own move into the Visma group (June 2022) is a real change and stays; since Visma
    # was under Hg by then, its new top controller is Hg (GB) (it was Visma AS while Hg's control was
    # recorded only from 2026-11-25), and it is Teamleader's only change
    tl = resolve_item(Item(name="x", category="crm", product="Teamleader"), kb, "2026-12-06")
    (ch,) = tl.owner_changes
    assert (tl.parent, ch.kind, ch.date, ch.to_parent, ch.to_jurisdiction) == (
        "hg", "changed", "2022-06-30", "Hg", "GB")
    a = run_audit(load(EXAMPLE), kb, "2026-12-06")
    assert "Salarisadministratie" not in {o.item for o in a.scenarios.owner.items}
    for lang, word in (("en", "New or announced owner"), ("nl", "Nieuwe of aangekondigde eigenaar")):
        assert not any(s.startswith(word) and "Salarisadministratie" in s for s in context(a, lang)["summary"])


def test_the_owner_change_table_names_the_vendor_not_its_new_owner():
    """Field trial F5: the "Vendor" column showed the new parent (Hg, KKR) - the change's other side."""
    i, res = scenario_inventory()
    (o,) = owner_change(i, res).items
    assert (o.item, o.vendor, o.detail["to_parent"]) == ("Boeken", "Exact Group B.V.", "KKR & Co. Inc.")
    for lang in ("en", "nl"):
        (row,) = context(run_audit(i, test_kb(), "2020-01-01"), lang)["owner"]
        assert (row["vendor"], row["new_owner"]) == ("Exact Group B.V.", "KKR & Co. Inc.")


def test_missing_kb_is_said_first_and_everything_is_unknown():
    a = run_audit(load(EXAMPLE), None, "2026-11-25", kb_error="KBError: broken")
    assert all(r.status == "unknown" and r.reason in ("company_not_in_kb", "product_not_in_catalogue") for r in a.resolutions)
    ctx = context(a, "en")
    assert ctx["summary"][0].startswith("Note: the knowledge base could not be loaded (KBError: broken)")
    # money is still exact without a KB
    assert a.scenarios.price.total_extra == Decimal(25730)


def test_jurisdiction_groups_survive_yaml_norway():
    assert C.jurisdiction_group("NO") == "europe" and C.jurisdiction_group("no") == "europe"
    assert C.jurisdiction_group("NL") == "eu" and C.jurisdiction_group("US") == "non_european"
    assert C.jurisdiction_group(None) == "unknown"
    assert all(isinstance(c, str) and len(c) == 2 for k in ("eu", "europe") for c in C.jurisdictions()[k])
    assert C.country_name("NO", "nl") == "Noorwegen"


def test_alternative_under_joint_control_gets_no_catalogue_country():
    """Review 24: a catalogue alternative whose company several parents
    control together (Odido: Apax, GB, and Warburg Pincus, US) has no single
    jurisdiction; the catalogue's hand-written country must not stand in."""
    import datetime as _dt

    from stekker import kb as K
    from stekker.audit.plan import _alt_view

    a = {"id": "odido-mail", "name": "Odido Mail", "country": "NL", "controller": "Odido", "company": "odido",
         "controller_country": "NL", "eu_controlled": True, "sources": ["https://example.org"]}
    v = _alt_view(a, "non_european", "mail", K.load(), _dt.date(2026, 1, 1))
    assert v.jurisdiction is None and v.jurisdiction_source == "kb" and v.group != "eu", v
    before = _alt_view(a, "non_european", "mail", K.load(), _dt.date(2021, 1, 1))
    assert before.jurisdiction == "DE"  # Deutsche Telekom's until 2022


def test_owner_change_into_joint_control_names_the_parents():
    """Review 25: Odido's sale to a venture of Apax and Warburg Pincus is a
    change of control to both of them, not to Odido itself, and no longer
    pending."""
    import datetime as _dt

    from stekker import kb as K
    from stekker.audit.resolve import _chain, owner_changes

    real = K.load()
    day = _dt.date(2026, 1, 1)
    got = owner_changes(real, _chain(real, "odido", day), day, lookback_years=5)
    changed = [c for c in got if c.kind == "changed"]
    assert [(c.date, c.from_parent, c.to_parent) for c in changed] == [
        ("2022-03-31", "Deutsche Telekom AG", "Apax Partners + Warburg Pincus LLC")], got
    assert changed[0].to_jurisdiction is None
    assert not [c for c in got if c.kind == "pending"], got


def test_summary_share_outside_the_eu_leaves_unknown_owners_out():
    """Exploratory test (2026-12-06): three systems of unknown vendors read
    "Owner outside the EU: 0 of 3 systems (0%), 0% of spend" - the sovereign
    answer, quotable on its own. The share is of the systems whose owner is
    known; with none known it says so."""
    from stekker import kb as K

    kb = K.load()
    unknown = "\n".join(f"  - {{name: S{i}, category: crm, product: Onbekend{i}, annual_cost: 6000}}" for i in range(3))
    a = run_audit(load_text("items:\n" + unknown, "x.yaml"), kb, "2026-11-25")
    s = context(a, "en")["summary"]
    assert not any("0 of 3 systems (0%)" in x for x in s), s
    assert any("Owner outside the EU: unknown — the owner of none of the 3 systems is known." in x for x in s), s
    mixed = "items:\n" + unknown + "\n  - {name: Mail, category: email, product: Microsoft 365, annual_cost: 4000}"
    s = context(run_audit(load_text(mixed, "x.yaml"), kb, "2026-11-25"), "en")["summary"]
    assert any("Owner outside the EU: the one system whose owner is known." in x for x in s), s
    nl = context(run_audit(load_text(mixed, "x.yaml"), kb, "2026-11-25"), "nl")["summary"]
    assert any("waarvan de eigenaar bekend is" in x for x in nl), nl


def test_summary_reads_naturally_with_none_all_or_no_amounts():
    """Field trial F15: "0 of the one system whose owner is known (0%)", "unknown of their spend" and
    "No clear starting point: ... for the risky systems" when the only system is EU-owned."""
    from stekker import kb as K

    kb = K.load()
    eu = "items:\n  - {name: Web, category: website_hosting, product: Hetzner, annual_cost: 300}\n"
    a = run_audit(load_text(eu, "x.yaml"), kb, "2026-12-06")
    assert a.resolutions[0].group == "eu"
    for lang, none, start in (
            ("en", "Owner outside the EU: none; the one system whose owner is known has an owner in the EU.",
             "No starting point needed: the one system has an owner in the EU."),
            ("nl", "Eigenaar buiten de EU: geen; het enige systeem waarvan de eigenaar bekend is, heeft een eigenaar in de EU.",
             "Geen startpunt nodig: het enige systeem heeft een eigenaar in de EU.")):
        s = context(a, lang)["summary"]
        assert none in s and s[0] == start, s
        assert not any(x.startswith(("No clear starting point", "Geen duidelijk startpunt")) or "(0%)" in x for x in s), s
    two = ("items:\n  - {name: Web, category: website_hosting, product: Hetzner}\n"
           "  - {name: Mail, category: email, product: Microsoft 365}\n"
           "  - {name: Web2, category: website_hosting, product: Scaleway}\n")
    a = run_audit(load_text(two, "x.yaml"), kb, "2026-12-06")
    en, nl = context(a, "en")["summary"], context(a, "nl")["summary"]
    assert "Owner outside the EU: 1 of the 3 systems whose owner is known (33.3%); what they cost is unknown." in en, en
    assert "Eigenaar buiten de EU: 1 van de 3 systemen waarvan de eigenaar bekend is (33,3%); wat ze kosten is onbekend." in nl
    assert not any("unknown of their spend" in x or "onbekend van hun uitgaven" in x for x in en + nl)
    s = context(run_audit(load_text(two.replace("Microsoft 365}", "Microsoft 365, annual_cost: 100}")
                                    .replace("Hetzner}", "Hetzner, annual_cost: 100}").replace("Scaleway}", "Scaleway, annual_cost: 100}"), "x.yaml"), kb, "2026-12-06"),
                "en")["summary"]
    assert "Owner outside the EU: 1 of the 3 systems whose owner is known (33.3%), 33.3% of their spend." in s, s


def test_seed_says_what_could_not_be_measured(tmp_path):
    """Exploratory test (2026-12-06): a domain whose DNS failed (SERVFAIL,
    timeout) seeded "items: []" with exit 0 - an error read as "nothing
    detected". It is named, in the file and on stderr, and the exit is 1. A
    --domain that is not a domain name is a usage error (2), not a network
    one (3) with a temporary file's path."""
    from dataclasses import replace

    from stekker import kb as K
    from stekker.attribute.model import Service
    from stekker.store import Store
    from test_report_support import dom

    kb = K.load()
    db = tmp_path / "s.db"
    st = Store.open(str(db))
    sid = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="ab" * 32,
                         resolvers=["127.0.0.1:53"], options={})
    recs = [dom("lame.nl", "L", "bedrijf", {c: Service(category=c, status="error") for c in ("mailbox", "web", "dns")},
                status="error"),
            dom("ok.nl", "O", "bedrijf", {"mailbox": Service(category="mailbox", status="attributed", provider="microsoft",
                                                           provider_name="Microsoft", company="microsoft",
                                                           confidence=0.95)})]
    st.add_targets(sid, [{"domain": r.domain, "organisation": r.organisation, "sector": r.sector} for r in recs])
    st.save_attributions(sid, kb.version, [replace(r, kb_version=kb.version).to_dict() for r in recs])
    st.finish_scan(sid, "finished")
    st.close()
    r = CliRunner()
    app = _cli()
    out = tmp_path / "inv.yaml"
    res = r.invoke(app, ["audit", "seed", "--scan", str(sid), "--db", str(db), "-o", str(out)])
    assert res.exit_code == 1, res.output
    assert "the DNS of lame.nl could not be measured for mailbox, web, dns" in res.output
    # into a file of one's own, twice: the note once, and the second run adds nothing (review 26)
    own = tmp_path / "own.yaml"
    own.write_text("# mijn lijst\nitems:\n  - {name: X, category: crm, product: Salesforce}\n", "utf-8")
    for _ in range(2):
        again = r.invoke(app, ["audit", "seed", "--scan", str(sid), "--db", str(db), "--into", str(own)])
        assert again.exit_code == 1, again.output
    assert own.read_text("utf-8").count("NOT MEASURED (DNS error) for lame.nl") == 1
    assert "0 detected item(s) written" in again.output and "already in it" in again.output
    text = out.read_text()
    assert "NOT MEASURED (DNS error) for lame.nl: mailbox, web, dns" in text, text
    assert "detected: true" in text  # ok.nl's mailbox is still seeded
    ok = r.invoke(app, ["audit", "seed", "--scan", str(sid), "--domain", "ok.nl", "--db", str(db)])
    assert ok.exit_code == 0 and "NOT MEASURED" not in ok.output
    for bad in ("🔌.nl", "127.0.0.1", "nl"):
        res = r.invoke(app, ["audit", "seed", "--domain", bad, "--db", str(tmp_path / "n.db")])
        assert res.exit_code == 2, (bad, res.exit_code, res.output)
        assert "stekker-audit-" not in res.output and "--domain" in res.output


@pytest.mark.parametrize("text, fmt, want", [
    ("annual_cost: 1.200", "yaml", None), ("annual_cost: '1.200'", "yaml", None), ("annual_cost: '1,200'", "yaml", None),
    ("annual_cost: 12.500", "yaml", None), ("annual_cost: '1.200,50'", "yaml", "1200.50"),
    ("annual_cost: 1.5", "yaml", "1.5"), ("annual_cost: '1.200.000'", "yaml", "1200000"),
    ("annual_cost: '1,200.50'", "yaml", "1200.50"), ("annual_cost: 1200", "yaml", "1200"),
    ('A,crm,X,"1,200"', "csv", None), ("A,crm,X,1.200", "csv", None), ("A;crm;X;1.200", "csv;", "1200"),
    ("A;crm;X;1,5", "csv;", "1.5"), ("A;crm;X;1,200", "csv;", None), ("A;crm;X;1.200,50", "csv;", "1200.50")])
def test_an_amount_that_reads_two_ways_is_refused(text, fmt, want):
    """Exploratory test (2026-12-06): "1.200" and "1,200" were read as 1.2
    (and 1.200 in YAML is 1.2 to the parser) where a Dutch owner meant twelve
    hundred - a factor of 1000 in every cost figure, without a word. One
    separator and three digits reads two ways: refused, saying how to write
    it; in a ';'-separated (Dutch) CSV 1.200 is twelve hundred, as documented."""
    if fmt == "yaml":
        src, name = "items:\n  - {name: A, category: crm, product: X, " + text + "}\n", "x.yaml"
    else:
        sep = ";" if fmt == "csv;" else ","
        src, name = sep.join(["name", "category", "product", "annual_cost"]) + "\n" + text + "\n", "x.csv"
    if want is None:
        with pytest.raises(InventoryError) as e:
            load_text(src, name)
        assert "ambiguous amount" in str(e.value.problems[0].message), e.value.problems
    else:
        assert load_text(src, name).items[0].annual_cost == Decimal(want)


def test_seed_into_keeps_the_users_text(tmp_path):
    """Exploratory test (2026-12-06): `audit seed --into` rewrote the user's
    inventory through a YAML dump, deleting every comment ("NIET wissen",
    "contract ligt in de kluis"). New items are now added to the file's text;
    where its shape does not allow that, the original is kept as .bak."""
    db, sid = _one_scan_db(tmp_path)
    own = ("# Onze IT-lijst — bijgehouden door Piet, NIET wissen\n"
           "items:\n"
           "  - name: Boekhouding   # contract ligt in de kluis, sleutel bij Marie\n"
           "    category: accounting\n"
           "    product: Exact Online\n"
           "    annual_cost: 1200   # prijs 2025, stijgt in 2026\n"
           "  # nog toevoegen: CRM\n"
           "currency: EUR\n")
    inv = tmp_path / "c.yaml"
    inv.write_text(own, "utf-8")
    r = CliRunner()
    app = _cli()
    res = r.invoke(app, ["audit", "seed", "--scan", str(sid), "--db", str(db), "--into", str(inv)])
    assert res.exit_code == 0, res.output
    text = inv.read_text("utf-8")
    for line in own.splitlines():
        assert line in text, line  # every line of the user's file is still there
    data = yaml.safe_load(text)
    assert [i["name"] for i in data["items"]][0] == "Boekhouding" and len(data["items"]) >= 2
    assert any(i.get("detected") for i in data["items"]) and data["currency"] == "EUR"
    assert not (tmp_path / "c.yaml.bak").exists()
    # a flow list cannot be extended in place: rewritten, the original kept beside it
    flow = tmp_path / "f.yaml"
    flow.write_text("# mijn lijst\nitems: [{name: A, category: crm, product: Salesforce}]\n", "utf-8")
    res = r.invoke(app, ["audit", "seed", "--scan", str(sid), "--db", str(db), "--into", str(flow)])
    assert res.exit_code == 0 and "kept as" in res.output, res.output
    assert (tmp_path / "f.yaml.bak").read_text("utf-8").startswith("# mijn lijst")
    # a second rewrite keeps the first copy and makes another (review 26: it was overwritten)
    flow.write_text("# tweede\nitems: [{name: B, category: crm, product: Salesforce}]\n", "utf-8")
    res = r.invoke(app, ["audit", "seed", "--scan", str(sid), "--db", str(db), "--into", str(flow)])
    assert res.exit_code == 0 and (tmp_path / "f.yaml.bak.1").read_text("utf-8").startswith("# tweede")
    assert (tmp_path / "f.yaml.bak").read_text("utf-8").startswith("# mijn lijst")


def test_seed_into_a_windows_file_keeps_its_line_ends_and_encoding(tmp_path):
    """Explore-c (low): `audit seed --into` refused a Windows-1252 inventory
    that `audit check` reads ("not UTF-8 text"), and added its items to a CRLF
    file with LF line ends.  Now both readers decode alike, and what is added
    has the file's line ends and encoding."""
    db, sid = _one_scan_db(tmp_path)
    own = ("# Lijst van Café Zoë\r\n"
           "items:\r\n"
           "  - name: Boekhouding\r\n"
           "    category: accounting\r\n"
           "    product: Exact Online\r\n"
           "    notes: één contract\r\n")
    inv = tmp_path / "w.yaml"
    inv.write_bytes(own.encode("cp1252"))
    r = CliRunner()
    res = r.invoke(_cli(), ["audit", "seed", "--scan", str(sid), "--db", str(db), "--into", str(inv)])
    assert res.exit_code == 0, res.output
    raw = inv.read_bytes()
    assert raw.startswith(own.encode("cp1252"))  # the user's bytes as they were
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.count(b"\n") > own.count("\n")  # CRLF only
    text = raw.decode("cp1252")
    data = yaml.safe_load(text)
    assert data["items"][0]["notes"] == "één contract" and len(data["items"]) >= 2
    assert not (tmp_path / "w.yaml.bak").exists()
    res = r.invoke(_cli(), ["audit", "check", str(inv)])
    assert "not UTF-8" not in res.output, res.output


def test_seed_into_a_csv_inventory_says_what_to_do(tmp_path):
    """Exploratory test (2026-12-06): --into a CSV inventory answered with a
    YAML parse error about line 7; --into extends YAML only, and says so."""
    inv = tmp_path / "inv.csv"
    inv.write_text("name,category,product\nMail,email,Microsoft 365\n")
    before = inv.read_bytes()
    res = CliRunner().invoke(_cli(), ["audit", "seed", "--scan", "1", "--db", str(tmp_path / "none.db"),
                                      "--into", str(inv)])
    assert res.exit_code == 2 and "adds to a YAML inventory" in res.output and "invalid YAML" not in res.output
    assert inv.read_bytes() == before


def test_html_report_shows_bidi_characters_of_an_item_name():
    """Exploratory test (2026-12-06): a U+202E (right-to-left override) in an
    item name was written raw into the HTML audit report (the terminal output
    made it visible), and one sentence was printed twice."""
    from stekker import kb as K

    inv = load_text("items:\n  - {name: \"evil\u202etxt.exe\", category: crm, product: Salesforce, "
                    "annual_cost: 100, notes: \"regel 1\\nregel 2\"}\n", "x.yaml")
    html = render_html(run_audit(inv, K.load(), "2026-11-25"), "en")
    assert "\u202e" not in html and "evil\\u202etxt.exe" in html
    assert html.count("Sanctions hit every company under one jurisdiction at once.") == 1


# ------------------------------------------------- inputs that are not files
def _stekker_limited(*args: str, timeout: int = 60):
    """The CLI in a child process with a 2 GB address-space limit and a timeout: a read that
    never ends fails the test instead of the machine."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024 ** 3, 2 * 1024 ** 3))

    return subprocess.run([sys.executable, "-m", "stekker", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)


def test_inventory_from_a_device_or_a_fifo_is_refused_unread(tmp_path):
    import os

    r = _stekker_limited("audit", "check", "/dev/zero")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == ["error: /dev/zero: is a device, not a regular file; give a file"]
    fifo = tmp_path / "inventory.yaml"
    os.mkfifo(fifo)
    for args in (("audit", "check", str(fifo)), ("audit", "report", str(fifo))):
        r = _stekker_limited(*args, timeout=30)  # no writer: a blocking open or read would hang here
        assert r.returncode == 2 and "is a named pipe (FIFO), not a regular file" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_read_user_file_reads_at_most_the_limit_plus_one(tmp_path, monkeypatch):
    import os

    from stekker import safeyaml

    f = tmp_path / "big.yaml"
    f.write_bytes(b"#" * 100)
    reads = []
    real = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real(fd, n))
    with pytest.raises(safeyaml.UserFileError, match="larger than"):
        safeyaml.read_user_file(f, limit=10)
    assert sum(reads) <= 11
    assert safeyaml.read_user_file(f, limit=100) == b"#" * 100


def _one_scan_db(tmp_path, domain="ok.nl", organisation="O", sector="bedrijf", name="s.db"):
    """A SQLite store with one finished scan: ``domain``'s mailbox at Microsoft."""
    from dataclasses import replace

    from stekker import kb as K
    from stekker.attribute.model import Service
    from stekker.store import Store
    from test_report_support import dom

    kb = K.load()
    db = tmp_path / name
    st = Store.open(str(db))
    sid = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="ab" * 32,
                         resolvers=["127.0.0.1:53"], options={})
    ms = Service(category="mailbox", status="attributed", provider="microsoft", provider_name="Microsoft",
                 company="microsoft", confidence=0.95)
    st.add_targets(sid, [{"domain": domain, "organisation": organisation, "sector": sector}])
    st.save_attributions(sid, kb.version, [replace(dom(domain, organisation, sector, {"mailbox": ms}),
                                                   kb_version=kb.version).to_dict()])
    st.finish_scan(sid, "finished")
    st.close()
    return db, sid


def test_seed_output_never_replaces_an_edited_inventory(tmp_path):
    """Exploratory test H2 (2026-12-06): `seed -o edited.yaml` replaced an inventory the user had
    completed (costs, users, contact) without --force and without a copy, because the file still
    began with the seed header. The seeded file now carries a hash of its content: unchanged it is
    replaced, edited it is refused (exit 2) and with --force kept as .bak (never over an older .bak)."""
    db, sid = _one_scan_db(tmp_path)
    out = tmp_path / "edited.yaml"
    seed = ["audit", "seed", "--scan", str(sid), "--db", str(db), "-o", str(out)]
    assert cli(*seed).rc == 0
    assert "# stekker-sha256: " in out.read_text("utf-8")
    assert cli(*seed).rc == 0  # unchanged since stekker wrote it: replaced, no copy needed
    assert not list(tmp_path.glob("edited.yaml.bak*"))
    mine = out.read_text("utf-8").replace("notes: 'confirm", "annual_cost: 4200\n  contact: Jan de Vries\n  notes: 'confirm")
    assert mine != out.read_text("utf-8")
    out.write_text(mine, "utf-8")
    r = cli(*seed)
    assert r.rc == 2 and "changed since stekker wrote it" in r.err and "--into" in r.err, r.text
    assert out.read_text("utf-8") == mine
    r = cli(*seed, "--force")
    assert r.rc == 0 and "kept as" in r.err, r.text
    assert (tmp_path / "edited.yaml.bak").read_text("utf-8") == mine and "4200" not in out.read_text("utf-8")
    out.write_text("# mijn tweede versie\n" + mine, "utf-8")
    assert cli(*seed, "--force").rc == 0
    assert (tmp_path / "edited.yaml.bak").read_text("utf-8") == mine  # the first copy stays
    assert (tmp_path / "edited.yaml.bak.1").read_text("utf-8").startswith("# mijn tweede versie")


def test_init_force_keeps_the_users_inventory(tmp_path):
    """Exploratory test M6 (2026-12-06): `audit init --force` replaced an edited inventory.yaml
    without a copy. It now keeps a changed file as .bak; an unchanged one is simply rewritten."""
    assert cli("audit", "init", str(tmp_path)).rc == 0
    inv = tmp_path / "inventory.yaml"
    inv.write_text("organisation: Bakkerij De Gouden Krakeling\n", "utf-8")
    r = cli("audit", "init", str(tmp_path))
    assert r.rc == 2 and inv.read_text("utf-8").startswith("organisation: Bakkerij")
    r = cli("audit", "init", str(tmp_path), "--force")
    assert r.rc == 0 and "kept as" in r.err, r.text
    assert (tmp_path / "inventory.yaml.bak").read_text("utf-8") == "organisation: Bakkerij De Gouden Krakeling\n"
    assert inv.read_bytes() == TEMPLATE.read_bytes()
    assert not (tmp_path / "inventory-example.yaml.bak").exists()  # unchanged: nothing to keep


@pytest.mark.parametrize("text, want", [
    # an unquoted Dutch decimal in a ','-file: 99 and 95 in two columns, every later column shifted
    ("name,category,product,annual_cost,users,notes\nCRM,crm,HubSpot,99,95,5,via reseller\n",
     'x.csv:2: row has 7 cells, the header has 6 (an amount with a comma must be quoted, e.g. "99,95")'),
    ("name;category;product;annual_cost\nCRM;crm;HubSpot;1200;extra;more\n",
     "x.csv:2: row has 6 cells, the header has 4 (a value containing ';' must be quoted)"),
    ("name;category;product;annual_cost\nCRM;crm;1200\n",
     "x.csv:2: row has 3 cells, the header has 4 (a cell is missing; leave an unknown value empty)"),
])
def test_a_csv_row_that_does_not_match_the_header_is_refused(text, want):
    """Exploratory test H3 (2026-12-06): `CRM,crm,HubSpot,99,95,5,via reseller` under a six-column
    header passed `check`: annual_cost 99 (meant 99,95), users 95 (meant 5), "via reseller" dropped."""
    with pytest.raises(InventoryError) as ei:
        load_text(text, "x.csv")
    assert [str(p) for p in ei.value.problems] == [want]


def test_excel_padding_is_not_a_value():
    """Exploratory test M1 (2026-12-06): Excel saves `# currency: EUR` typed in column A as
    `# currency: EUR;;;;;;` (refused: unknown currency 'EUR;;;;'), and the organisation kept the
    ';;;;' in the report's title. Trailing separators on '#' lines, on the header and on rows
    (beyond the last column) are padding."""
    text = ("# organisation: Bakkerij De Gouden Krakeling B.V.;;;;;;\r\n"
            "# currency: EUR;;;;;;\r\n# it_budget: 24.000;;;;;;\r\n# employees: 12 ;;;;;;\r\n"
            '"# contact: Jansen; De Vries";;;;;;\r\n'
            ";;;;;;\r\n"
            "name;category;product;annual_cost;;;\r\n"
            "Boekhouding;accounting;Exact Online;1.200,50;;;\r\n")
    inv = load_text(text, "x.csv")
    assert inv.organisation == "Bakkerij De Gouden Krakeling B.V." and inv.currency == "EUR"
    assert inv.it_budget == Decimal(24000) and inv.employees == 12
    assert inv.items[0].annual_cost == Decimal("1200.50")


def test_unknown_cost_is_never_zero_and_partial_totals_say_at_least():
    """Exploratory tests H5/H6 (2026-12-06): a vendor whose costs are all unknown showed "0%" of
    the IT budget and of spend (JSON "share_of_budget": "0"), and with 2 of 8 costs unknown the
    price-doubling sentence and the total row dropped the "at least" the first line had."""
    import re as _re

    from stekker import kb as K

    inv = load_text("it_budget: 10000\nitems:\n"
                    "  - {name: Mail, category: email, product: Microsoft 365, annual_cost: 1000}\n"
                    "  - {name: Teams, category: communication, product: Microsoft Teams}\n"
                    "  - {name: Drive, category: cloud_storage, product: Google Drive}\n", "x.yaml")
    a = run_audit(inv, K.load(), "2026-01-01")
    d = a.to_dict()
    price, conc = d["scenarios"]["price"], d["scenarios"]["concentration"]
    google = next(v for v in price["vendors"] if "Drive" in v["items"])
    assert google["current"] is None and google["extra"] is None and google["share_of_budget"] is None
    ms = next(v for v in price["vendors"] if "Mail" in v["items"])
    assert ms["at_least"] is True and ms["share_of_budget"] == "0.1"
    assert price["at_least"] is True and price["total_extra"] == "1000"
    gshare = next(s for s in conc["vendors"] if s["items"] == ["Drive"])
    assert gshare["spend"] is None and gshare["spend_share"] is None and conc["spend_complete"] is False
    for lang, word, unknown in (("nl", "ten minste", "onbekend"), ("en", "at least", "unknown")):
        ctx = context(a, lang)
        line = next(x for x in ctx["summary"] if "IT" in x and "%" in x)
        assert line.count(word) == 2, line  # the extra cost and its share of the budget
        html = render_html(a, lang)
        foot = _re.search(r"<tfoot>.*?</tfoot>", html, _re.S).group(0)
        assert foot.count(word) == 3, foot
        rows = _re.findall(r"<tr><th scope=\"row\">Alphabet[^<]*</th>.*?</tr>", html)
        assert rows and all(">0%<" not in r and ">€ 0<" not in r and ">€0<" not in r for r in rows), rows
        assert all(f">{unknown}<" in r for r in rows)


def test_table_cells_wrap_long_names():
    """Exploratory test H7 (2026-12-06): a long unbroken name pushed figures out of the PDF; the
    audit's table cells wrap anywhere (the Chromium check: test_audit_browser.py)."""
    css = (Path(C.__file__).parent / "templates" / "report.css").read_text("utf-8")
    for sel in ("th,td", "caption"):  # a caption is as wide as its longest word, and the table with it
        rule = re.search(r"(?m)^" + re.escape(sel) + r"\{([^}]*)\}", css).group(1)
        assert "overflow-wrap:anywhere" in rule, sel


def test_look_back_moves_only_29_february_and_as_of_is_bounded():
    """Exploratory test H4 (2026-12-06): `as_of: 0001-01-01` passed `check` and crashed `report`
    (exit 4: year -4 out of range in the 5-year look-back). The look-back moves only 29 February
    (to the 28th), and an inventory's as_of obeys the bounds of --as-of (1900 to today)."""
    from stekker.dates import years_before

    assert years_before(dt.date(2026, 12, 6), 5) == dt.date(2021, 12, 6)
    assert years_before(dt.date(2024, 2, 29), 5) == dt.date(2019, 2, 28)
    assert years_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)  # a leap year keeps it (review 27)
    assert years_before(dt.date(3, 1, 1), 5) == dt.date.min
    item = Item(name="Boekhouding", category="accounting", product="Exact Online")
    assert resolve_item(item, test_kb(), dt.date(3, 1, 1)).owner_changes == []  # no crash
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    for day, why in (("0001-01-01", "before 1900-01-01"), ("1899-12-31", "before 1900-01-01"),
                     (tomorrow.isoformat(), "is in the future")):
        with pytest.raises(InventoryError) as ei:
            load_text(f"as_of: {day}\nitems:\n  - {{name: A, category: crm, product: HubSpot}}\n", "x.yaml")
        (p,) = ei.value.problems
        assert p.line == 1 and p.field == "as_of" and why in p.message, str(p)
    assert load_text("as_of: 1900-01-01\nitems:\n  - {name: A, category: crm, product: HubSpot}\n", "x.yaml").as_of


def test_an_old_or_overtaken_announcement_is_not_a_pending_owner():
    """Exploratory test H8 (2026-12-06): Apax's 2014 offer for Exact was shown in every report as
    a pending "new or announced owner" (and weighed 1.25x), although KKR took control of Exact in
    2019. An announced deal is pending only while it is inside the look-back window and no later
    change of control of that company (a completed deal or a new ownership period) exists."""
    from stekker.audit.resolve import Link, owner_changes

    def pending(events, ownership=None, as_of="2026-01-01"):
        kb = FakeKB({"co": ("Co B.V.", "NL"), "buyer": ("Buyer Ltd", "GB"), "other": ("Other Inc.", "US")},
                    ownership=ownership, events={"co": events})
        kb.companies["co"].ownership = [SimpleNamespace(parent=p, since=s, until=u)
                                        for p, s, u in (ownership or {}).get("co", [])]
        d = dt.date.fromisoformat(as_of)
        chain = [Link(id=c, name=kb.company(c).name, country=kb.company(c).country) for c in kb.chain("co", d)]
        return [c for c in owner_changes(kb, chain, d) if c.kind == "pending"]

    assert len(pending([("2025-06-01", "announced", "buyer", "offer")])) == 1  # still open: pending
    # older than the 5-year look-back
    assert pending([("2014-12-15", "announced", "buyer", "offer")]) == []
    assert len(pending([("2014-12-15", "announced", "buyer", "offer")], as_of="2016-01-01")) == 1
    # a later completed deal with someone else
    assert pending([("2022-01-10", "announced", "buyer", "offer"), ("2023-03-01", "completed", "other", "sold")]) == []
    # a later ownership period (control moved, recorded as dated ownership)
    own = {"co": [("other", dt.date(2023, 3, 1), None)]}
    assert pending([("2022-01-10", "announced", "buyer", "offer")], ownership=own) == []
    # a completion after the as-of day does not count yet
    assert len(pending([("2022-01-10", "announced", "buyer", "offer"), ("2025-03-01", "completed", "other", "x")],
                       as_of="2024-01-01")) == 1


def test_seed_from_a_scan_that_measured_nothing_names_the_domains(tmp_path):
    """Exploratory test H9 (2026-12-06): `seed --scan 1` on a scan that measured nothing (it never
    finished) printed `items: []` with exit 0 - a DNS failure read as "nothing detected" - and
    `--scan 1 --domain example.nl` said the scan had no such domain. A domain of the scan without
    an attribution is now NOT MEASURED, named, exit 1."""
    from stekker.store import Store

    db = tmp_path / "s.db"
    st = Store.open(str(db))
    sid = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.txt", input_sha256="ab" * 32,
                         resolvers=["127.0.0.1:53"], options={})
    st.add_targets(sid, [{"domain": "example.nl", "organisation": "O", "sector": "bedrijf"}])
    st.close()
    for extra in ((), ("--domain", "example.nl")):
        r = cli("audit", "seed", "--scan", str(sid), "--db", str(db), *extra)
        assert r.rc == 1, r.text
        assert "NOT MEASURED (DNS error) for example.nl" in r.out and "could not be measured" in r.err
    r = cli("audit", "seed", "--scan", str(sid), "--db", str(db), "--domain", "other.nl")
    assert r.rc == 2 and "has no domain" in r.err


def test_dutch_spreadsheet_values_and_a_missing_criticality(tmp_path):
    """Exploratory test (explore-c M2, M4): a Dutch Excel writes 30-9-2026,
    WAAR/ONWAAR; a Dutch user writes hoog. These were refused with pydantic's
    'Input should be a valid date ... input is too short'; a missing
    criticality silently became 'medium'."""
    from stekker.audit import report as R
    from stekker.audit.loader import load

    p = tmp_path / "inv.csv"
    p.write_text("name;category;product;criticality;contract_end;data_sensitivity;export_api\n"
                 "Boekhouding;accounting;Exact Online;hoog;30-9-2026;vertrouwelijk;WAAR\n"
                 "Chat;communication;Slack;;;;ONWAAR\n", encoding="utf-8")
    inv = load(p)
    a, b = inv.items
    assert (a.criticality, str(a.contract_end), a.data_sensitivity) == ("high", "2026-09-30", "confidential")
    assert b.criticality is None and a.export.api is True and b.export.api is False
    from stekker.audit.resolve import load_kb

    kb, _ = load_kb()
    for lang, word in (("nl", "onbekend (niet opgegeven)"), ("en", "unknown (not given)")):
        ctx = R.context(R.run_audit(inv, kb, "2026-06-01"), lang)
        assert word in str(ctx) and ("middel" if lang == "nl" else "medium") not in str(ctx)
    from stekker.audit.model import Export, Item

    assert Export(api="WAAR").api is True and Export(api="nee").api is False
    for bad, hint in (("31-31-2026", "write 2026-09-30"), ("9/30/2026", "write 2026-09-30")):
        with pytest.raises(Exception, match=hint):
            Item(name="x", category="crm", product="y", contract_end=bad)
    with pytest.raises(Exception, match="write true or false"):
        Export(api="misschien")


def test_start_here_prefers_a_known_non_eu_owner_and_flags_an_unknown_one():
    """Exploratory test (explore-c M3): 'Begin hier: Bestellingen via WhatsApp
    -> BigBlueButton' for a vendor whose owner is unknown (it may be
    European). A known non-EU item comes first; when only unknown-owner items
    can move, the headline and the steps say to find out the owner first."""
    from stekker.audit import report as R

    kb = test_kb()
    both = inv(
        {"name": "Onbekend", "category": "communication", "product": "WerkbonPro", "vendor": "Appsoft B.V.",
         "users": 2, "criticality": "high", "data_sensitivity": "special"},
        {"name": "Chat", "category": "communication", "product": "Slack", "users": 25, "criticality": "medium"},
    )
    plan = make_plan(both.items, resolve(both, kb, "2026-01-01"), kb, dt.date(2026, 1, 1))
    assert plan.start_here is not None and plan.start_here.item == "Chat"
    only = inv({"name": "Onbekend", "category": "communication", "vendor": "Appsoft B.V.", "criticality": "high"})
    res = resolve(only, kb, "2026-01-01")
    assert res[0].group == "unknown"
    plan = make_plan(only.items, res, kb, dt.date(2026, 1, 1))
    assert plan.start_here is not None and plan.start_here.group == "unknown"
    a = R.run_audit(only, kb, "2026-01-01")
    for lang, words in (("nl", "zoek eerst uit wie de eigenaar is"), ("en", "first find out who the owner is")):
        ctx = R.context(a, lang)
        assert words in ctx["summary"][0] and ctx["start"]["caveat"]


def test_vendors_seed_writes_and_common_plan_names_resolve():
    """Exploratory test (explore-c M5): `audit seed` writes provider names
    (KPN, Akamai, 'Meta (Facebook)', Apple) that the audit then called
    'product not in the catalogue'; 'Microsoft 365 E3' was unknown. A vendor
    is now also found by the knowledge base's provider and company names
    (exactly, never fuzzily), and a vendor-only item's reason names the vendor."""
    from stekker import kb as K

    kb = K.load()
    for vendor, company in (("KPN", "kpn"), ("Akamai", "akamai"), ("Meta (Facebook)", "facebook"),
                            ("Apple", "apple"), ("Koninklijke KPN N.V.", "kpn")):
        r = resolve_item(Item(name="x", category="other", vendor=vendor), kb, "2026-01-01")
        assert r.company == company and r.matched_by == "kb_name", (vendor, r)
    for plan in ("Microsoft 365 E3", "Office 365 E5"):
        r = resolve_item(Item(name="x", category="office_suite", product=plan), kb, "2026-01-01")
        assert r.status == "resolved" and r.parent == "microsoft", plan
    r = resolve_item(Item(name="x", category="other", vendor="Appsoft B.V."), kb, "2026-01-01")
    assert r.status != "resolved" and r.reason == "vendor_not_in_catalogue"
    r = resolve_item(Item(name="x", category="other", vendor="KPNN"), kb, "2026-01-01")
    assert r.company is None  # never fuzzily


def test_meeting_tools_are_no_chat_replacement_and_self_hosting_is_labelled_honestly():
    """Field trial F13: for Slack (team chat) BigBlueButton and Jitsi were "recommended", above
    Element, because the chat beside a video call counted as chat. Team chat and meeting chat are
    two features (features.yaml) and Slack's core is team chat (products.yaml core): a meeting tool
    is shown as "not a replacement"; Zoom's alternatives are still the meeting tools. Element (New
    Vector Ltd, United Kingdom) is no longer labelled "(EU)": the label says where its maker is
    and that self-hosting in the EU is possible."""
    kb = test_kb()
    i = inv({"name": "Chat", "category": "communication", "product": "Slack Pro", "criticality": "medium"},
            {"name": "Webinars", "category": "communication", "product": "Zoom Pro", "criticality": "low"})
    day = dt.date(2026, 12, 6)
    plan = make_plan(i.items, resolve(i, kb, day), kb, day)
    chat, webinars = plan.comparisons
    by = {a.id: a for a in chat.alternatives}
    for meeting_tool in ("jitsi", "bigbluebutton"):
        assert not by[meeting_tool].recommended and by[meeting_tool].warning == "different_function"
    assert chat.alternatives[0].id == "element-matrix" and chat.alternatives[0].recommended
    assert all(a.recommended for a in chat.alternatives if "team_chat" in a.features and a.group == "eu")
    assert {"jitsi", "bigbluebutton"} <= {a.id for a in webinars.alternatives if a.recommended}
    a = run_audit(i, kb, day)
    for lang, label in (("en", "United Kingdom; self-hosted in the EU possible"),
                        ("nl", "Verenigd Koninkrijk; zelf hosten in de EU mogelijk")):
        card = next(c for c in context(a, lang)["comparisons"] if c["item"] == "Chat")
        element = next(x for x in card["alts"] if x["name"].startswith("Element"))
        assert element["group_label"] == label and element["self_host"]
        html = render_html(a, lang)
        assert f"({label})" in html and "Element (United Kingdom) <span class=\"g-eu\">(EU)" not in html


def test_vendor_names_match_by_normalised_name_and_aliases_and_ambiguity_is_said():
    """Field trial F6: a vendor matched only by the KB's full display name ('ChipSoft (HiX,
    Zorgplatform)', 'Epic Systems Corporation', 'NEXUS AG'). Now legal-form words (B.V., AG, Inc.,
    Corporation: audit/data/legal_forms.yaml) and parentheses are left out, case is ignored, and a
    company's aliases are data in the KB (HiX, Epic, Kiteworks); a name that fits several companies
    is reported, not guessed. Field trial F7: the Dutch report then names ChipSoft cleanly."""
    from stekker import kb as K

    kb = K.load()
    for vendor, company in (("ChipSoft", "chipsoft"), ("ChipSoft B.V.", "chipsoft"), ("chipsoft bv", "chipsoft"),
                            ("HiX", "chipsoft"), ("Epic", "epic"), ("Epic Systems", "epic"), ("Nexus", "nexus"),
                            ("Kiteworks", "kiteworks"), ("Intuit", "intuit"), ("Alphabet", "alphabet"),
                            ("Nmbrs", "visma"), ("Microsoft Ireland", "microsoft")):
        r = resolve_item(Item(name="x", category="other", vendor=vendor), kb, "2026-12-06")
        assert (r.company, r.matched_by) == (company, "kb_name"), (vendor, r.reason)
    amb = resolve_item(Item(name="x", category="other", vendor="Topicus.com"), kb, "2026-12-06")
    assert (amb.status, amb.reason, amb.company) == ("unknown", "vendor_ambiguous", None)
    assert len(amb.candidates) == 2 and all(c.startswith("Topicus.com") for c in amb.candidates)
    assert resolve_item(Item(name="x", category="other", vendor="Epik"), kb, "2026-12-06").company is None
    i = inv({"name": "EPD", "category": "other", "vendor": "ChipSoft B.V.", "criticality": "high", "users": 900,
             "stops": ["patiëntendossier"]},
            {"name": "Scholen", "category": "other", "vendor": "Topicus.com"})
    a = run_audit(i, kb, "2026-12-06")
    nl = context(a, "nl")
    assert any("als ChipSoft afsluit" in s for s in nl["summary"]), nl["summary"]
    why = {u["item"]: u["reason"] for u in nl["unresolved"]}["Scholen"]
    assert "meer dan één bedrijf" in why and "Topicus.com B.V." in why and "Topicus.com Inc." in why
    assert "more than one company" in {u["item"]: u["reason"] for u in context(a, "en")["unresolved"]}["Scholen"]


def test_hospital_and_sme_staples_are_in_the_product_catalogue():
    """Field trial F6: HiX, Epic, NEXUS, Zivver, TOPdesk and Mailchimp were 'product not in the
    catalogue'. Each is a sourced entry with its category and vendor company; Zivver (secure mail, an
    add-on to a mailbox) is compared on that function: only an alternative with end-to-end encryption
    can replace it."""
    from stekker import kb as K

    kb = K.load()
    cat = C.catalogue()
    for name, pid, company, category in (("HiX", "hix", "chipsoft", "other"), ("MyChart", "epic", "epic", "other"),
                                         ("NEXUS EPD", "nexus-epd", "nexus", "other"),
                                         ("Zivver", "zivver", "zivver", "email"),
                                         ("TOPdesk", "topdesk", "topdesk", "other"),
                                         ("Mailchimp", "mailchimp", "mailchimp", "other")):
        p = cat.match_product(name)
        assert (p.id, p.company, p.category) == (pid, company, category) and p.source.startswith("http"), name
    assert resolve_item(Item(name="x", category="other", product="HiX"), kb, "2026-12-06").jurisdiction == "NL"
    z = resolve_item(Item(name="x", category="email", product="Zivver"), kb, "2026-12-06")
    assert (z.parent, z.group) == ("kiteworks", "non_european")
    # TOPdesk's company is curated, but no read source names its owners: unknown (controller_unknown),
    # not TOPdesk as its own Dutch controller
    t = resolve_item(Item(name="x", category="other", product="TOPdesk"), kb, "2026-12-06")
    assert (t.status, t.reason) == ("unknown", "controller_unknown")
    i = inv({"name": "Veilig mailen", "category": "email", "product": "Zivver", "criticality": "high"})
    day = dt.date(2026, 12, 6)
    (comp,) = make_plan(i.items, resolve(i, kb, day), kb, day).comparisons
    assert comp.alternatives and not any(a.recommended and "e2e" not in a.features for a in comp.alternatives)
    assert all(a.warning == "different_function" for a in comp.alternatives if "e2e" not in a.features)
    assert comp.alternatives[0].recommended and "e2e" in comp.alternatives[0].features


def test_audit_check_names_the_companies_an_ambiguous_vendor_fits(tmp_path, monkeypatch):
    p = tmp_path / "inv.yaml"
    p.write_text("items:\n  - {name: Scholen, category: other, vendor: Topicus.com}\n", encoding="utf-8")
    monkeypatch.setenv("STEKKER_LANG", "en")
    r = cli("audit", "check", p)
    assert r.rc == 0 and "Scholen: vendor_ambiguous (Topicus.com B.V." in r.out and "Topicus.com Inc.)" in r.out, r


def test_the_dutch_report_has_no_english_catalogue_text():
    """Exploratory test (explore-c M7): the Dutch report showed the
    alternatives' control and licence in English ('sole shareholder the
    Federal Republic of Germany', 'proprietary service'); the knowledge
    base's English research notes are now marked as such (lang="en")."""
    from stekker.audit import report as R
    from stekker.audit.resolve import load_kb

    kb, _ = load_kb()
    i = inv({"name": "Kantoor", "category": "office_suite", "product": "Microsoft 365", "criticality": "high"},
            {"name": "Boekhouding", "category": "accounting", "product": "Exact Online"},
            {"name": "Betalingen", "category": "payments", "product": "Stripe"})
    html = R.render_html(R.run_audit(i, kb, "2026-06-01"), "nl")
    for english in ("sole shareholder", "proprietary service", "ownership not verified here", "owned by investors",
                    "self-hosted, you control"):
        assert english not in html, english
    assert "enige aandeelhouder is de Bondsrepubliek Duitsland" in html and "gesloten dienst" in html
    en = R.render_html(R.run_audit(i, kb, "2026-06-01"), "en")
    assert "sole shareholder the Federal Republic of Germany" in en and "gesloten dienst" not in en


def test_exit_checklist_words_for_a_past_end_date_one_user_and_the_vendor_to_call():
    """Exploratory test (explore-c, low): 'Einde: 2026-09-30 (over -67
    dagen)', '1 gebruikers', 'noteer accountmanager of reseller van KKR & Co.
    Inc..' (the ultimate parent with a double period, not the vendor)."""
    from stekker.audit import report as R
    from stekker.audit.resolve import load_kb

    kb, _ = load_kb()
    i = inv({"name": "Boekhouding", "category": "accounting", "product": "Exact Online", "criticality": "high",
             "users": 1, "contract_end": "2026-03-25", "stops": ["facturatie"]},
            {"name": "Kantoor", "category": "office_suite", "product": "Microsoft 365", "criticality": "high",
             "users": 5000})
    ctx = R.context(R.run_audit(i, kb, "2026-05-31"), "nl")
    ex = {e["item"]: e for e in ctx["exits"]}
    b = ex["Boekhouding"]
    assert any("al 67 dagen voorbij" in x for x in b["contract"]) and not any("-67" in x for x in b["contract"])
    assert b["impact"].endswith("— 1 gebruiker.")
    assert "Exact" in b["who"] and "KKR" not in b["who"] and ".." not in b["who"]
    assert "5.000 gebruikers" in ex["Kantoor"]["impact"]


def test_yaml_1_1_surprises_are_not_read_as_numbers_or_booleans(tmp_path):
    """Exploratory test (explore-c, low): `annual_cost: 0x10` read as 16,
    `12:30` as 750 (base 60), `users: true` as 1. An input file's plain
    values follow YAML 1.2's core schema: each is refused with its field."""
    from stekker.audit.loader import load
    from stekker.safeyaml import load_user_yaml

    got = load_user_yaml("a: 0x10\nb: 12:30\nc: 012\nd: NO\ne: yes\nf: true\ng: 1200\nh: 2026-09-30\n")
    assert got == {"a": "0x10", "b": "12:30", "c": "012", "d": "NO", "e": "yes", "f": True, "g": 1200,
                   "h": dt.date(2026, 9, 30)}
    for line, field in (("annual_cost: 0x10", "annual_cost"), ("annual_cost: 12:30", "annual_cost"),
                        ("users: true", "users")):
        p = tmp_path / "inv.yaml"
        p.write_text(f"organisation: X\nitems:\n  - name: Mail\n    category: email\n    product: Proton Mail\n"
                     f"    {line}\n", encoding="utf-8")
        with pytest.raises(Exception, match=field):
            load(p)


def test_euro_amounts_in_another_currency_and_a_dutch_as_of():
    """Exploratory test (explore-c M8): `currency: USD` with `annual_cost:
    '€ 1.234,56'` was shown as USD 1,235; review 27: the inventory's own
    `as_of: 30-9-2025` gave pydantic's 'input is too short'."""
    from stekker.audit.model import Inventory

    with pytest.raises(Exception, match="is in euro, but the inventory's currency is USD"):
        Inventory.model_validate({"organisation": "X", "currency": "USD",
                                  "items": [{"name": "a", "category": "crm", "product": "y",
                                             "annual_cost": "€ 1.234,56"}]})
    ok = Inventory.model_validate({"organisation": "X", "currency": "USD", "as_of": "30-9-2025",
                                   "items": [{"name": "a", "category": "crm", "product": "y", "annual_cost": "1234.56"}]})
    assert str(ok.as_of) == "2025-09-30"
    with pytest.raises(Exception, match="write 2026-09-30"):
        Inventory.model_validate({"organisation": "X", "as_of": "30/9/2025", "items": []})


def test_a_spreadsheet_file_and_spreadsheet_column_names(tmp_path):
    """Exploratory test (explore-c, low): an .xlsx gave 'invalid YAML:
    character \\x03'; a header in capitals ('Name;Category') was refused."""
    import zipfile

    from stekker.audit.loader import InventoryError, load

    x = tmp_path / "inventaris.xlsx"
    with zipfile.ZipFile(x, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InventoryError, match="spreadsheet file .* is not read; save it as CSV"):
        load(x)
    c = tmp_path / "inv.csv"
    c.write_text("Name;Category;Product;Annual cost;Export-API\nMail;email;Proton Mail;99,95;ja\n", encoding="utf-8")
    inv = load(c)
    assert inv.items[0].name == "Mail" and str(inv.items[0].annual_cost) == "99.95" and inv.items[0].export.api is True


def test_an_alternative_that_cannot_be_taken_yet_is_never_recommended():
    """Exploratory test (explore-c M9): MijnBureau was marked recommended
    while its own note says it is no product a company can take yet
    (alternatives.yaml available: false)."""
    from stekker.audit import report as R
    from stekker.audit.resolve import load_kb

    kb, _ = load_kb()
    i = inv({"name": "Kantoor", "category": "office_suite", "product": "Microsoft 365", "criticality": "high"})
    a = R.run_audit(i, kb, "2026-06-01")
    comp = a.plan.comparisons[0]
    mb = next(x for x in comp.alternatives if x.id == "mijnbureau")
    assert mb.warning == "not_available" and not mb.recommended
    assert a.plan.start_here is None or a.plan.start_here.best_alternative != "mijnbureau"
    from stekker.audit import catalog as C

    assert C.t("misc.warning_not_available", "nl").startswith("Nog niet af te nemen")


def test_an_alternative_offering_little_of_what_is_used_is_not_recommended():
    """Explore-c (low): La Suite (one cloud-storage feature of six: share
    links) was 'recommended' to replace Google Drive.  An alternative is
    recommended only when it offers at least scoring.yaml's recommend_min_fit
    of what the current product does; below it, it is shown with a warning."""
    from stekker import kb as K
    from stekker.audit.plan import compare

    item = Item(name="Opslag", category="cloud_storage", product="Google Drive")
    kb = K.load()
    comp = compare(item, resolve_item(item, kb, "2026-12-01"), kb, dt.date(2026, 12, 1))
    by = {a.id: a for a in comp.alternatives}
    assert by["la-suite"].fit is not None and by["la-suite"].fit < Decimal("0.5")
    assert not by["la-suite"].recommended and by["la-suite"].warning == "partial_function"
    assert by["nextcloud"].recommended and comp.alternatives[0].recommended
    assert C.scoring()["recommend_min_fit"] == 0.5


def test_seed_finds_an_internationalised_domain_by_its_unicode_name(tmp_path):
    """Explore-f M9: `audit seed --domain münchen.de` scanned the domain, then
    failed 'scan 1 has no domain münchen.de' (stored as xn--mnchen-3ya.de);
    so did `--scan 1 --domain münchen.de`.  The name is read as stored."""
    db, sid = _one_scan_db(tmp_path, "xn--sdwest-frysln-teb26a.nl", "Súdwest-Fryslân", "gemeente", "idn.db")
    res = CliRunner().invoke(_cli(), ["audit", "seed", "--scan", str(sid), "--db", str(db),
                                      "--domain", "súdwest-fryslân.nl"])
    assert res.exit_code == 0, res.output
    assert "Microsoft" in res.output or "Exchange" in res.output


@pytest.mark.parametrize("bad", ["127.0.0.1:abc", "127.0.0.1:", "[::1]:x53", "resolver.example"])
def test_audit_seed_refuses_a_bad_resolver_as_scan_does(tmp_path, bad):
    # explore-f M13: `audit seed --domain X -r 127.0.0.1:abc` was exit 3 ("resolver or network
    # unavailable") with "invalid literal for int()"; `scan` said exit 2. One parser, one message.
    from cli_util import cli

    db = tmp_path / "a.db"
    seed = cli("audit", "seed", "--domain", "school.nl", "-r", bad, "--db", str(db), "-o", str(tmp_path / "o.yaml"))
    scan_in = tmp_path / "in.txt"
    scan_in.write_text("school.nl\n")
    scan = cli("scan", str(scan_in), "-r", bad, "--db", str(tmp_path / "s.db"))
    for r in (seed, scan):
        assert r.rc == 2, r.err
        assert "invalid literal" not in r.err and "resolver" in r.err
    assert seed.err.splitlines()[-1] == scan.err.splitlines()[-1]
    assert not db.exists()  # refused before anything is written


def test_an_overlong_cell_and_an_unclosed_quote_are_refused_with_their_line(tmp_path):
    """Field trial F1/F2: a CSV cell over the csv module's limit (131072 characters) crashed `audit
    check` with exit 4; an unclosed quote silently swallowed every later row ("OK, 1 item(s)").
    The inventory is read by the scan's CSV reader (stekker.targets.csv_records): each is its
    row's problem, file:line, exit 2; a quoted cell that spans lines and is closed still reads."""
    big = tmp_path / "big.csv"
    big.write_text("name,category,product,annual_cost\nA,crm," + "x" * 200_000 + ",1\n")
    r = cli("audit", "check", big)
    assert r.rc == 2 and f"{big}:2: a cell is longer than 131,072 characters" in r.err, r.text[:500]
    open_quote = tmp_path / "s.csv"
    open_quote.write_text('name,category,product,annual_cost,notes\nA,crm,HubSpot,100,"see contract\n'
                          "B,accounting,Exact Online,2000,\nC,office_suite,Microsoft 365,5000,\n")
    r = cli("audit", "check", open_quote)
    assert r.rc == 2 and f'{open_quote}:2: unterminated quoted field (a " without its closing ")' in r.err, r.text
    assert "OK" not in r.out
    text = ('name,category,product,annual_cost,notes\nA,crm,HubSpot,100,"see contract\nsigned 2024"\n'
            "B,accounting,Exact Online,2000,\nC,office_suite,Microsoft 365,veel,\n")
    with pytest.raises(InventoryError) as ei:
        load_text(text, "m.csv")
    assert [str(p).split(": not")[0] for p in ei.value.problems] == ["m.csv:5: items[2] (C).annual_cost"]
    inv = load_text(text.replace("veel", "5000"), "m.csv")
    assert [i.name for i in inv.items] == ["A", "B", "C"] and inv.items[0].notes == "see contract\nsigned 2024"
    with pytest.raises(InventoryError, match='m.csv:2: text after the closing " of a quoted cell'):
        load_text('name,category,product\nA,crm,"Hub"Spot\n', "m.csv")


@pytest.mark.parametrize("codec, bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                        ("utf-16-le", b"")])
def test_a_utf16_inventory_is_read_as_the_scan_reads_its_input(tmp_path, codec, bom):
    """Field trial F10: Excel's "Unicode text" (UTF-16 with a BOM) was refused as "contains NUL
    bytes; not a text file", while `scan` reads UTF-16 input. One rule (stekker.targets.text_encoding)."""
    p = tmp_path / "inv.csv"
    p.write_bytes(bom + "Name\tCategory\tProduct\tAnnual cost\nBoekhouding\taccounting\tExact Online\t1200\n"
                  "Mail\temail\tProton Mail\t99\n".encode(codec))
    inv = load(p)
    assert [(i.name, i.annual_cost) for i in inv.items] == [("Boekhouding", Decimal(1200)), ("Mail", Decimal(99))]
    r = cli("audit", "check", p)
    assert r.rc == 0 and "OK, 2 item(s)" in r.out, r.text
    broken = tmp_path / "broken.csv"
    broken.write_bytes(codecs.BOM_UTF16_LE + "name,category\n".encode("utf-16-le") + b"\x00\xdc")  # a lone surrogate
    r = cli("audit", "check", broken)
    assert r.rc == 2 and "not valid UTF-16 text" in r.err, r.text
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"name,category\n\x00\x01\x02\x03 binary \x00\x00\x00")
    with pytest.raises(InventoryError, match="contains NUL bytes; not a text file"):
        load(binary)


def test_a_column_given_twice_is_refused_naming_it():
    """Field trial F11: `name,name,category,...` passed `check` and the last column's values won,
    the other's silently dropped. Refused, as the scan refuses two domain columns."""
    with pytest.raises(InventoryError) as ei:
        load_text("name,Name,category,product,Annual cost,annual-cost\nA,B,crm,HubSpot,1,2\n", "d.csv")
    assert [str(p) for p in ei.value.problems] == [
        "d.csv:1: header: more than one column is the field 'name' ('name' (column 1), 'Name' (column 2)); keep one",
        "d.csv:1: header: more than one column is the field 'annual_cost' ('Annual cost' (column 5), "
        "'annual-cost' (column 6)); keep one"]


def test_dutch_column_names_are_other_names_of_the_fields(monkeypatch):
    """Field trial F12: `Naam;Categorie;Product;Jaarlijkse kosten` was refused as unknown columns,
    although Dutch values (hoog, ja, 1.200,50) are read. The Dutch names are a table of their own
    (audit/data/columns.yaml), also for the `# key:` lines; an unknown column's message lists
    the English and the Dutch names."""
    from stekker.audit import loader

    text = ("# Organisatie: Bakkerij De Vries;;;\n# Valuta: EUR\n# Peildatum: 30-9-2025\n"
            "Naam;Categorie;Product;Leverancier;Jaarlijkse kosten;Gebruikers;Kritiek;Einde contract;"
            "Opzegtermijn (dagen);Afhankelijk van;Opmerkingen\n"
            "Boekhouding;accounting;Exact Online;Exact;1.200,50;3;hoog;31-12-2026;90;;via de accountant\n")
    inv = load_text(text, "nl.csv")
    assert (inv.organisation, inv.currency, str(inv.as_of)) == ("Bakkerij De Vries", "EUR", "2025-09-30")
    (it,) = inv.items
    assert (it.name, it.category, it.vendor, it.annual_cost, it.users, it.criticality, str(it.contract_end),
            it.notice_days, it.notes) == ("Boekhouding", "accounting", "Exact", Decimal("1200.50"), 3, "high",
                                          "2026-12-31", 90, "via de accountant")
    # a bare "Opzegtermijn" may be months: not read as notice_days
    with pytest.raises(InventoryError) as ei:
        load_text("Naam;Categorie;Product;Opzegtermijn\nA;crm;HubSpot;3\n", "nl.csv")
    (p,) = ei.value.problems
    assert p.message.startswith("unknown column(s) opzegtermijn; known: name (naam), category (categorie), product, "
                                "vendor (leverancier), annual_cost (jaarlijkse kosten),"), p.message
    # one table, checked: a name no field has, or one two fields claim, is the data file's error
    loader._aliases.cache_clear()
    monkeypatch.setattr(loader, "column_aliases", lambda: {"columns": {"name": ["naam"], "vendor": ["Naam"]}, "meta": {}})
    try:
        with pytest.raises(C.CatalogueError, match="columns.yaml: 'Naam' cannot be another name of 'vendor'"):
            load_text("naam,category\nA,crm\n", "x.csv")
    finally:
        loader._aliases.cache_clear()


def test_a_contract_end_before_1900_is_refused_and_a_deadline_never_overflows(tmp_path):
    """Field trial F3: `contract_end: 0001-01-01, notice_days: 3650` passed `check`, then `report`
    crashed with exit 4 (OverflowError: date value out of range) computing the notice deadline.
    `check` (the loader) refuses an end date before 1900; the deadline's arithmetic itself
    (plan.notice_deadline, used by the exit checklist and the first steps) cannot overflow."""
    from stekker.audit.plan import exit_checklist

    p = tmp_path / "y.yaml"
    p.write_text("items: [{name: a, category: crm, product: HubSpot, criticality: high, contract_end: 0001-01-01, "
                 "notice_days: 3650}]\n")
    for cmd in (("audit", "check", p), ("audit", "report", p, "--json", tmp_path / "a.json")):
        r = cli(*cmd)
        assert r.rc == 2 and f"{p}:1: items[0] (a).contract_end: 0001-01-01 is before 1900-01-01" in r.err, r.text
    assert not (tmp_path / "a.json").exists()
    ok = inv({"name": "a", "category": "crm", "product": "HubSpot", "contract_end": "1900-01-01", "notice_days": 3650})
    # an item made without the loader's checks: the arithmetic still holds
    old = Item.model_construct(**{**ok.items[0].__dict__, "contract_end": dt.date(1, 1, 1), "criticality": "high"})
    (res,) = resolve(ok, test_kb(), "2026-01-01")
    e = exit_checklist(old, res, dt.date(2026, 1, 1))
    assert e.notice_deadline == "0001-01-01" and e.days_to_contract_end < 0
    from stekker.audit.plan import notice_deadline
    from stekker.dates import days_before

    assert str(notice_deadline(ok.items[0])) == "1890-01-03"
    assert days_before(dt.date.max, -1) == dt.date.max and days_before(dt.date(2026, 3, 31), 30) == dt.date(2026, 3, 1)


def test_a_long_value_is_shortened_in_messages():
    """Field trial: a 100,000-character item name was echoed in full in a validation error (in the
    field's label, and again in "names must be unique"). Every value of the file a message echoes
    is shortened by one helper (stekker.text.shorten): 60 characters, an ellipsis says so."""
    long = "n" * 100_000
    text = yaml.safe_dump({"currency": "Q" * 5000, "items": [
        {"name": long, "category": "x" * 5000, "product": "HubSpot", "contract_end": "d" * 5000},
        {"name": long, "category": "crm", "product": "HubSpot", "depends_on": ["o" * 5000],
         "annual_cost": "z" * 5000, "export": {"api": "y" * 5000}}]}, width=10**6)
    with pytest.raises(InventoryError) as ei:
        load_text(text, "l.yaml")
    msgs = [str(p) for p in ei.value.problems]
    assert len(msgs) >= 8 and all(len(m) < 500 for m in msgs), [(len(m), m[:100]) for m in msgs]
    assert any(re.fullmatch(r"l\.yaml:\d+: items\[0\] \(n{59}…\)\.name: longer than 2000 characters \(got 'n{58}…\)", m)
               for m in msgs), [m[:120] for m in msgs]
    assert any("is also the name of items[0]" in m for m in msgs) and any("is not the name of an item" in m for m in msgs)
    csv_text = "name,category,product," + "c" * 100_000 + "\nA,crm,HubSpot,1\n"
    with pytest.raises(InventoryError) as ei:
        load_text(csv_text, "l.csv")
    (p,) = ei.value.problems
    assert p.message.startswith("unknown column(s) " + "c" * 59 + "…; known: name") and len(str(p)) < 700


def test_a_value_under_a_nameless_column_and_a_repeated_key_line_are_refused():
    """Found beside F11: a value in a column whose header cell is empty (`name,category,,product`)
    was dropped unread, and a `# key:` line given twice (`# currency: USD`, then `# valuta: EUR`)
    silently took the last. Both are refused with their line, exit 2; an empty column and Excel's
    padding still pass."""
    with pytest.raises(InventoryError) as ei:
        load_text("# currency: USD\n# Valuta: EUR\nname,category,,product\nA,crm,important,HubSpot\nB,crm,,HubSpot\n",
                  "g.csv")
    assert [str(p) for p in ei.value.problems] == ["g.csv:2: '# currency:' is given twice (also on line 1); keep one"]
    with pytest.raises(InventoryError) as ei:
        load_text("name,category,,product\nA,crm,important,HubSpot\nB,crm,,HubSpot\n", "g.csv")
    assert [str(p) for p in ei.value.problems] == [
        "g.csv:2: a value in column 3 ('important'), which has no name in the header; name the column or leave it empty"]
    inv = load_text("# currency: USD\nname,category,,product,,\nB,crm,,HubSpot,,,\n", "g.csv")
    assert inv.currency == "USD" and [i.name for i in inv.items] == ["B"]


def test_a_summary_sentence_names_ten_and_counts_the_rest():
    # field trial F14: an inventory of 10,000 items put every function name in the headline
    from stekker.audit.report import JOIN_MAX, _join

    names = [f"f{i}" for i in range(25)]
    assert _join(names, "en") == ", ".join(names[:JOIN_MAX]) + " and 15 more"
    assert _join(names, "nl") == ", ".join(names[:JOIN_MAX]) + " en nog 15"
    assert _join(names[:3], "nl") == "f0, f1 en f2" and _join(names[:JOIN_MAX], "en").endswith(" and f9")


def test_the_first_steps_follow_the_plans_notice_rule():
    # review of the field-trial fixes: "start here" computed "too late" itself and still said
    # "give notice by <past day>" for a contract that had already ended
    from stekker.audit import report as R

    kb = test_kb()
    for end, said in (("2025-12-31", None), ("2026-01-20", "the notice deadline 2025-12-21 has passed"),
                      ("2026-06-30", "give notice by 2026-05-31")):
        one = inv({"name": "Chat", "category": "communication", "product": "Slack", "users": 25,
                   "criticality": "medium", "contract_end": end, "notice_days": 30})
        ctx = R.context(R.run_audit(one, kb, "2026-01-01"), "en")
        step = next(s for s in ctx["start"]["steps"] if s.startswith("Find the contract"))
        if said is None:  # ended: no notice line (as the exit checklist)
            assert step.startswith("Find the contract: end date 2025-12-31. Put"), step
        else:
            assert said in step, step
