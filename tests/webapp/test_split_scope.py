"""Scope where a legacy commune was split (issue #15): a user of a 2025 commune sees, and visits,
exactly the models, works and water schemes that lie inside it, whatever legacy commune they were
recorded in.

For every legacy commune the crosswalk splits over several 2025 communes, the fixture adds things on
each side of the split (points, lines across it, plots straddling it, one thing outside every
commune) and users scoped to each 2025 part. What each user should see is computed here, with
shapely, from the 2025 commune polygons alone: the commune holding a point, else the one holding
most of a line's length or a polygon's area (metres, EPSG:3405; a tie: the lowest id); outside every
commune, the recorded commune if it is a 2025 one, else its heaviest crosswalk counterpart.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyproj
import pytest
import shapely
from shapely import wkb
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text

from spatial.accounts import Principal, apply_scope, create_user, issue_token
from spatial.db import transaction

#: layer -> (table, kind in asset_units / asset_exposure)
LAYERS = {
    "livelihood_models": ("livelihood_models", "model"),
    "infrastructure_works": ("infrastructure_works", "work"),
    "water_schemes": ("water_schemes", "water_scheme"),
}
SCOPED_ROLES = ("planner", "extension_worker")
PREFIX = "SPLIT"
_TO_METRES = pyproj.Transformer.from_crs(4326, 3405, always_xy=True).transform


@dataclass
class Geography:
    """The 2025 communes (id -> polygon, code) and the crosswalk, read once."""

    polygons: dict[int, BaseGeometry]
    codes: dict[int, str]
    legacy: dict[int, BaseGeometry]
    legacy_codes: dict[int, str]
    crosswalk: dict[int, list[tuple[float, int]]]  # old id -> [(weight_area, new id)]
    tree: shapely.STRtree = field(init=False)
    ids: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = sorted(self.polygons)
        self.tree = shapely.STRtree([self.polygons[i] for i in self.ids])

    def place(self, geom: BaseGeometry, recorded: int) -> int:
        """The 2025 commune a thing lies in, by the rule of issue #15 (see the module docstring)."""
        hits = [self.ids[i] for i in self.tree.query(geom, predicate="intersects")]
        if hits:
            dim = shapely.get_dimensions(geom)

            def share(cid: int) -> float:
                part = self.polygons[cid].intersection(geom)
                if dim == 0:
                    return float(shapely.get_num_coordinates(part))
                metric = shapely.transform(part, _TO_METRES, interleaved=False)
                return metric.length if dim == 1 else metric.area

            return min(hits, key=lambda cid: (-share(cid), cid))
        if recorded in self.polygons:
            return recorded
        if self.crosswalk.get(recorded):
            return min(self.crosswalk[recorded], key=lambda wn: (-wn[0], wn[1]))[1]
        return recorded


def _geography(s: Any) -> Geography:
    units = s.execute(
        text("SELECT id, code, boundary, ST_AsBinary(geom) FROM admin_units WHERE level = 'commune'")
    ).all()
    crosswalk: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for old, new, weight in s.execute(text("SELECT old_unit_id, new_unit_id, weight_area FROM admin_crosswalk")):
        crosswalk[old].append((weight, new))
    return Geography(
        polygons={i: wkb.loads(bytes(g)) for i, _c, b, g in units if b == "current"},
        codes={i: c for i, c, b, _g in units if b == "current"},
        legacy={i: wkb.loads(bytes(g)) for i, _c, b, g in units if b == "legacy"},
        legacy_codes={i: c for i, c, b, _g in units if b == "legacy"},
        crosswalk=dict(crosswalk),
    )


def _splits(geo: Geography) -> dict[int, list[int]]:
    """Legacy commune -> the 2025 communes it went to, for every legacy commune split over two or more."""
    return {old: sorted(n for _w, n in news) for old, news in geo.crosswalk.items() if len(news) >= 2}


