"""The demo's road network: village centres linked along a minimum spanning tree of their Delaunay
triangulation, plus the shortest of the other triangulation edges (loops, as real networks have),
each segment bent a little off the straight line; ends shared exactly, so the topology links them.

(G) generated, not surveyed: plausible for routing (connected, tree-like in the hills, a few loops),
not a map of Lạng Sơn's roads.
"""

from __future__ import annotations

import random

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay
from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.geometry import VN2000_UTM48N
from spatial.roads import build_topology

#: share of the non-tree triangulation edges added back (the shortest first)
EXTRA_LINKS = 0.12


def seed_roads(session: Session, seed: int) -> int:
    """Roads between the demo's villages, their nodes built; segments written."""
    rows = session.execute(
        text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(geom, :m) AS p FROM villages ORDER BY id) v"),
        {"m": VN2000_UTM48N},
    ).all()
    if len(rows) < 3:
        return 0
    xy = np.array(rows, dtype=np.float64)
    tri = Delaunay(xy)
    pairs = {
        tuple(sorted((int(a), int(b)))) for s in tri.simplices for a, b in ((s[0], s[1]), (s[1], s[2]), (s[0], s[2]))
    }
    edges = np.array(sorted(pairs))
    length = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    graph = coo_matrix((length, (edges[:, 0], edges[:, 1])), shape=(len(xy), len(xy)))
    tree = minimum_spanning_tree(graph).tocoo()
    chosen = {tuple(sorted((int(a), int(b)))) for a, b in zip(tree.row, tree.col, strict=True)}
    others = sorted((float(d), tuple(e)) for d, e in zip(length, edges.tolist(), strict=True) if tuple(e) not in chosen)
    chosen |= {e for _, e in others[: int(len(others) * EXTRA_LINKS)]}
    rng = random.Random(seed * 104729 + 3)
    records = []
    for n, (a, b) in enumerate(sorted(chosen), start=1):
        (x0, y0), (x1, y1) = xy[a], xy[b]
        dx, dy = x1 - x0, y1 - y0
        bend = rng.uniform(-0.18, 0.18)  # the midpoint off the straight line, as a share of the length
        mx, my = (x0 + x1) / 2 - dy * bend, (y0 + y1) / 2 + dx * bend
        span = float(np.hypot(dx, dy))
        records.append(
            {
                "code": f"DUONG-{n:05d}",
                "name": f"Đường liên thôn {n}" if span < 4000 else f"Đường liên xã {n}",
                "cls": "village" if span < 4000 else "commune",
                "wkt": f"LINESTRING({x0:.2f} {y0:.2f}, {mx:.2f} {my:.2f}, {x1:.2f} {y1:.2f})",
            }
        )
    session.execute(
        text("""INSERT INTO roads (code, name, road_class, geom, length_m, created_by, updated_by)
                VALUES (:code, :name, :cls, ST_Transform(ST_GeomFromText(:wkt, :m), 4326), 0, 'demo', 'demo')"""),
        [{**r, "m": VN2000_UTM48N} for r in records],
    )
    build_topology(session)
    return len(records)
