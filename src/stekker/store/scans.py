"""Scans: creating one, its state, finding one by reference, its summary."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import sqlalchemy as sa

from stekker.i18n import _
from stekker.store import schema as S
from stekker.store.codec import _clean, _jdump, _jlist
from stekker.store.engine import ScanNotFound, StoreError

SCAN_STATES = ("created", "running", "interrupted", "aborted", "finished")
_FINAL_STATES = ("finished", "interrupted", "aborted")
RUNNER_BEAT = 20.0  # seconds between a running scan's heartbeats
RUNNER_STALE = 180.0  # another machine's scan without a heartbeat for this long has stopped
RUNNER_STALE_HERE = 1800.0  # this machine's: its pid runs, but without a heartbeat for this long it is another's


class ScanBusy(StoreError):
    """Another process that is still alive runs the scan."""


class ScansMixin:
    """Rows of the ``scans`` table."""

    def create_scan(
        self,
        *,
        tool_version: str,
        plan_version: int,
        input_path: str | None,
        input_sha256: str | None,
        resolvers: list[str],
        options: dict,
        label: str | None = None,
    ) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                S.scans.insert().values(
                    started_at=time.time(),
                    state="created",
                    tool_version=str(tool_version),
                    plan_version=int(plan_version),
                    input_path=_clean(str(input_path)) if input_path is not None else None,
                    input_sha256=input_sha256,
                    resolvers=_jdump(list(resolvers)),
                    options=_jdump(options or {}),
                    label=_clean(label),
                )
            )
            return int(res.inserted_primary_key[0])

    def mark_running(self, scan_id: int, key: str = "runner") -> None:
        """The scan runs in this process from now on: recorded with its pid, host and a heartbeat
        (:meth:`keep_running`), so that a scan whose process was killed (kill -9, a crash, a power cut)
        is not shown as running for ever (:func:`_runner_alive`).

        This is the scan's run lock: raises :class:`ScanBusy` when another process that is still
        alive runs it (two ``scan --resume`` of one scan would write the same domains twice).
        The look and the change are one transaction that holds the scan's row (PostgreSQL) or the
        database's write lock (SQLite).

        ``key="pass_runner"``: the lock of a pass that adds look-ups to a finished scan (``scan
        --resume N --ms-realm``): the scan stays finished, with its dates; refused, too, while
        another live process runs the scan or such a pass."""
        import os
        import socket

        with self.engine.begin() as conn:
            if self.dialect == "sqlite":  # a write first: SQLite's write lock is taken before the look
                conn.execute(S.scans.update().where(S.scans.c.id == scan_id).values(state=S.scans.c.state))
            else:
                self._lock_scan(conn, scan_id, share=False)
            row = self._require_scan(conn, scan_id)
            options = json.loads(row.options) if row.options else {}
            now = self._clock(conn)
            for k in _RUN_LOCKS:
                runner = options.get(k) if isinstance(options, dict) else None
                if _runner_alive(row.state, options, k, now) and not _is_me(runner):
                    raise ScanBusy(_busy(scan_id, runner))
            options[key] = {"pid": os.getpid(), "host": socket.gethostname(), "beat": now}
            if key == "runner":
                conn.execute(S.scans.update().where(S.scans.c.id == scan_id)
                             .values(state="running", finished_at=None, options=_jdump(options)))
            else:
                conn.execute(S.scans.update().where(S.scans.c.id == scan_id).values(options=_jdump(options)))

    def run_by_another(self, scan_id: int) -> bool:
        """Whether another process that is still alive runs the scan (what :meth:`mark_running`
        refuses): a failed start of this process must then leave the scan's state alone."""
        return self._other_runner(scan_id) is not None

    def refuse_if_run_by_another(self, scan_id: int) -> None:
        """:class:`ScanBusy` when another live process runs the scan: a resume says so before it
        writes anything (its options) or asks anything; :meth:`mark_running` stays the lock."""
        runner = self._other_runner(scan_id)
        if runner is not None:
            raise ScanBusy(_busy(scan_id, runner))

    def _other_runner(self, scan_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = self._require_scan(conn, scan_id)
            now = self._clock(conn)
        options = json.loads(row.options) if row.options else {}
        for k in _RUN_LOCKS:
            runner = options.get(k) if isinstance(options, dict) else None
            if _runner_alive(row.state, options, k, now) and not _is_me(runner):
                return runner
        return None

    @contextlib.contextmanager
    def keep_running(self, scan_id: int, finished_pass: bool = False):
        """:meth:`mark_running`, then a heartbeat every RUNNER_BEAT seconds until the block ends (the
        scan's process on another machine is known alive by it); finish_scan() releases the lock.
        ``finished_pass``: the lock of a pass over a finished scan (``mark_running(key="pass_runner")``),
        released when the block ends."""
        key = "pass_runner" if finished_pass else "runner"
        self.mark_running(scan_id, key)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(RUNNER_BEAT):
                try:
                    self._beat(scan_id, key)
                except Exception:  # noqa: BLE001 - a missed beat: the next one, or the scan's own error
                    pass

        t = threading.Thread(target=beat, name="stekker-heartbeat", daemon=True)
        t.start()
        try:
            yield
        finally:
            done.set()
            t.join(timeout=1.0)  # (a beat under way ends by itself)
            if finished_pass:
                self._release(scan_id, key)

    def _release(self, scan_id: int, key: str) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(S.scans.c.options).where(S.scans.c.id == scan_id)).first()
            options = json.loads(row.options) if row is not None and row.options else {}
            if isinstance(options, dict) and _is_me(options.get(key)):
                del options[key]
                conn.execute(S.scans.update().where(S.scans.c.id == scan_id, S.scans.c.options == row.options)
                             .values(options=_jdump(options)))

    def _beat(self, scan_id: int, key: str = "runner") -> None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(S.scans.c.state, S.scans.c.options).where(S.scans.c.id == scan_id)).first()
            options = json.loads(row.options) if row is not None and row.options else {}
            runner = options.get(key) if isinstance(options, dict) else None
            if row is None or (key == "runner" and row.state != "running") or not _is_me(runner):
                return
            runner["beat"] = self._clock(conn)
            conn.execute(S.scans.update().where(S.scans.c.id == scan_id, S.scans.c.options == row.options)
                         .values(options=_jdump(options)))

    def finish_scan(self, scan_id: int, state: str, summary: dict | None = None) -> None:
        if state not in _FINAL_STATES:
            raise StoreError(_("finish_scan: state must be one of {states}, not {state!r}").format(
                states=", ".join(_FINAL_STATES), state=state))
        self._set_state(scan_id, state=state, finished_at=time.time(), summary=_jdump(summary or {}))

    def update_scan(self, scan_id: int, *, options: dict | None = None, summary: dict | None = None) -> None:
        """Replace a scan's recorded options and/or summary; its state and
        times stay (a look-up added later does not move the measurement date)."""
        values: dict[str, Any] = {}
        if options is not None:
            values["options"] = _jdump(options)
        if summary is not None:
            values["summary"] = _jdump(summary)
        if values:
            self._set_state(scan_id, **values)

    def _set_state(self, scan_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            res = conn.execute(S.scans.update().where(S.scans.c.id == scan_id).values(**values))
            if res.rowcount == 0:
                raise ScanNotFound(_("no scan {scan_id} in {db}").format(scan_id=scan_id, db=self.url))

    def resolve_scan(self, ref: str | int | None = None) -> int:
        """``None``/``"latest"`` -> the newest scan that measured at least one domain (the newest
        scan when none did); a number -> that scan; other text -> the newest scan with that label.

        A scan that measured nothing (no resolver answered, stopped at once) is skipped by
        ``latest``: after a failed scan, `report` would otherwise replace a good report with one of
        "0 domains" (field trial 1). :meth:`skipped_by_latest` names what was skipped."""
        s = S.scans
        with self.engine.connect() as conn:
            if isinstance(ref, str) and not ref.strip():
                raise ScanNotFound(_("the scan is empty: give a scan number, a label or 'latest'"))
            if ref is None or (isinstance(ref, str) and ref.strip().lower() in ("latest", "last")):
                ids = conn.execute(sa.select(s.c.id).order_by(s.c.id.desc())).scalars().all()
                if not ids:
                    raise ScanNotFound(_("no scans in {db} yet; run `stekker scan FILE` first").format(db=self.url))
                for sid in ids:
                    if self._measured_any(conn, sid):
                        return int(sid)
                return int(ids[0])
            if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isascii() and ref.strip().isdigit()):
                sid = int(ref)
                if not 0 < sid < 2**63:
                    raise ScanNotFound(_("no scan {scan_id} in {db}{hint}").format(scan_id=sid, db=self.url,
                                                                                 hint=self._known_scans_hint(conn)))
                if conn.execute(sa.select(s.c.id).where(s.c.id == sid)).first() is None:
                    raise ScanNotFound(_("no scan {scan_id} in {db}{hint}").format(scan_id=sid, db=self.url,
                                                                                 hint=self._known_scans_hint(conn)))
                return sid
            row = conn.execute(
                sa.select(s.c.id).where(s.c.label == str(ref)).order_by(s.c.id.desc()).limit(1)
            ).first()
            if row is None:
                raise ScanNotFound(
                    _("no scan with id or label {ref!r} in {db}{hint}").format(ref=ref, db=self.url,
                                                                               hint=self._known_scans_hint(conn))
                )
            return int(row[0])

    @staticmethod
    def _measured_any(conn, scan_id: int) -> bool:
        t = S.targets
        return conn.execute(sa.select(t.c.scan_id).where(t.c.scan_id == scan_id, t.c.done == sa.true())
                            .limit(1)).first() is not None

    def skipped_by_latest(self, scan_id: int) -> list[dict]:
        """The scans newer than ``scan_id`` that measured no domain (what ``latest`` passed over to
        reach it), newest first: ``{"id", "state"}`` each."""
        s = S.scans
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(s.c.id, s.c.state, s.c.options).where(s.c.id > scan_id)
                                .order_by(s.c.id.desc())).all()
            return [{"id": int(r.id), "state": _state_now(r.state, json.loads(r.options) if r.options else {},
                                                          self._clock(conn) if r.state == "running" else None)}
                    for r in rows if not self._measured_any(conn, r.id)]

    def _clock(self, conn) -> float:
        """Now, by the database's clock: the heartbeats of a scan's process are written and judged by
        one clock, so that a scan run from another machine against a shared PostgreSQL server is not
        taken for stopped (or alive) because the two machines' clocks differ (review 28 L4). SQLite's
        database is on this machine: its clock."""
        if self.dialect == "postgresql":
            return float(conn.execute(sa.text("select extract(epoch from clock_timestamp())")).scalar())
        return time.time()

    def _scan_dict(self, row: sa.Row, conn) -> dict:
        options = json.loads(row.options) if row.options else {}
        return {
            "id": row.id,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "state": _state_now(row.state, options, self._clock(conn) if row.state == "running" else None),
            "tool_version": row.tool_version,
            "plan_version": row.plan_version,
            "input_path": row.input_path,
            "input_sha256": row.input_sha256,
            "resolvers": _jlist(row.resolvers),
            "options": options,
            "label": row.label,
            "summary": json.loads(row.summary) if row.summary else None,
        }

    def scan_info(self, scan_id: int) -> dict:
        t, ii = S.targets, S.input_issues
        with self.engine.connect() as conn:
            info = self._scan_dict(self._require_scan(conn, scan_id), conn)
            counts = {"targets": 0, "done": 0, "ok": 0, "nxdomain": 0, "error": 0}
            for done, status, n in conn.execute(
                sa.select(t.c.done, t.c.status, sa.func.count())
                .where(t.c.scan_id == scan_id)
                .group_by(t.c.done, t.c.status)
            ):
                counts["targets"] += n
                if done:
                    counts["done"] += n
                    key = status or "unknown"
                    counts[key] = counts.get(key, 0) + n
            counts["pending"] = counts["targets"] - counts["done"]
            qcounts = dict(
                zip(
                    ("present", "absent", "error"),
                    (
                        int(x or 0)
                        for x in conn.execute(
                            sa.select(
                                sa.func.sum(t.c.n_present), sa.func.sum(t.c.n_absent), sa.func.sum(t.c.n_error)
                            ).where(t.c.scan_id == scan_id, t.c.done == True)  # noqa: E712
                        ).one()
                    ),
                )
            )
            counts["queries"] = sum(qcounts.values())
            counts["queries_present"] = qcounts.get("present", 0)
            counts["queries_absent"] = qcounts.get("absent", 0)
            counts["queries_error"] = qcounts.get("error", 0)
            counts["input_issues"] = conn.execute(
                sa.select(sa.func.count()).select_from(ii).where(ii.c.scan_id == scan_id)
            ).scalar()
            info["counts"] = counts
        return info

    def list_scans(self) -> list[dict]:
        """All scans, newest first, with target/done counts."""
        t = S.targets
        with self.engine.connect() as conn:
            per: dict[int, dict] = {}
            for sid, done, status, n in conn.execute(
                sa.select(t.c.scan_id, t.c.done, t.c.status, sa.func.count()).group_by(t.c.scan_id, t.c.done,
                                                                                      t.c.status)
            ):
                c = per.setdefault(sid, {"targets": 0, "done": 0, "ok": 0, "nxdomain": 0, "error": 0})
                c["targets"] += n
                if done:
                    c["done"] += n
                    if status in ("ok", "nxdomain", "error"):
                        c[status] += n
            out = []
            for row in conn.execute(sa.select(S.scans).order_by(S.scans.c.id.desc())):
                d = self._scan_dict(row, conn)
                d["counts"] = per.get(row.id, {"targets": 0, "done": 0, "ok": 0, "nxdomain": 0, "error": 0})
                out.append(d)
            return out