def _inside(geo: Geography, old: int, new: int) -> Point:
    """A point in the part of legacy commune ``old`` that went to ``new``, away from its edges."""
    part = geo.legacy[old].intersection(geo.polygons[new])
    core = part.buffer(-0.002)
    return (core if not core.is_empty else part).point_on_surface()


def _add_things(s: Any, geo: Geography) -> list[dict[str, Any]]:
    """Things on both sides of every split legacy commune, recorded in that legacy commune."""
    rows: list[dict[str, Any]] = []

    def add(kind: str, code: str, geom: BaseGeometry, recorded: int, **extra: Any) -> None:
        rows.append({"kind": kind, "code": code, "wkt": geom.wkt, "recorded": recorded, **extra})

    for old, news in _splits(geo).items():
        points = {n: _inside(geo, old, n) for n in news}
        for n, p in points.items():
            tag = f"{old}-{n}"
            add("model", f"MH-{PREFIX}-{tag}", p, old, model_type="free_range_chicken")
            add("work", f"CT-{PREFIX}-{tag}", p, old, work_type="bridge")
            add("water_scheme", f"NS-{PREFIX}-{tag}", p, old)
            for m, q in points.items():
                if m == n:
                    continue
                # a road from this side into the other, and a plot on the way, straddling the split
                line = LineString([p, Point(p.x + (q.x - p.x) * 0.7, p.y + (q.y - p.y) * 0.7)])
                add("work", f"CT-{PREFIX}-{tag}-{m}", line, old, work_type="road")
                plot = line.interpolate(0.5, normalized=True).buffer(line.length * 0.3)
                add("model", f"MH-{PREFIX}-{tag}-{m}", plot, old, model_type="medicinal_plant")
        add("model", f"MH-{PREFIX}-{old}-OUT", Point(104.0, 19.0), old, model_type="free_range_chicken")
    for r in rows:
        params = {"code": r["code"], "wkt": r["wkt"], "c": r["recorded"]}
        if r["kind"] == "model":
            s.execute(
                text("""
                INSERT INTO livelihood_models (code, name, model_type, geom, commune_id, start_date,
                                               funding_project, budget_allocated_vnd, status)
                VALUES (:code, 'Mô hình thử (xã chia tách)', :t, ST_GeomFromText(:wkt, 4326), :c, :d,
                        'Dự án 2', 10000000, 'active')"""),
                {**params, "t": r["model_type"], "d": date(2024, 3, 1)},
            )
        elif r["kind"] == "work":
            s.execute(
                text("""
                INSERT INTO infrastructure_works (code, name, work_type, status, geom, commune_id, budget_vnd)
                VALUES (:code, 'Công trình thử (xã chia tách)', :t, 'completed', ST_GeomFromText(:wkt, 4326),
                        :c, 500000000)"""),
                {**params, "t": r["work_type"]},
            )
        else:
            s.execute(
                text("""
                INSERT INTO water_schemes (code, name, geom, commune_id, technology, status)
                VALUES (:code, 'Nước sạch thử (xã chia tách)', ST_GeomFromText(:wkt, 4326), :c, 'gravity',
                        'functional')"""),
                params,
            )
    return rows


def _placements(s: Any, geo: Geography) -> tuple[dict[str, dict[str, int]], set[str]]:
    """layer -> code -> the 2025 commune it lies in, computed here; and the codes deleted (softly)."""
    out: dict[str, dict[str, int]] = {}
    deleted: set[str] = set()
    for layer, (table, _kind) in LAYERS.items():
        rows = s.execute(text(f"SELECT code, ST_AsBinary(geom), commune_id, deleted_at IS NOT NULL FROM {table}")).all()
        out[layer] = {code: geo.place(wkb.loads(bytes(g)), recorded) for code, g, recorded, _d in rows}
        deleted |= {code for code, _g, _r, gone in rows if gone}
    return out, deleted


