"""Evaluation: the verdict of one policy on one dependency, as of a date.

    v = judge(service, kb, policies["nos"], as_of=date(2026, 1, 1))
    v.verdict            # "sovereign" | "not_sovereign" | "unknown" | "error"
    v.reason("nl")       # a plain sentence, from the data file's templates
    judge(service, ...)  # None when the service is "absent" (no dependency)

Each check kind of a policy (``policies.CHECK_KINDS``) is one ``c_<kind>``
method of ``_Eval``; all of a policy's checks must pass, the first failing
check gives ``not_sovereign``, otherwise any undecided check gives
``unknown``.

Service statuses: ``attributed`` is judged from the knowledge base; ``self``
(the organisation's own servers) is judged by the organisation's own country
(``organisation_country`` in the policy file, NL by default); ``unknown``
gives verdict ``unknown``; ``error`` gives verdict ``error`` (excluded and
counted by the report, never sovereign); ``absent`` is no dependency
(``None``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stekker.attribute.model import Service, shown_name

from .facts import Entity, Facts, facts
from .policies import Policy, PolicyConfig

SOVEREIGN = "sovereign"
NOT_SOVEREIGN = "not_sovereign"
UNKNOWN = "unknown"
ERROR = "error"
VERDICTS = (SOVEREIGN, NOT_SOVEREIGN, UNKNOWN, ERROR)


@dataclass(slots=True)
class Reason:
    code: str  # key of the reasons table, e.g. "chain_none_in.fail"
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Verdict:
    policy: str
    verdict: str  # one of VERDICTS
    reasons: list[Reason]  # the deciding reasons (first one is the headline)
    flags: list[Reason] = field(default_factory=list)
    texts: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def _fmt(self, r: Reason, lang: str) -> str:
        t = self.texts.get(r.code, {})
        tpl = t.get(lang) or t.get("en") or r.code
        params = r.params
        if isinstance(params.get("provider"), str):  # a server on a provider's network, in this language
            params = {**params, "provider": shown_name(params["provider"], lang)}
        try:
            return tpl.format(**params)
        except (KeyError, IndexError):
            return tpl

    def reason(self, lang: str = "en") -> str:
        return "; ".join(self._fmt(r, lang) for r in self.reasons)

    def flag_text(self, lang: str = "en") -> str:
        main = {self._fmt(r, lang) for r in self.reasons}
        out: list[str] = []
        for r in self.flags:
            t = self._fmt(r, lang)
            if t not in main and t not in out:
                out.append(t)
        return "; ".join(out)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"policy": self.policy, "verdict": self.verdict, "reason": self.reason(lang),
                "flags": self.flag_text(lang) or None}


def _chain_text(chain: list[Entity], joint: list[list[Entity]] | None = None) -> str:
    text = " → ".join(f"{e.name} ({e.country or '?'})" for e in chain)
    if joint:  # parents in joint control of the top, each with its own chain
        text += " → [" + " + ".join(_chain_text(ch) for ch in joint) + "]"
    return text


class _Eval:
    def __init__(self, cfg: PolicyConfig, f: Facts):
        self.cfg = cfg
        self.f = f

    def set_label(self, name: str) -> str:
        return name

    def run(self, check: dict[str, Any]) -> tuple[str, Reason, list[Reason]]:
        """-> (pass|fail|unknown, reason, flags)."""
        (kind, arg), = check.items()
        return getattr(self, "c_" + kind)(arg)

    # helpers ---------------------------------------------------------------
    def _no_chain(self) -> tuple[str, Reason, list[Reason]]:
        return "unknown", Reason("no_company", {"provider": self.f.provider_name}), []

    def _in(self, e: Entity, setname: str, code: str) -> tuple[str, Reason, list[Reason]]:
        if e.country is None:
            return "unknown", Reason("unknown_country", {"entity": e.name}), []
        ok = e.country in self.cfg.country_sets[setname]
        p = {"entity": e.name, "country": e.country, "set": setname}
        return ("pass" if ok else "fail"), Reason(f"{code}.{'pass' if ok else 'fail'}", p), []

    # checks ----------------------------------------------------------------
    def c_company_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        return self._in(self.f.chain[0], setname, "company_in")

    def _control_unknown(self) -> tuple[str, Reason, list[Reason]]:
        return "unknown", Reason("controller_unknown", {"entity": self.f.unknown_of or self.f.chain[-1].name}), []

    def c_controller_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        if self.f.joint:  # controlled together: in the set only when every joint parent is
            results = [(e, self._in(e, setname, "controller_in")) for e in self.f.controllers]
            # a researched joint parent outside the set decides, whoever controls the others
            for e, r in results:
                if r[0] == "fail" and e.id not in self.f.unresearched:
                    return r
            if self.f.control_unknown:
                return self._control_unknown()
            for _e, r in results:
                if r[0] != "pass":
                    return r
            return "pass", Reason("controller_in.pass", {
                "entity": " + ".join(e.name for e in self.f.controllers),
                "country": "/".join(sorted({e.country for e in self.f.controllers if e.country})), "set": setname}), []
        if self.f.control_unknown:
            return self._control_unknown()
        return self._in(self.f.chain[-1], setname, "controller_in")

    def c_chain_none_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        codes = self.cfg.country_sets[setname]
        ch = _chain_text(self.f.chain, self.f.joint)
        for e in self.f.entities:
            if e.country in codes:
                return "fail", Reason("chain_none_in.fail", {"entity": e.name, "country": e.country,
                                                             "set": setname, "chain": ch}), []
        for e in self.f.entities:
            if e.country is None:
                return "unknown", Reason("unknown_country", {"entity": e.name}), []
        if self.f.control_unknown:  # a controller above the top may be in the set
            return self._control_unknown()
        return "pass", Reason("chain_none_in.pass", {"chain": ch, "set": setname}), []

    def c_chain_all_in(self, setname: str):
        if not self.f.chain:
            return self._no_chain()
        codes = self.cfg.country_sets[setname]
        ch = _chain_text(self.f.chain, self.f.joint)
        for e in self.f.entities:
            if e.country is not None and e.country not in codes:
                return "fail", Reason("chain_all_in.fail", {"entity": e.name, "country": e.country,
                                                            "set": setname, "chain": ch}), []
        for e in self.f.entities:
            if e.country is None:
                return "unknown", Reason("unknown_country", {"entity": e.name}), []
        if self.f.control_unknown:
            return self._control_unknown()
        return "pass", Reason("chain_all_in.pass", {"chain": ch, "set": setname}), []

    def c_data_location(self, setname: str):
        p = {"provider": self.f.provider_name}
        loc = self.f.data_location
        if self.f.self_hosted:
            e = self.f.chain[0]
            loc = ("pass" if e.country in self.cfg.country_sets.get(setname, frozenset()) else "fail") \
                if e.country else "unknown"
        elif self.f.network:  # where the AS is registered, judged with the policy's set
            code = self.f.data_location_raw
            codes = self.cfg.country_sets.get(setname, frozenset())
            if code is None:
                loc = "unknown"
            elif code == "EU":  # RIPE's pseudo-code for the European Union: in the set when all of the EU is
                eu = self.cfg.country_sets.get("EU")
                loc = "pass" if (eu and eu <= codes) else "unknown"
            else:
                loc = "pass" if code in codes else "fail"
        if loc == "offered":
            r = Reason("data_location.offered", p)
            return "pass", r, [r]
        if loc not in ("pass", "fail"):
            code = "data_location.offered" if self.f.data_location_raw == "offered" else "data_location.unknown"
            return "unknown", Reason(code, p), []
        return loc, Reason("data_location." + loc, p), []

    def c_holders(self, arg: dict[str, Any]):
        setname = arg["outside"]
        mx1, mxt = float(arg["max_single"]), float(arg["max_total"])
        ent = self.f.chain[-1].name if self.f.chain else self.f.provider_name  # holders of the top
        if self.f.self_hosted:
            return "pass", Reason("self", {"country": self.f.chain[0].country or "?"}), []
        if self.f.control_unknown:
            return self._control_unknown()
        if self.f.holders is None:
            return "unknown", Reason("holders.unknown", {"entity": ent}), []
        codes = self.cfg.country_sets[setname]
        outside = []
        for name, share, country in self.f.holders:
            if country is None or share is None:
                return "unknown", Reason("holders.unknown_country", {"holder": name, "entity": ent}), []
            if country not in codes:
                outside.append((share, name))
        outside.sort(reverse=True)
        single = outside[0][0] if outside else 0.0
        total = sum(s for s, _ in outside)
        p = {"set": setname, "single": _pct(single), "total": _pct(total), "max_single": _pct(mx1),
             "max_total": _pct(mxt), "holder": outside[0][1] if outside else "-", "entity": ent}
        ok = single <= mx1 and total <= mxt
        return ("pass" if ok else "fail"), Reason("holders." + ("pass" if ok else "fail"), p), []

    def c_any_of(self, checks: list[dict[str, Any]]):
        results = [self.run(c) for c in checks]
        for r in results:
            if r[0] == "pass":
                return r
        unknown = [r for r in results if r[0] == "unknown"]
        if unknown:
            return unknown[0]
        return "fail", results[0][1], []

    def c_flag(self, check: dict[str, Any]):
        outcome, reason, flags = self.run(check)
        if outcome == "fail":
            return "pass", reason, flags + [reason]
        return "pass", reason, flags


def _pct(x: float) -> str:
    return f"{x:g}"


def judge(service: Service, kb: Any, policy: Policy, as_of: Any = None,
          organisation: str | None = None, _facts: Facts | None = None) -> Verdict | None:
    """The verdict of ``policy`` on one dependency, as of ``as_of`` (None: absent)."""
    cfg = policy.config
    assert cfg is not None, "policy not loaded through load_policies()"
    texts = cfg.reasons
    st = service.status
    if st == "absent":
        return None
    if policy.categories is not None and service.category not in policy.categories:
        return None  # this definition does not look at this category
    if (policy.left_out_records or policy.left_out_purposes) and service.evidence and \
            all(policy.leaves_out(e.rtype, e.purpose) for e in service.evidence):
        return None  # seen only in records this definition leaves out (nos-records: TXT)
    if st == "error":
        return Verdict(policy.id, ERROR, [Reason("service_error")], texts=texts)
    if st == "unknown" or (st == "attributed" and not service.provider):
        return Verdict(policy.id, UNKNOWN, [Reason("service_unknown")], texts=texts)
    basis = getattr(service, "basis", None)
    if basis == "network" and policy.network != "country":
        return Verdict(policy.id, UNKNOWN, [Reason("network.not_counted", {"provider": service.provider_name or "?"})],
                       texts=texts)
    if basis == "likely" and policy.likely == "separate":
        return Verdict(policy.id, UNKNOWN, [Reason("likely.not_counted", {"provider": service.provider_name or "?"})],
                       texts=texts)
    f = _facts or facts(service, kb, as_of, organisation, cfg.organisation_country, cfg.location_table)
    ev = _Eval(cfg, f)
    fails: list[Reason] = []
    unknowns: list[Reason] = []
    passes: list[Reason] = []
    flags: list[Reason] = []
    for check in policy.checks:
        outcome, reason, fl = ev.run(check)
        flags.extend(fl)
        {"pass": passes, "fail": fails, "unknown": unknowns}[outcome].append(reason)
    if basis == "network":
        flags.append(Reason("network.flag", {"provider": f.provider_name}))
    if fails:
        return Verdict(policy.id, NOT_SOVEREIGN, fails[:1], flags, texts)
    if unknowns:
        return Verdict(policy.id, UNKNOWN, unknowns[:1], flags, texts)
    if basis == "likely" and policy.likely != "count":
        return Verdict(policy.id, UNKNOWN, [Reason("likely.not_counted", {"provider": f.provider_name})], flags, texts)
    if f.self_hosted:
        passes = [Reason("self", {"country": f.chain[0].country or "?"})]
    return Verdict(policy.id, SOVEREIGN, passes[:1], flags, texts)

