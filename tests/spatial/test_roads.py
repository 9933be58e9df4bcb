"""Siting along roads (pgRouting): a road that bends makes road coverage differ from straight-line
coverage; a whole siting by road on the demo covers no more than by straight line."""

from __future__ import annotations

import numpy as np
from sqlalchemy import text

from spatial.geometry import VN2000_UTM48N, WGS84, transform_xy
from spatial.roads import build_topology, road_coverage
from spatial.siting import coverage
from tests.conftest import client_for

#: a metric origin inside the demo's province (VN-2000 / UTM 48N)
ORIGIN = (720_000.0, 2_410_000.0)


def _lonlat(points):  # type: ignore[no-untyped-def]
    xy = np.array([(ORIGIN[0] + x, ORIGIN[1] + y) for x, y in points], dtype=np.float64)
    return transform_xy(xy, VN2000_UTM48N, WGS84)


def _road(db, code, points):  # type: ignore[no-untyped-def]
    wkt = "LINESTRING(" + ", ".join(f"{ORIGIN[0] + x} {ORIGIN[1] + y}" for x, y in points) + ")"
    db.execute(
        text("INSERT INTO roads (code, geom, length_m) VALUES (:c, ST_Transform(ST_GeomFromText(:w, :m), 4326), 0)"),
        {"c": code, "w": wkt, "m": VN2000_UTM48N},
    )


def test_a_road_that_bends_covers_less_than_the_straight_line(db):
    assert db.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'pgrouting'"))
    db.execute(text("DELETE FROM roads"))  # a small network of our own (rolled back with the test)
    # the candidate at the origin; household A 1 km east along a straight road; household B 1 km
    # north, reached only by a road that goes 1.2 km west, 1 km north and 1.2 km back east (3.4 km)
    _road(db, "T-EAST", [(0, 0), (1000, 0)])
    _road(db, "T-WEST", [(0, 0), (-1200, 0)])
    _road(db, "T-NORTH", [(-1200, 0), (-1200, 1000)])
    _road(db, "T-BACK", [(-1200, 1000), (0, 1000)])
    build_topology(db)
    assert db.scalar(text("SELECT count(*) FROM road_nodes")) == 5
    assert abs(db.scalar(text("SELECT sum(length_m) FROM roads")) - 4400) < 5  # geodesic metres
    candidate = _lonlat([(0, 0)])
    households = _lonlat([(1000, 0), (0, 1000)])
    straight = coverage(candidate, households, 1500).toarray()[:, 0].tolist()
    road = road_coverage(db, candidate, households, 1500).toarray()[:, 0].tolist()
    assert straight == [True, True] and road == [True, False]
    # far enough along the road, B is covered too; a household off the road walks to its nearest
    # node: 1,000 m along the road and 64 m from (1000, 0) to (960, 50)
    assert road_coverage(db, candidate, households, 3500).toarray()[:, 0].tolist() == [True, True]
    off = _lonlat([(960, 50)])
    assert not road_coverage(db, candidate, off, 1050).toarray()[0, 0]
    assert road_coverage(db, candidate, off, 1080).toarray()[0, 0]


def test_a_siting_along_the_demo_roads(app, accounts, db):
    assert db.scalar(text("SELECT count(*) FROM roads WHERE source IS NOT NULL")) > 10
    planner = client_for(app, accounts, "planner")
    body = {"name": "roads", "communes": [accounts.commune_a], "radius": 2000, "k": 3, "candidates": {"grid": 1000}}
    straight = planner.post("/api/siting", json=body).get_json()
    road = planner.post("/api/siting", json={**body, "distance": "road"})
    assert road.status_code == 201, road.get_json()
    road = road.get_json()
    assert road["params"]["distance"] == "road" and road["result"]["optimal"]
    # along roads a household is never nearer than in a straight line: no more is covered
    assert road["result"]["objective"] <= straight["result"]["objective"]
    bad = planner.post("/api/siting", json={**body, "distance": "helicopter"})
    assert bad.status_code == 400 and bad.get_json()["error"]["parameter"] == "distance"