def _expected(split, layer: str, commune: int) -> set[str]:  # type: ignore[no-untyped-def]
    """What a layer lists to a user of ``commune``: the things not deleted that lie in it."""
    return {c for c, where in split["placed"][layer].items() if where == commune and c not in split["deleted"]}


@pytest.fixture(scope="module")
def split(demo_settings):  # type: ignore[no-untyped-def]
    """The test things, users scoped to each 2025 part of every split, and the placement of everything
    computed from geometry. Committed and deleted afterwards (not rolled back) because it is built
    once for the whole module, while the rolled-back connection lives for one test."""
    with transaction(demo_settings) as s:
        geo = _geography(s)
        splits = _splits(geo)
        assert splits, "the demo needs a legacy commune split over several 2025 communes"
        things = _add_things(s, geo)
        placed, deleted = _placements(s, geo)
        tokens: dict[tuple[int, str], str] = {}
        users: dict[tuple[int, str], int] = {}
        for n in sorted({n for news in splits.values() for n in news}):
            for role in SCOPED_ROLES:
                user = create_user(
                    s, f"t_split_{role}_{uuid.uuid4().hex[:6]}", role, password="split password 1", areas=[geo.codes[n]]
                )
                tokens[(n, role)], users[(n, role)] = issue_token(s, user), user.id
        general = s.scalar(
            text("SELECT version FROM form_definitions WHERE form_id = 'general' ORDER BY id DESC LIMIT 1")
        )
    yield {
        "geo": geo,
        "splits": splits,
        "things": things,
        "placed": placed,
        "deleted": deleted,
        "tokens": tokens,
        "users": users,
        "general": general,
    }
    with transaction(demo_settings) as s:
        like = f"%-{PREFIX}-%"
        s.execute(
            text("""
            DELETE FROM visits WHERE model_id IN (SELECT id FROM livelihood_models WHERE code LIKE :p)
               OR work_id IN (SELECT id FROM infrastructure_works WHERE code LIKE :p)
               OR scheme_id IN (SELECT id FROM water_schemes WHERE code LIKE :p)"""),
            {"p": like},
        )
        for table, _kind in LAYERS.values():
            s.execute(text(f"DELETE FROM {table} WHERE code LIKE :p"), {"p": like})


def _client(app, split, commune: int, role: str):  # type: ignore[no-untyped-def]
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {split['tokens'][(commune, role)]}"
    return c


def _codes(client, layer: str, extra: str = "") -> set[str]:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/layers/{layer}?limit=10000{extra}")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["numberMatched"] == body["numberReturned"]
    return {f["properties"]["code"] for f in body["features"]}


