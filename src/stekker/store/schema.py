"""Storage schema (SQLAlchemy Core), the same for SQLite and PostgreSQL.

Raw evidence is stored as it arrives: one row per DNS question with its
outcome, the decoded answer section (``answers``, JSON) and the wire-format
response (``wire``), so every later result can be re-derived without asking
DNS again.  A domain's rows are written in one transaction together with its
``targets.done`` flag: after a crash a domain is either complete or absent,
never half-written (resume depends on this).

``SCHEMA_VERSION`` is kept in the ``meta`` table; a database written by an
incompatible version is refused with a clear message instead of misread.
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 4

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

scans = sa.Table(
    "scans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.Float, nullable=False),  # unix time
    sa.Column("finished_at", sa.Float),
    sa.Column("state", sa.String(16), nullable=False),  # created|running|interrupted|aborted|finished
    sa.Column("tool_version", sa.String(32), nullable=False),
    sa.Column("plan_version", sa.Integer, nullable=False),
    sa.Column("input_path", sa.Text),
    sa.Column("input_sha256", sa.String(64)),
    sa.Column("resolvers", sa.Text, nullable=False),  # JSON list "ip:port"
    sa.Column("options", sa.Text, nullable=False, default="{}"),  # JSON
    sa.Column("label", sa.Text),
    sa.Column("summary", sa.Text),  # JSON, set by finish_scan
)

targets = sa.Table(
    "targets",
    metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
    sa.Column("domain", sa.String(255), primary_key=True),  # A-label form
    sa.Column("seq", sa.Integer, nullable=False),  # input order
    sa.Column("input_name", sa.Text),  # as written in the input (U-label, URL, ...)
    sa.Column("organisations", sa.Text, nullable=False, default="[]"),  # JSON
    sa.Column("sectors", sa.Text, nullable=False, default="[]"),  # JSON
    sa.Column("hosts", sa.Text, nullable=False, default="[]"),  # JSON
    sa.Column("lines", sa.Text, nullable=False, default="[]"),  # JSON: input line numbers
    sa.Column("done", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16)),  # ok|nxdomain|error once done
    # per-domain query counts, written with the rows (scan totals without scanning `queries`)
    sa.Column("n_present", sa.Integer, nullable=False, default=0),
    sa.Column("n_absent", sa.Integer, nullable=False, default=0),
    sa.Column("n_error", sa.Integer, nullable=False, default=0),
    sa.Index("ix_targets_pending", "scan_id", "done", "seq"),
    sa.Index("ix_targets_seq", "scan_id", "seq"),
)

input_issues = sa.Table(
    "input_issues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("raw", sa.Text),
    sa.Column("kind", sa.String(32), nullable=False),  # invalid|duplicate|encoding|...
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_input_issues_scan", "scan_id", "line"),
)

# One row per DNS question.  (scan_id, tseq, seq) is the key: ``tseq`` is the
# target's ``seq`` (input order) and ``seq`` the position of the result within
# its domain, so evidence is rebuilt in the order the engine produced it, rows
# are appended nearly in key order (fast at tens of millions of rows), and a
# batch of domains in input order is one range scan.  ``domain`` is kept for
# people reading the database.  A domain is always rewritten as a whole.
queries = sa.Table(
    "queries",
    metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
    sa.Column("tseq", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("domain", sa.String(255), nullable=False),
    sa.Column("purpose", sa.String(48), nullable=False),
    sa.Column("qname", sa.Text, nullable=False),
    sa.Column("qtype", sa.String(16), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # present|absent|error
    sa.Column("rcode", sa.String(16)),
    sa.Column("error_kind", sa.String(32)),
    sa.Column("absent_kind", sa.String(16)),
    sa.Column("wildcard", sa.Boolean, nullable=False, default=False),
    sa.Column("resolver", sa.Text),
    sa.Column("ts", sa.Float),
    sa.Column("detail", sa.Text),
    sa.Column("answers", sa.Text, nullable=False, default="[]"),  # JSON [[name, rtype, ttl, value], ...]
    sa.Column("wire", sa.LargeBinary),  # the final DNS response message as received
)

attributions = sa.Table(
    "attributions",
    metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
    sa.Column("kb_version", sa.String(64), primary_key=True),
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("computed_at", sa.Float, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON: the export-contract record
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # ip2asn-v4, psl, ...
    sa.Column("source", sa.Text),
    sa.Column("version", sa.Text),
    sa.Column("fetched_at", sa.Float),
    sa.Column("path", sa.Text),
)
