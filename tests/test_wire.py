"""The hot-path DNS codec against dnspython, and the classification of
replies into the three states (unit tests on parsed messages)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stekker.collect.engine import classify
from stekker.collect.transport import Reply, parse_resolver
from stekker.collect.wire import WireError, build_query, decode_response, encode_name
from stekker.evidence import AbsentKind, ErrorKind, Status


def _response(qname: str, qtype: str, records: list[tuple[str, str, str]], rcode=dns.rcode.NOERROR, tc=False) -> bytes:
    q = dns.message.make_query(qname, qtype)
    r = dns.message.make_response(q)
    r.set_rcode(rcode)
    if tc:
        r.flags |= dns.flags.TC
    for owner, rtype, value in records:
        r.answer.append(dns.rrset.from_text(owner, 300, "IN", rtype, value))
    return r.to_wire()


def _reference(wire: bytes) -> list[tuple[str, str, str]]:
    """What dnspython decodes, in stekker's presentation."""
    m = dns.message.from_wire(wire)
    out = []
    for rrset in m.answer:
        for rd in rrset:
            if rrset.rdtype == dns.rdatatype.TXT:
                v = b"".join(rd.strings).decode("utf-8", "backslashreplace")
            else:
                v = rd.to_text().lower()
                v = " ".join(p.rstrip(".") if p.endswith(".") and p != "." else p for p in v.split(" "))
            out.append((rrset.name.to_text(omit_final_dot=True).lower(), dns.rdatatype.to_text(rrset.rdtype), v))
    return sorted(out)


CASES = [
    ("www.example.nl", "A", [("www.example.nl.", "CNAME", "d1.cloudfront.net."), ("d1.cloudfront.net.", "A", "13.32.1.2")]),
    ("example.nl", "MX", [("example.nl.", "MX", "10 example-nl.mail.protection.outlook.com.")]),
    ("example.nl", "MX", [("example.nl.", "MX", "0 .")]),
    ("example.nl", "NS", [("example.nl.", "NS", "ns1.transip.nl."), ("example.nl.", "NS", "ns0.transip.net.")]),
    ("example.nl", "AAAA", [("example.nl.", "AAAA", "2a01:7c8::1")]),
    ("_sip._tls.example.nl", "SRV", [("_sip._tls.example.nl.", "SRV", "100 1 443 sipdir.online.lync.com.")]),
    ("example.nl", "SOA", [("example.nl.", "SOA", "ns1.example.nl. hostmaster.example.nl. 1 3600 600 86400 300")]),
    ("example.nl", "TXT", [("example.nl.", "TXT", '"v=spf1 include:spf.protection.outlook.com -all"'),
                           ("example.nl.", "TXT", '"MS=ms123" "split"'),
                           ("example.nl.", "TXT", '"\\255\\254 invalid utf8 \\000 nul <script>"')]),
    ("example.nl", "CAA", [("example.nl.", "CAA", '0 issue "letsencrypt.org"')]),
]


@pytest.mark.parametrize("qname,qtype,records", CASES)
def test_decoder_matches_dnspython(qname, qtype, records):
    wire = _response(qname, qtype, records)
    ans = decode_response(wire)
    assert ans.qname == qname and ans.rcode == "NOERROR"
    got = sorted((rr.name, rr.rtype, rr.value) for rr in ans.answers)
    assert got == _reference(wire)


def test_hostile_txt_stays_visible_and_inert():
    wire = _response("x.nl", "TXT", [("x.nl.", "TXT", '"\\255\\254\\000<b>"')])
    (rr,) = decode_response(wire).answers
    assert rr.value == "\\xff\\xfe\x00<b>"  # invalid UTF-8 escaped; NUL kept as a character for the store to escape


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_decoder_never_crashes_on_garbage(data):
    try:
        decode_response(data)
    except WireError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True), min_size=1, max_size=5),
       st.sampled_from(["A", "AAAA", "MX", "TXT", "NS", "SRV", "CNAME", "SOA"]), st.integers(0, 65535))
def test_query_builder_is_what_dnspython_reads(labels, qtype, qid):
    name = ".".join(labels) + ".nl"
    msg = dns.message.from_wire(build_query(qid, encode_name(name), dns.rdatatype.from_text(qtype)))
    assert msg.id == qid
    assert msg.question[0].name == dns.name.from_text(name)
    assert msg.question[0].rdtype == dns.rdatatype.from_text(qtype)
    assert msg.flags & dns.flags.RD and msg.edns == 0 and msg.payload == 1232


def test_compression_loop_and_forward_pointer_rejected():
    wire = bytearray(_response("a.nl", "A", [("a.nl.", "A", "1.2.3.4")]))
    # point the question name at itself
    wire[12:14] = b"\xc0\x0c"
    with pytest.raises(WireError):
        decode_response(bytes(wire))


def test_encode_name_refuses_unsendable_names():
    with pytest.raises(WireError):
        encode_name("x" * 64 + ".nl")
    with pytest.raises(WireError):
        encode_name("zoë.nl")
    with pytest.raises(WireError):
        encode_name(".".join(["abcdefghi"] * 30))


def _reply(wire: bytes) -> Reply:
    return Reply(decode_response(wire), wire, "127.0.0.1:53", None, None, 0.0)


