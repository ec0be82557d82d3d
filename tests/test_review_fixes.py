"""Regression tests for the review of issues 9, 12 and 13 (one test per
defect; each failed before its fix)."""

from __future__ import annotations

import pytest

from stekker import kb as kbmod
from stekker.judge import judge, load_policies
from test_attribute import AS_OF
from test_attribute_network import attr


@pytest.fixture(scope="module")
def kb():
    return kbmod.load()


@pytest.fixture(scope="module")
def pol():
    return load_policies()


# a Microsoft tenant token behind a Swiss mail gateway (SEPPmail): DNS shows the gateway
# in the MX records and "MS=" in a TXT record only
GATEWAY_MS = [("gemeente-t.nl", "MX", "10 gemeente-t-nl.gate.seppmail.cloud."), ("gemeente-t.nl", "TXT", "MS=ms12345678")]


def test_nos_records_leaves_out_a_tenant_token_behind_a_gateway(kb, pol):
    """[review 1] nos-records looks at A/MX/NS/CNAME only: a mailbox known only
    from a TXT token must not make the domain US-linked, nor count in the NOS
    Microsoft row."""
    from stekker.report import build

    da = attr("gemeente-t.nl", GATEWAY_MS, kb)
    mb = da.services["mailbox"]
    assert mb.provider == "microsoft" and mb.basis == "likely"
    assert all(e.rtype == "TXT" for e in mb.evidence)
    v = judge(mb, kb, pol["nos-records"], AS_OF)
    assert v is None or v.verdict == "unknown"
    rep = build([da], kb, pol.select(["nos", "nos-records"]), AS_OF)
    assert rep.results[0].verdict["nos-records"] != "not_sovereign"
    assert rep.nos.row("microsoft").count == 0
    assert rep.nos.row("big_three").count == 0
