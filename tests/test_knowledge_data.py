"""Knowledge is data: facts and tuning values that used to sit in code live
in the shipped YAML, with one home each (issue 10)."""

from __future__ import annotations

from pathlib import Path

import yaml

import stekker
from stekker import kb
from stekker.audit import catalog as C
from stekker.audit import seed

SHARED = Path(stekker.__file__).parent / "data"


def _yaml(path: Path):
    return yaml.safe_load(path.read_text("utf-8"))


def test_eu27_has_one_home_and_the_policies_copy_is_equal():
    eu = _yaml(SHARED / "countries.yaml")["eu"]
    assert len(eu["countries"]) == 27 == len(set(eu["countries"])) and eu["source"].startswith("https://")
    assert C.eu_member_states() == frozenset(eu["countries"])
    assert set(C.jurisdictions()["eu"]) == set(eu["countries"])
    assert "eu" not in _yaml(Path(C.DATA_DIR) / "jurisdictions.yaml")  # no second list in the audit's data
    # the judge's EU set is the same group, read from countries.yaml, not a copy
    from stekker.judge import load_policies

    assert load_policies().country_sets["EU"] == frozenset(eu["countries"])
    pol = _yaml(Path(stekker.__file__).parent / "judge" / "data" / "policies.yaml")
    assert pol["country_sets"]["EU"].get("group") == "eu" and "countries" not in pol["country_sets"]["EU"]
    assert load_policies().country_sets["EEA"] == frozenset(eu["countries"]) | {"IS", "LI", "NO"}
    assert C.jurisdiction_group("NL") == "eu" and C.jurisdiction_group("CH") == "europe"


def test_unverified_asn_factor_is_a_rule():
    rules = kb.load().rules
    raw = _yaml(Path(kb.DATA_DIR) / "rules.yaml")
    assert rules.unverified_asn_factor == raw["unverified_asn_factor"] == 0.8
    assert 0 < rules.unverified_asn_factor * rules.ip_confidence < rules.ip_confidence
    src = (Path(stekker.__file__).parent / "attribute" / "engine.py").read_text("utf-8")
    assert "else 0.8" not in src and "unverified_asn_factor" in src


def test_seed_mapping_is_data():
    raw = _yaml(Path(C.DATA_DIR) / "seed.yaml")
    assert seed.ORDER == tuple(raw["order"]) and seed.CATEGORY_MAP == raw["category_map"]
    assert set(seed.CATEGORY_MAP.values()) <= set(C.category_ids())


def test_validate_verdicts_and_peer_labels_are_data():
    from stekker.validate import peers, verdict

    raw = _yaml(Path(verdict.DATA))
    assert verdict.CAUSES == raw["causes"] and set(verdict.REVIEWED) == set(raw["reviewed"])
    assert all(v[0] in ("stekker", "peer", "undecided") and v[1] in verdict.CAUSES for v in verdict.REVIEWED.values())
    assert not verdict.STRONG & verdict.WEAK
    assert peers.bucket("MS365") == "microsoft" and peers.bucket("gws") == "google" and peers.bucket("x") == "other"
    assert all("{}" in f for f in peers.TXT_PREFIX.values())


def test_a_policy_file_naming_an_unknown_country_group_is_refused(tmp_path):
    from stekker.judge import PolicyError, load_policies

    p = tmp_path / "p.yaml"
    p.write_text("country_sets:\n  X:\n    group: atlantis\n", "utf-8")
    import pytest

    with pytest.raises(PolicyError, match="atlantis"):
        load_policies(p)


def test_registry_pseudo_codes_are_data_and_read_once():
    from stekker.countries import registration_country

    raw = _yaml(SHARED / "countries.yaml")["pseudo_codes"]["no_country"]
    assert all(registration_country(c) is None for c in raw + [None, "", " zz "])
    assert registration_country("nl") == "NL" and registration_country("EU") == "EU"
    for rel in ("ipasn.py", "attribute/engine.py", "judge/facts.py"):
        src = (Path(stekker.__file__).parent / rel).read_text("utf-8")
        assert '"ZZ"' not in src and "registration_country" in src, rel


def test_an_explanation_carries_its_expiry_and_a_bad_one_is_refused(tmp_path):
    import pytest

    from stekker.judge import ExplanationError, load_explanations

    p = tmp_path / "e.yaml"
    p.write_text("- {domain: a.nl, text: plan, by: CIO, date: 2026-02-01, expires: 2027-12-31}\n", "utf-8")
    assert load_explanations(str(p))[0].expires == "2027-12-31"
    p.write_text("- {domain: a.nl, text: plan, expires: soon}\n", "utf-8")
    with pytest.raises(ExplanationError, match="expires"):
        load_explanations(str(p))