def test_classify_three_states():
    present = classify("e.nl", "apex_mx", "e.nl", "MX", _reply(_response("e.nl", "MX", [("e.nl.", "MX", "10 mx.e.nl.")])), 8)
    assert present.status is Status.PRESENT
    nodata = classify("e.nl", "apex_mx", "e.nl", "MX", _reply(_response("e.nl", "MX", [])), 8)
    assert nodata.status is Status.ABSENT and nodata.absent_kind is AbsentKind.NODATA
    nx = classify("e.nl", "apex_mx", "e.nl", "MX", _reply(_response("e.nl", "MX", [], rcode=dns.rcode.NXDOMAIN)), 8)
    assert nx.status is Status.ABSENT and nx.absent_kind is AbsentKind.NXDOMAIN
    timeout = classify("e.nl", "apex_mx", "e.nl", "MX",
                       Reply(None, None, "127.0.0.1:53", ErrorKind.TIMEOUT, "no answer", 0.0), 8)
    assert timeout.status is Status.ERROR and timeout.error_kind is ErrorKind.TIMEOUT


def test_classify_cname_chain_rules():
    hops = [(f"h{i}.e.nl.", "CNAME", f"h{i + 1}.e.nl.") for i in range(10)] + [("h10.e.nl.", "A", "1.2.3.4")]
    long = classify("e.nl", "host", "h0.e.nl", "A", _reply(_response("h0.e.nl", "A", hops)), 8)
    assert long.status is Status.ERROR and long.error_kind is ErrorKind.CNAME_TOO_LONG
    ok = classify("e.nl", "host", "h0.e.nl", "A", _reply(_response("h0.e.nl", "A", hops)), 10)
    assert ok.status is Status.PRESENT and ok.final_name == "h10.e.nl"
    loop = [("a.e.nl.", "CNAME", "b.e.nl."), ("b.e.nl.", "CNAME", "a.e.nl.")]
    lp = classify("e.nl", "www", "a.e.nl", "A", _reply(_response("a.e.nl", "A", loop)), 8)
    assert lp.error_kind is ErrorKind.CNAME_LOOP
    dangling = classify("e.nl", "www", "www.e.nl", "A",
                        _reply(_response("www.e.nl", "A", [("www.e.nl.", "CNAME", "gone.example.")],
                                         rcode=dns.rcode.NXDOMAIN)), 8)
    assert dangling.status is Status.ABSENT and dangling.absent_kind is AbsentKind.NXDOMAIN
    assert dangling.values("CNAME") == ["gone.example"]  # the chain is kept as evidence


def test_parse_resolver_forms():
    assert parse_resolver("9.9.9.9") == ("9.9.9.9", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5300") == ("::1", 5300)
    assert parse_resolver("2620:fe::fe") == ("2620:fe::fe", 53)
    with pytest.raises(ValueError):
        parse_resolver("dns.quad9.net")


_LABEL_BYTES = st.binary(min_size=1, max_size=12) | st.from_regex(rb"[A-Za-z0-9_*-]{1,12}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LABEL_BYTES, min_size=1, max_size=4), st.lists(_LABEL_BYTES, min_size=0, max_size=3))
@example([b"a.b"], [b"Mail"])  # a dot inside a label is escaped, not a label boundary
@example([b"\\x"], [b"\xff-"])
@example([b"\x01" * 12] * 4, [b"\x02" * 12] * 3)  # 95 bytes on the wire, 343 characters as escaped text
def test_names_decode_as_dnspython_writes_them(prefix, shared):
    """Any label bytes (dots, backslashes, capitals, non-ASCII), with and
    without a compression pointer into the question name: the same text as
    dnspython's, lowercased."""
    base = dns.name.Name([*shared, b"nl", b""])
    owner = dns.name.Name([*prefix, *base.labels])
    q = dns.message.make_query(base, "A")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_rdata(owner, 300, dns.rdata.from_text("IN", "CNAME", base.to_text())))
    ans = decode_response(r.to_wire())  # dnspython compresses the owner against the question name
    assert ans.qname == base.to_text(omit_final_dot=True).lower()
    (rr,) = ans.answers
    assert rr.name == owner.to_text(omit_final_dot=True).lower()
    assert rr.value == ans.qname


def test_a_compressed_name_over_255_bytes_on_the_wire_is_refused_one_under_is_read():
    """The 255-byte limit counts wire bytes across a compression pointer (a
    hostile server can join a long owner prefix to a long question name)."""
    import struct

    from stekker.collect.wire import WireError

    def message(prefix_labels):
        qname = b"".join(bytes([49]) + b"q" * 49 for _ in range(4)) + b"\x02nl\x00"  # 204 bytes
        header = struct.pack(">HHHHHH", 1, 0x8180, 1, 1, 0, 0)
        question = qname + struct.pack(">HH", 1, 1)
        owner = b"".join(bytes([len(x)]) + x for x in prefix_labels) + b"\xc0\x0c"  # pointer to the question name
        rr = owner + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
        return header + question + rr

    # without compression: 255 bytes with the root's zero byte is the most a name may have (RFC 1035 3.1)
    def plain(labels):
        q = b"".join(bytes([len(x)]) + x for x in labels) + b"\x00"
        return struct.pack(">HHHHHH", 1, 0x8180, 1, 0, 0, 0) + q + struct.pack(">HH", 1, 1)

    assert len(decode_response(plain([b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61])).qname) == 253  # 255 bytes
    with pytest.raises(WireError, match="name too long"):
        decode_response(plain([b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 62]))  # 256 bytes
    ok = decode_response(message([b"a" * 40]))  # 41 + 204 = 245 bytes
    assert ok.answers[0].name.startswith("a" * 40 + ".")
    with pytest.raises(WireError, match="name too long"):
        decode_response(message([b"a" * 40, b"b" * 20]))  # 41 + 21 + 204 = 266 bytes