_RUN_LOCKS = ("runner", "pass_runner")  # a scan's run lock, and a pass's over the finished scan


def _state_now(state: str, options: dict, now: float | None = None) -> str:
    """A scan recorded as running whose process no longer runs was stopped without closing it:
    "interrupted", like a Ctrl-C (its finished domains are kept; --resume goes on)."""
    return "interrupted" if _runner_alive(state, options, "runner", now) is False else state


def _runner_alive(state: str, options: dict, key: str = "runner", now: float | None = None) -> bool | None:
    """Whether the process recorded as running the scan (``key="pass_runner"``: a pass over the
    finished scan) still runs: on this machine by its pid, on another (a shared PostgreSQL database)
    by its heartbeat (:meth:`ScansMixin.keep_running`).
    None: cannot be told (not running, or another machine's scan of a stekker without heartbeats)."""
    if key == "runner" and state != "running":
        return None
    runner = options.get(key) if isinstance(options, dict) else None
    if not isinstance(runner, dict):
        return None
    import socket

    now = time.time() if now is None else now
    pid = runner.get("pid")
    if runner.get("host") != socket.gethostname():
        beat = runner.get("beat")
        if not isinstance(beat, (int, float)):
            return None
        return now - beat < RUNNER_STALE
    if not isinstance(pid, int) or pid <= 0:
        return None
    from stekker.workers import process_gone

    if process_gone(pid):
        return False
    beat = runner.get("beat")
    if isinstance(beat, (int, float)) and now - beat > RUNNER_STALE_HERE:
        # the pid runs, but no heartbeat for half an hour: another process that got the pid after a
        # crash or a reboot (review 28 M2: a resume was refused for good), not the scan
        return False
    return True  # (another user's process counts as running)


def _busy(scan_id: int, runner: dict) -> str:
    import socket

    if runner.get("host") == socket.gethostname():
        return _("scan {scan_id} is being run by another process (pid {pid}); wait until it has finished, or "
                 "stop it (Ctrl-C) and resume then").format(scan_id=scan_id, pid=runner.get("pid"))
    return _("scan {scan_id} is being run by another process (pid {pid} on {host}); wait until it has finished, or "
             "stop it (Ctrl-C) and resume then").format(scan_id=scan_id, pid=runner.get("pid"), host=runner.get("host"))


def _is_me(runner: object) -> bool:
    import os
    import socket

    return isinstance(runner, dict) and runner.get("pid") == os.getpid() and runner.get("host") == socket.gethostname()
