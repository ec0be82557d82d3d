"""The municipality map: TopoJSON boundaries -> server-side SVG, no tiles,
no script, no third-party request.

Boundaries ship with stekker (``publish/data/geo/``, licences in its
NOTICE.md); ``stekker site --geo DIR`` or the ``STEKKER_GEO_DIR`` environment
variable point at other copies of the same layout: the mxmap.it files
``mxmapit_nl_municipality.topo.json`` (342 Dutch municipalities, from
OpenStreetMap: © OpenStreetMap contributors, ODbL 1.0) and
``mxmapit_municipalities_nl.json`` (CBS code, name, domain, OSM relation).
The arcs are decoded here (quantized, delta-encoded), projected (an
equirectangular projection scaled by cos(latitude), good enough for a
country this small), rounded to whole SVG units and thinned (points closer
than one unit dropped).  The paths are computed once per site.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stekker.i18n import _

TOPO_FILE = "mxmapit_nl_municipality.topo.json"
LIST_FILE = "mxmapit_municipalities_nl.json"
WIDTH = 600  # SVG units across
TOLERANCE = 0.9  # Douglas-Peucker tolerance in SVG units

_PREFIX = re.compile(r"^(gemeente|municipality of|municipality|gem\.)\s+", re.I)
_CODE = re.compile(r"\b(?:GM|NL-)?(\d{4})\b")


@dataclass(slots=True)
class Municipality:
    code: str  # CBS code, 4 digits
    name: str
    domain: str | None
    path: str | None  # SVG path data (None: no boundary)


SHIPPED = Path(__file__).resolve().parent / "data" / "geo"  # the copies shipped with stekker (NOTICE.md)


def geo_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The boundary directory: ``explicit`` (``--geo DIR``), else
    $STEKKER_GEO_DIR, else the boundaries shipped with stekker.  None when the
    directory chosen does not hold the two files (a wrong ``--geo`` is not
    silently replaced by the shipped ones: the map page then says there is no
    map, and ``stekker site`` says why)."""
    cand = explicit or os.environ.get("STEKKER_GEO_DIR") or SHIPPED
    p = Path(cand).expanduser()
    if (p / TOPO_FILE).is_file() and (p / LIST_FILE).is_file():
        return p
    return None


def decode_arcs(topo: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Absolute (lon, lat) points of every arc (quantized, delta-encoded)."""
    tr = topo.get("transform")
    sx, sy = (tr["scale"] if tr else (1.0, 1.0))
    tx, ty = (tr["translate"] if tr else (0.0, 0.0))
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for p in arc:
            if tr:
                x += p[0]
                y += p[1]
                pts.append((x * sx + tx, y * sy + ty))
            else:
                pts.append((float(p[0]), float(p[1])))
        out.append(pts)
    return out


def _simplify(pts: list[tuple[float, float]], tol: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on one arc (end points kept, so shared borders stay shared)."""
    if len(pts) < 3:
        return pts
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        (x1, y1), (x2, y2) = pts[i], pts[j]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy) or 1e-9
        best, idx = -1.0, -1
        for m in range(i + 1, j):
            x, y = pts[m]
            d = abs(dy * (x - x1) - dx * (y - y1)) / norm if (dx or dy) else math.hypot(x - x1, y - y1)
            if d > best:
                best, idx = d, m
        if best > tol and idx > 0:
            keep[idx] = True
            stack.append((i, idx))
            stack.append((idx, j))
    return [p for p, k in zip(pts, keep) if k]


def _ring(arcs: list[list[tuple[float, float]]], idx: list[int]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in idx:
        a = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        pts.extend(a if not pts else a[1:])
    return pts


def _polygons(geom: dict[str, Any]) -> list[list[list[int]]]:
    if geom.get("type") == "Polygon":
        return [geom["arcs"]]
    if geom.get("type") == "MultiPolygon":
        return list(geom["arcs"])
    return []


class GeoError(ValueError):
    """Boundary files that cannot be read or are not of the mxmap.it layout; the message says which."""


MAX_GEO_BYTES = 64 * 1024 * 1024


def _read_json(path: Path) -> Any:
    from stekker.safeyaml import UserFileError, read_user_file

    try:
        data = read_user_file(path, MAX_GEO_BYTES)  # a user's file: bounded, no FIFO or device
        return json.loads(data.decode("utf-8-sig"))
    except UserFileError as exc:
        raise GeoError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise GeoError(_("{path}: not UTF-8 text (byte {byte})").format(path=path, byte=exc.start)) from None
    except RecursionError:
        raise GeoError(_("{path}: not boundary data (JSON nested too deeply)").format(path=path)) from None
    except ValueError as exc:
        raise GeoError(_("{path}: not valid JSON ({error})").format(path=path, error=exc)) from None


def load_map(directory: Path) -> "GeoMap":
    """Municipalities with their projected SVG paths (:class:`GeoError` when the files cannot be read
    or are not of the layout above)."""
    topo = _read_json(directory / TOPO_FILE)
    listing = _read_json(directory / LIST_FILE)
    try:
        return _load_map(topo, listing)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, StopIteration, ZeroDivisionError,
            RecursionError, OverflowError) as exc:
        raise GeoError(_("{directory}: {topo} and {listing} are not mxmap.it boundary data ({error})").format(
            directory=directory, topo=TOPO_FILE, listing=LIST_FILE,
            error=f"{type(exc).__name__}: {str(exc)[:200]}")) from None


