"""Distance along roads for siting: the road layer's topology, and coverage by ``pgr_drivingDistance``.

A household is covered by a candidate along roads when the walk from the candidate to its nearest
road node, along the network (pgRouting, segment lengths in metres, both ways), and from the
household's nearest node to the household is at most the radius. The network is the one the
caller sees (``roads`` is scoped by commune), so a planner's coverage uses their communes' roads.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial import ParameterError
from spatial.db import rowcount

DISTANCES = ("straight", "road")

_TOPOLOGY = (
    # the nodes: every distinct end point (to a micro-degree: ends meant to meet, meet)
    "UPDATE roads SET source = NULL, target = NULL WHERE source IS NOT NULL OR target IS NOT NULL",
    "DELETE FROM road_nodes",
    """INSERT INTO road_nodes (geom)
       SELECT DISTINCT ST_SnapToGrid(p, 0.000001) FROM (
         SELECT ST_StartPoint(geom) AS p FROM roads UNION ALL SELECT ST_EndPoint(geom) FROM roads) e""",
    """UPDATE roads r SET source = s.id, target = t.id, length_m = ST_Length(r.geom::geography),
              commune_id = coalesce((SELECT u.id FROM admin_units u
                                     WHERE u.boundary = 'current' AND u.level = 'commune'
                                       AND ST_Intersects(u.geom, ST_LineInterpolatePoint(r.geom, 0.5))
                                     ORDER BY u.id LIMIT 1), r.commune_id)
       FROM road_nodes s, road_nodes t
       WHERE s.geom = ST_SnapToGrid(ST_StartPoint(r.geom), 0.000001)
         AND t.geom = ST_SnapToGrid(ST_EndPoint(r.geom), 0.000001)""",
    "ANALYZE road_nodes",
)


def build_topology(session: Session) -> int:
    """Rebuild ``road_nodes`` and every road's ``source``, ``target``, length and commune; roads linked."""
    for sql in _TOPOLOGY[:-1]:
        result = session.execute(text(sql))
    session.execute(text(_TOPOLOGY[-1]))
    return rowcount(result)


def check_distance(distance: str | None) -> str:
    value = distance or "straight"
    if value not in DISTANCES:
        raise ParameterError("distance", f"unknown distance {value!r}", list(DISTANCES))
    return value


def check_road_network(session: Session) -> None:
    """Road distance needs pgRouting on the server and at least one road the caller sees."""
    if session.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")) is None:
        raise ParameterError(
            "distance",
            "road distance needs the pgrouting extension (Debian: postgresql-15-pgrouting, then sinhke db migrate)",
        )
    if session.scalar(text("SELECT 1 FROM roads WHERE source IS NOT NULL LIMIT 1")) is None:
        raise ParameterError("distance", "no road layer in these communes: use straight-line distance")


_NETWORK = "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM roads WHERE source IS NOT NULL"

_ROAD_COVER = text("""
WITH c AS (SELECT (i - 1)::int AS j, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
           FROM unnest(CAST(:cx AS float8[]), CAST(:cy AS float8[])) WITH ORDINALITY AS t(x, y, i)),
h AS (SELECT (i - 1)::int AS i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
      FROM unnest(CAST(:hx AS float8[]), CAST(:hy AS float8[])) WITH ORDINALITY AS t(x, y, i)),
cn AS (SELECT c.j, n.id AS node, ST_Distance(c.g::geography, n.geom::geography) AS snap
       FROM c CROSS JOIN LATERAL (SELECT id, geom FROM road_nodes ORDER BY geom <-> c.g LIMIT 1) n),
hn AS (SELECT h.i, n.id AS node, ST_Distance(h.g::geography, n.geom::geography) AS snap
       FROM h CROSS JOIN LATERAL (SELECT id, geom FROM road_nodes ORDER BY geom <-> h.g LIMIT 1) n),
dd AS (SELECT * FROM pgr_drivingDistance(:network, ARRAY(SELECT DISTINCT node FROM cn WHERE snap <= :radius),
                                         CAST(:radius AS float8), directed => false)
       AS dd(seq, from_v, node, edge, cost, agg_cost))
SELECT DISTINCT hn.i, cn.j
FROM cn JOIN dd ON dd.from_v = cn.node JOIN hn ON hn.node = dd.node
WHERE cn.snap + dd.agg_cost + hn.snap <= :radius
""")


def road_coverage(
    session: Session, candidate_lonlat: np.ndarray, demand_lonlat: np.ndarray, radius_m: float
) -> sparse.csr_matrix:
    """Which candidate covers which household along roads: (households x candidates), as ``coverage``."""
    n_d, n_c = len(demand_lonlat), len(candidate_lonlat)
    if n_d == 0 or n_c == 0:
        return sparse.csr_matrix((n_d, n_c), dtype=bool)
    check_road_network(session)
    rows = session.execute(
        _ROAD_COVER,
        {
            "cx": candidate_lonlat[:, 0].tolist(),
            "cy": candidate_lonlat[:, 1].tolist(),
            "hx": demand_lonlat[:, 0].tolist(),
            "hy": demand_lonlat[:, 1].tolist(),
            "network": _NETWORK,
            "radius": float(radius_m),
        },
    ).all()
    i = np.array([r[0] for r in rows], dtype=np.int64)
    j = np.array([r[1] for r in rows], dtype=np.int64)
    return sparse.csr_matrix((np.ones(len(rows), dtype=bool), (i, j)), shape=(n_d, n_c), dtype=bool)
