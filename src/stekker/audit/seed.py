"""Seed an inventory from what DNS reveals (a scan's attributions): Microsoft
365 / Google Workspace, mailbox, collaboration, identity, hosting, DNS and
SaaS verification tokens.  Seeded items carry ``detected: true`` and the
evidence, so the user confirms (and adds cost, users, criticality) or deletes
them.  Providers the product catalogue does not know are still listed, with
the provider's name as the product: nothing is dropped.
"""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from stekker.audit.catalog import catalogue, seed_rules
from stekker.i18n import _

# attribution categories read (in order) and attribution category -> inventory
# category for providers the catalogue does not map: data/seed.yaml
ORDER, CATEGORY_MAP = seed_rules()


def _svc_get(s: Any, k: str) -> Any:
    return s.get(k) if isinstance(s, dict) else getattr(s, k, None)


def _evidence(s: Any, domain: str) -> str:
    ev = _svc_get(s, "evidence") or []
    parts = []
    for e in ev[:3]:
        q = _svc_get(e, "qname")
        v = _svc_get(e, "value")
        rt = _svc_get(e, "rtype")
        parts.append(f"{q} {rt} {v}")
    return f"DNS of {domain}: " + ("; ".join(parts) if parts else "attributed by stekker")


def seed_items(attributions: Iterable[Any]) -> list[dict]:
    """Inventory items (dicts, ready for YAML) from DomainAttribution objects
    (or their ``to_dict()``), one per distinct product."""
    cat = catalogue()
    out: dict[str, dict] = {}
    for att in attributions:
        domain = _svc_get(att, "domain")
        services = _svc_get(att, "services") or {}
        pairs: list[tuple[str, Any]] = []
        for k in ORDER:
            s = services.get(k)
            if s is not None:
                pairs.append((k, s))
                pairs.extend((k, a) for a in (_svc_get(s, "also") or []))
        pairs.extend(("saas", s) for s in (_svc_get(att, "saas") or []))
        for k, s in pairs:
            if _svc_get(s, "status") != "attributed":
                continue
            prov = _svc_get(s, "provider")
            if not prov or prov == "self":
                continue
            p = cat.detected_product(prov, k)
            if p is not None:
                key = "product:" + p.id
                item = {"name": p.name, "category": p.category, "product": p.name}
            else:
                name = _svc_get(s, "provider_name") or prov
                key = "provider:" + prov + ":" + CATEGORY_MAP.get(k, "other")
                item = {"name": f"{name} ({CATEGORY_MAP.get(k, 'other').replace('_', ' ')})",
                        "category": CATEGORY_MAP.get(k, "other"), "vendor": name}
            if key in out:
                continue
            item.update({"detected": True, "evidence": _evidence(s, domain),
                         "notes": "confirm: add annual_cost, users, criticality, stops"})
            out[key] = item
    # unique names
    seen: dict[str, int] = {}
    for it in out.values():
        n = it["name"]
        if n.casefold() in seen:
            seen[n.casefold()] += 1
            it["name"] = f"{n} {seen[n.casefold()]}"
        else:
            seen[n.casefold()] = 1
    return list(out.values())


def not_measured(attributions: Iterable[Any]) -> list[tuple[str, list[str]]]:
    """(domain, seeded categories) whose DNS could not be measured: the domain's measurement
    failed, or those services' answers were errors. What runs there is not known - never
    "nothing detected"."""
    out = []
    for att in attributions:
        domain = _svc_get(att, "domain")
        services = _svc_get(att, "services") or {}
        failed = [k for k in ORDER if _svc_get(services.get(k), "status") == "error"] if services else []
        if _svc_get(att, "status") == "error" and not failed:
            failed = list(ORDER)
        if failed:
            out.append((domain, failed))
    return out