def _sides(split) -> list[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """(legacy commune, one 2025 part, another 2025 part) for every split and ordered pair of parts."""
    return [(old, n, m) for old, news in split["splits"].items() for n in news for m in news if m != n]


def test_every_split_has_things_on_both_sides(split):
    """The geometry places test things in each part of each split (what the scope tests rely on)."""
    placed = split["placed"]
    for old, news in split["splits"].items():
        for n in news:
            for layer, (_t, kind) in LAYERS.items():
                inside = [
                    t["code"]
                    for t in split["things"]
                    if t["kind"] == kind and t["recorded"] == old and placed[layer][t["code"]] == n
                ]
                assert inside, f"no {kind} of legacy commune {old} lies in 2025 commune {n}"
        # and the straddling ones do not all fall on one side: the rule decides, not the recorded commune
        roads = {placed["infrastructure_works"][t["code"]] for t in split["things"] if t.get("work_type") == "road"}
        assert len(roads) >= 2


@pytest.mark.parametrize("role", SCOPED_ROLES)
def test_layers_show_exactly_the_things_inside_the_users_communes(app, split, role):
    for n in sorted({n for news in split["splits"].values() for n in news}):
        c = _client(app, split, n, role)
        for layer in LAYERS:
            expected = _expected(split, layer, n)
            got = _codes(c, layer)
            assert got == expected, (
                f"{role} of {split['geo'].codes[n]} on {layer}: "
                f"{sorted(got - expected)} shown from outside, {sorted(expected - got)} missing"
            )


@pytest.mark.parametrize("role", SCOPED_ROLES)
def test_things_across_the_split_are_404_and_things_inside_are_shown(app, split, role):
    for old, n, m in _sides(split):
        c = _client(app, split, n, role)
        mine, theirs = f"{old}-{n}", f"{old}-{m}"
        for layer, prefix in (("livelihood_models", "MH"), ("infrastructure_works", "CT"), ("water_schemes", "NS")):
            assert c.get(f"/api/layers/{layer}/{prefix}-{PREFIX}-{mine}").status_code == 200
            assert c.get(f"/api/layers/{layer}/{prefix}-{PREFIX}-{theirs}").status_code == 404
        page = {"Accept": "text/html"}
        assert c.get(f"/models/MH-{PREFIX}-{mine}", headers=page).status_code == 200
        assert c.get(f"/models/MH-{PREFIX}-{theirs}", headers=page).status_code == 404
        assert c.get(f"/api/models/MH-{PREFIX}-{theirs}/status").status_code == 404


def _visit(split, **target: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "id": str(uuid.uuid4()),
        **target,
        "visited_at": "2025-12-01T09:30:00+07:00",
        "form": "general",
        "form_version": split["general"],
        "location": None,
        "accuracy_m": None,
        "answers": {"participants_present": 3, "progress": "on_track"},
    }


def test_a_worker_visits_the_models_on_their_side_only(app, split):
    for old, n, m in _sides(split):
        c = _client(app, split, n, "extension_worker")
        inside = c.post("/api/visits", json=_visit(split, model=f"MH-{PREFIX}-{old}-{n}"))
        assert inside.status_code == 201, inside.get_json()
        across = c.post("/api/visits", json=_visit(split, model=f"MH-{PREFIX}-{old}-{m}"))
        assert across.status_code == 403, across.get_json()
        assert "outside your communes" in across.get_json()["error"]["message"]
        # the visit made inside is listed; the other side's visits are not even listed
        assert c.get(f"/api/visits?model=MH-{PREFIX}-{old}-{n}").status_code == 200
        assert c.get(f"/api/visits?model=MH-{PREFIX}-{old}-{m}").status_code == 404


def test_the_legacy_map_shows_the_whole_legacy_communes_but_only_the_things_inside(app, split):
    geo = split["geo"]
    for n in sorted({n for news in split["splits"].values() for n in news}):
        c = _client(app, split, n, "planner")
        linked = {geo.legacy_codes[old] for old, news in geo.crosswalk.items() if any(new == n for _w, new in news)}
        assert _codes(c, "admin_units", "&level=commune&boundaries=legacy") == linked
        assert _codes(c, "livelihood_models", "&boundaries=legacy") == _expected(split, "livelihood_models", n)


def test_job_results_follow_the_placement(demo_settings, split):
    """asset_exposure (the exposure job's rows for the demo's things) as each scoped user reads it."""
    with transaction(demo_settings) as s:
        ids = {
            (kind, code): i
            for layer, (table, kind) in LAYERS.items()
            for code, i in s.execute(text(f"SELECT code, id FROM {table}")).all()
        }
        where = {
            (kind, ids[(kind, code)]): n
            for layer, (_t, kind) in LAYERS.items()
            for code, n in split["placed"][layer].items()
        }
        rows = set(s.execute(text("SELECT DISTINCT asset_kind, asset_id FROM asset_exposure")).all())
    assert rows, "the exposure job wrote no asset rows"
    for (n, role), uid in split["users"].items():
        with transaction(demo_settings) as s:
            apply_scope(s, Principal(user_id=uid, name="t", role=role))
            seen = set(s.execute(text("SELECT DISTINCT asset_kind, asset_id FROM asset_exposure")).all())
        assert seen == {r for r in rows if where.get(r) == n}
