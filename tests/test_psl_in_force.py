"""One public suffix list for every stage: the copy `stekker data update`
downloaded (else the bundled one) decides where a registrable domain ends in
targets normalisation, in attribution and (ICANN section only) in the lab, and
the report states the list in force.  No network: the "download" is a
file:// URL, which datasets.update() treats like any other source."""

from __future__ import annotations

from pathlib import Path

import publicsuffixlist
import pytest

from stekker import datasets, targets
from stekker import kb as kbmod
from stekker.attribute import attribute_domain
from stekker.attribute.engine import registrable_domain as attribute_registrable
from stekker.lab.build import registrable as lab_registrable
from stekker.report import scan_meta

from test_attribute import ASN, AS_OF, evidence

PRIVATE = "stekkerhost.nl"  # not in the bundled list; a shared-hosting suffix in the downloaded one
ORG = "org-a." + PRIVATE
VERSION = "2099-01-01_00-00-00_UTC"


def downloaded_psl(tmp_path: Path) -> Path:
    """The bundled list with one private suffix added and its own version."""
    text = Path(publicsuffixlist.PSLFILE).read_text("utf-8")
    marker = "// ===BEGIN PRIVATE DOMAINS==="
    assert marker in text and PRIVATE not in text.split("\n")
    lines = [ln for ln in text.split("\n") if not ln.startswith("// VERSION:")]
    text = f"// VERSION: {VERSION}\n" + "\n".join(lines).replace(marker, f"{marker}\n{PRIVATE}", 1)
    p = tmp_path / "mirror" / "public_suffix_list.dat"
    p.parent.mkdir()
    p.write_text(text, "utf-8")
    return p


def mail_inbound(kb) -> str:
    d = ORG
    recs = [(d, "MX", f"10 mx.{PRIVATE}."), (f"mx.{PRIVATE}", "A", "192.87.10.25")]
    return attribute_domain(evidence(d, recs), kb, asn_table=ASN, as_of=AS_OF).services["mail_inbound"].status


class FakeStore:
    def __init__(self, rows):
        self.rows = rows

    def scan_info(self, scan_id):
        return {"state": "finished"}

    def datasets(self):
        return self.rows


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setenv("STEKKER_DATA_DIR", str(d))
    return d


def test_downloaded_list_changes_the_pipelines_answer(tmp_path, data_dir):
    kb = kbmod.load()
    # bundled list: stekkerhost.nl is an ordinary domain
    assert datasets.psl_info()["bundled"] is True
    assert targets.normalise_domain("www." + PRIVATE) == PRIVATE
    assert targets.normalise_domain(PRIVATE) == PRIVATE
    assert attribute_registrable(ORG) == PRIVATE
    assert mail_inbound(kb) == "self"  # mx.stekkerhost.nl is under the organisation's own domain

    rep = datasets.update(sources={"psl": downloaded_psl(tmp_path).as_uri()}, build_table=False)
    assert rep.ok, rep.errors
    assert (data_dir / "public_suffix_list.dat").is_file()
    info = datasets.psl_info()
    assert info["bundled"] is False and info["version"] == VERSION

    # downloaded list: stekkerhost.nl is a public suffix, org-a.stekkerhost.nl the registrable domain
    assert targets.normalise_domain("www." + PRIVATE) == "www." + PRIVATE  # www. no longer stripped
    with pytest.raises(targets.NameProblem) as exc:
        targets.normalise_domain(PRIVATE)
    assert exc.value.kind == "public_suffix"
    assert attribute_registrable(ORG) == ORG
    assert datasets.registrable_domain("www." + ORG) == ORG
    assert mail_inbound(kb) != "self"  # a neighbour on the shared suffix is not the organisation
    # the lab keeps ICANN-only semantics through the same function
    assert lab_registrable(ORG) == PRIVATE
    assert datasets.registrable_domain(ORG, icann_only=True) == PRIVATE

    # the report states the list in force (the store recorded the same download)
    rows = [dict(e) for e in datasets.records(data_dir)]
    meta = scan_meta(FakeStore(rows), 1)
    psl = [d for d in meta["datasets"] if d.get("name") == "psl"]
    assert [d["version"] for d in psl] == [VERSION]
    assert not any("public suffix" in w for w in meta["warnings"])

    # the downloaded copy removed: back to the bundled list, and the report says so
    (data_dir / "public_suffix_list.dat").unlink()
    assert datasets.psl_info()["bundled"] is True
    assert attribute_registrable(ORG) == PRIVATE
    assert targets.normalise_domain("www." + PRIVATE) == PRIVATE
    assert mail_inbound(kb) == "self"
    meta = scan_meta(FakeStore(rows), 1)
    psl = [d for d in meta["datasets"] if d.get("name") == "psl"]
    assert len(psl) == 1 and psl[0]["bundled"] is True and psl[0]["version"] != VERSION
    assert any(f"public suffix list version {VERSION}" in w for w in meta["warnings"])


def test_invalid_download_falls_back_to_bundled(data_dir):
    data_dir.mkdir()
    (data_dir / "public_suffix_list.dat").write_text("<html>captive portal</html>", "utf-8")
    assert datasets.suffix_list().info["bundled"] is True
    assert datasets.registrable_domain("www.example.co.uk") == "example.co.uk"
    assert targets.normalise_domain("www.example.co.uk") == "example.co.uk"