def merge(existing: dict | None, seeded: list[dict]) -> dict:
    """Add seeded items whose product/name is not yet in ``existing``."""
    inv = dict(existing or {})
    items = list(inv.get("items") or [])
    def key(v: Any) -> str:  # as `audit check` compares names (stripped, case-insensitive)
        return str(v or "").strip().casefold()

    def company(i: dict) -> str | None:  # who supplies an item, as the audit resolves it (None: not known)
        from stekker import kb as _kb
        from stekker.audit.model import Item
        from stekker.audit.resolve import resolve_item

        try:
            return resolve_item(Item.model_validate({"category": "other", **i}), _kb.load()).company
        except Exception:  # noqa: BLE001 - an item the audit cannot read is not compared
            return None

    def other(mine: dict, s: dict) -> bool:  # the user's item of that name is known to be another supplier's
        a, b = company(mine), company(s)
        return a is not None and b is not None and a != b

    products = {key(i.get("product") or i.get("name")) for i in items}
    by_name = {key(i.get("name")): i for i in items}
    for s in seeded:
        if key(s.get("product") or s["name"]) in products:
            continue  # already listed (a user's "Exchange Online " with a trailing space is the same item)
        mine = by_name.get(key(s["name"]))
        if mine is not None and not other(mine, s):
            continue  # the user's item of that name is this one (or is not known to be another's)
        if mine is not None:  # the user's item of that name is something else: the detected one is
            n, name = 1, f"{s['name']} (detected)"  # added beside it, never hidden by it
            while key(name) in by_name:
                n += 1
                name = f"{s['name']} (detected {n})"
            s = {**s, "name": name}
        items.append(s)
        products.add(key(s.get("product") or s["name"]))
        by_name[key(s["name"])] = s
    inv["items"] = items
    return inv


def not_measured_lines(failed: list[tuple[str, list[str]]]) -> list[str]:
    """The comment lines that name what could not be measured (:func:`not_measured`)."""
    out = []
    for domain, cats in failed:
        out += [f"# NOT MEASURED (DNS error) for {domain}: {', '.join(cats)} - what runs there is not",
                "# known (not 'nothing'): scan again later or add it yourself."]
    return out


def new_items(existing: dict | None, seeded: list[dict]) -> list[dict]:
    """The seeded items :func:`merge` would add to ``existing``."""
    have = len((existing or {}).get("items") or [])
    return merge(existing, seeded)["items"][have:]


def append_to_text(text: str, items: list[dict]) -> str | None:
    """``text`` (a user's YAML inventory) with ``items`` added at the end of its ``items:`` block
    list, every other character as the user wrote it (comments, order, quoting); None when the
    file's shape does not allow it (a flow list ``items: [...]``, no top-level mapping)."""
    from stekker.safeyaml import compose

    if not items:
        return text
    eol = "\r\n" if "\r\n" in text else "\n"  # what is added has the file's line ends

    def lines(block: str) -> str:
        return block.replace("\n", eol) if eol != "\n" else block

    node, loader = compose(text, "<inventory>")
    loader.dispose()
    dumped = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=100)
    if node is None and not text.strip(" \t\r\n"):
        node = yaml.MappingNode("tag:yaml.org,2002:map", [])  # an empty file: items go at its end
    elif node is None:  # only comments: the items after them
        return text + lines(("" if text.endswith("\n") else "\n") + "items:\n" + _indent(dumped, 2))
    if not isinstance(node, yaml.MappingNode):
        return None
    seq = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "items"), None)
    if seq is None:  # no items yet: a new key at the end
        return text + lines(("" if text.endswith("\n") or not text else "\n") + "items:\n" + _indent(dumped, 2))
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style or not seq.value:
        return None
    col = seq.value[0].start_mark.column - 2  # the column of the items' "- "
    # insert after the last item's own text (its trailing comments and blank lines stay where they are)
    end = _last_scalar_end(seq.value[-1])  # a block's own end mark lies at the next key, after comments
    nl = text.find("\n", end)
    at = len(text) if nl < 0 else nl + 1
    head = text[:at] if text[:at].endswith("\n") else text[:at] + eol
    return head + lines(_indent(dumped, col)) + text[at:]


def _last_scalar_end(node: yaml.Node) -> int:
    stack, end = [node], node.start_mark.index
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            end = max(end, n.end_mark.index)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            stack.extend(x for kv in n.value for x in kv)
    return end


def _indent(block: str, n: int) -> str:
    return "".join((" " * n + line) if line.strip() else line for line in block.splitlines(keepends=True))