def _load_map(topo: Any, listing: Any) -> "GeoMap":
    arcs = decode_arcs(topo)
    obj = next(iter(topo["objects"].values()))
    geoms = obj.get("geometries") or []
    lons = [p[0] for a in arcs for p in a]
    lats = [p[1] for a in arcs for p in a]
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    scale = WIDTH / ((lon1 - lon0) * k)

    def proj(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] - lon0) * k * scale, (lat1 - p[1]) * scale

    parcs = [_simplify([proj(p) for p in a], TOLERANCE) for a in arcs]
    by_osm: dict[str, str] = {}
    for g in geoms:
        props = g.get("properties") or {}
        rings = []
        for poly in _polygons(g):
            for ring in poly:
                pts: list[tuple[int, int]] = []
                for q in _ring(parcs, ring):
                    q = (round(q[0]), round(q[1]))
                    if not pts or q != pts[-1]:
                        pts.append(q)
                if len(pts) >= 3:
                    rel = [f"{b[0] - a[0]} {b[1] - a[1]}" for a, b in zip(pts, pts[1:])]
                    rings.append(f"M{pts[0][0]} {pts[0][1]}l" + " ".join(rel) + "z")
        osm = str(props.get("osm_id") or "").rsplit("/", 1)[-1]
        if rings:
            by_osm[osm] = "".join(rings)
    out = []
    for m in listing:
        code = str(m.get("id") or "").replace("NL-", "")
        out.append(Municipality(code, str(m.get("name") or ""), (m.get("domain") or None),
                                by_osm.get(str(m.get("osm_relation_id") or ""))))
    return GeoMap(out, round((lat1 - lat0) * scale))


@dataclass(slots=True)
class GeoMap:
    municipalities: list[Municipality]
    height: int


def _norm(name: str) -> str:
    return _PREFIX.sub("", name.strip()).casefold().replace("-", " ")


def _reg(domain: str) -> str:
    d = domain.lower().rstrip(".")
    for pre in ("www.", "gemeente."):
        if d.startswith(pre):
            d = d[len(pre):]
    return d


def match(municipalities: list[Municipality], orgs: list[tuple[str, str, list[str], list[str]]]
          ) -> tuple[dict[str, tuple[str, str, str | None]], list[tuple[str, str]]]:
    """Input organisations to municipalities: each domain of the input that
    is a municipality's domain matches it (an organisation may hold several);
    else the organisation by CBS code (``GM0363`` in its name) or by name
    (``Gemeente X`` = ``X``).  Returns (CBS code -> (org slug, org name, the
    matching domain or None)) and the organisations that look like a
    municipality (named "Gemeente ..." or in a sector named so) but matched
    none.  A domain match wins over a name or code match."""
    by_code = {m.code: m for m in municipalities}
    by_dom = {_reg(m.domain): m for m in municipalities if m.domain}
    by_name = {_norm(m.name): m for m in municipalities}
    out: dict[str, tuple[str, str, str | None]] = {}
    weak: dict[str, tuple[str, str, str | None]] = {}
    unmatched = []
    for slug, name, domains, sectors in orgs:
        found = False
        for d in domains:
            m = by_dom.get(_reg(d))
            if m is not None:
                out.setdefault(m.code, (slug, name, d))
                found = True
        looks = bool(_PREFIX.match(name)) or any("gemeente" in s.lower() or "municipal" in s.lower()
                                                 for s in sectors)
        hit = None
        cm = _CODE.search(name) if re.search(r"\b(GM|NL-)\d{4}\b", name) else None
        if cm and cm.group(1) in by_code:
            hit = by_code[cm.group(1)]
        if hit is None and looks:
            hit = by_name.get(_norm(name))
        if hit is not None:
            weak.setdefault(hit.code, (slug, name, None))
            found = True
        if not found and looks:
            unmatched.append((slug, name))
    for code, v in weak.items():
        out.setdefault(code, v)
    return out, unmatched


def svg(gm: GeoMap, colour: dict[str, str], label: dict[str, str],
        link: dict[str, str], title: str) -> str:
    """The map as inline SVG markup: every value escaped here (names come
    from data files and the input); fills by CSS class, no style attribute."""
    esc = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {gm.height}" role="img" '
             f'aria-labelledby="map-title"><title id="map-title">{esc(title)}</title>']
    for m in gm.municipalities:
        if not m.path:
            continue
        cls = colour.get(m.code, "cmissing")
        tip = esc(f"{m.name}: {label[m.code]}" if m.code in label else m.name)
        shape = f'<path class="{esc(cls)}" d="{m.path}"><title>{tip}</title></path>'
        if m.code in link:
            parts.append(f'<a href="{esc(link[m.code])}">{shape}</a>')
        else:
            parts.append(shape)
    parts.append("</svg>")
    return "".join(parts)