def to_yaml(inv: dict, failed: list[tuple[str, list[str]]] | None = None) -> str:
    """The seeded inventory as YAML, with a ``# stekker-sha256:`` line (stekker.outputs.stamp): once
    the user edits the file, ``seed -o`` no longer replaces it without --force (and then keeps a copy)."""
    from stekker.outputs import stamp

    head = ("# Seeded by `stekker audit seed` from DNS. Items marked detected: true\n"
            "# were seen from outside: confirm each one (add annual_cost, users,\n"
            "# criticality, stops) or delete it, then add what DNS cannot see.\n"
            "# Once you edit this file, `audit seed -o` will not overwrite it (the line below tells).\n")
    head += "".join(line + "\n" for line in not_measured_lines(failed or []))
    return stamp(head + yaml.safe_dump(inv, sort_keys=False, allow_unicode=True, width=100), after_line=4)


def from_scan(store: Any, scan_id: Any, domain: str | None = None) -> list[dict]:
    """Seeded items from a stored scan's attributions (all its domains, or the
    one ``domain``)."""
    return seed_items(attributions_of(store, scan_id, domain))


def attributions_of(store: Any, scan_id: Any, domain: str | None = None) -> list[Any]:
    """A stored scan's attributions: all its domains, or the one ``domain`` (LookupError if absent)."""
    from stekker.attribute import load_attributions

    d = domain.strip().lower().rstrip(".") if domain else None
    atts = [a for a in load_attributions(store, scan_id) if d is None or a.domain == d]
    if d is not None and not atts and store.target(scan_id, d) is None:
        raise LookupError(_("scan {scan_id} has no domain {domain!r}").format(scan_id=scan_id, domain=domain))
    return atts  # a domain of the scan without an attribution: unmeasured_targets names it


def unmeasured_targets(store: Any, scan_id: Any, attributions: Iterable[Any],
                       domain: str | None = None) -> list[tuple[str, list[str]]]:
    """(domain, every seeded category) for the scan's domains (or the one ``domain``) that have no
    attribution at all: the scan did not finish, or measured nothing there. Like
    :func:`not_measured` - what runs there is not known, never "nothing detected"."""
    have = {_svc_get(a, "domain") for a in attributions}
    d = domain.strip().lower().rstrip(".") if domain else None
    targets = [store.target(scan_id, d)] if d else store.iter_targets(scan_id)
    return [(t["domain"], list(ORDER)) for t in targets if t and t["domain"] not in have]


def scan_one_domain(store: Any, domain: str, resolvers: list[str] | None = None,
                    timeout: float = 2.0, retries: int = 2) -> int:
    """Scan one domain with the scan engine (stekker.collect) into ``store``;
    returns the scan id."""
    import tempfile
    from pathlib import Path

    from stekker import __version__
    from stekker.collect.plan import load_plan
    from stekker.collect.run import RunOptions, run_scan
    from stekker.collect.transport import TransportConfig, format_resolver, parse_resolver, system_resolvers
    from stekker.targets import read_targets

    res = [parse_resolver(r) for r in resolvers] if resolvers else system_resolvers()
    with tempfile.TemporaryDirectory(prefix="stekker-audit-") as td:
        inp = Path(td) / "domain.txt"
        inp.write_text(domain.strip() + "\n", encoding="utf-8")
        tf = read_targets(inp)
        sid = store.create_scan(tool_version=__version__, plan_version=load_plan().version, input_path=str(inp),
                                input_sha256=tf.sha256, resolvers=[format_resolver(r) for r in res],
                                options={"timeout": timeout, "retries": retries, "source": "audit"},
                                label=f"audit {domain}")
        if store.add_targets(sid, tf) == 0:
            store.finish_scan(sid, "aborted", {"message": "not a valid domain"})
            raise ValueError(_("not a valid domain: {domain!r}").format(domain=domain))
    try:
        out = run_scan(store, sid, res, TransportConfig(timeout=timeout, retries=retries), RunOptions(progress="none"))
    except BaseException as exc:
        # no resolver answered (or the run failed): the scan is recorded as aborted with why, as
        # `stekker scan` records it - not left 'created' for ever (field trial F9)
        try:
            if isinstance(exc, KeyboardInterrupt):  # Ctrl-C: stopped by the user, not failed
                store.finish_scan(sid, "interrupted", {"message": "interrupted"})
            else:
                store.finish_scan(sid, "aborted", {"message": getattr(exc, "record", None) or str(exc)
                                                   or type(exc).__name__})
        except Exception:  # noqa: BLE001 - the database itself failed: its own error is the one to show
            pass
        raise
    if out.state != "finished":
        raise RuntimeError(_("scan of {domain} ended {state}: {message}").format(
            domain=domain, state=out.state, message=getattr(out, "message", "")))
    return sid
