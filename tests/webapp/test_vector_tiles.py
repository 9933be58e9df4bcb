"""Vector tiles: decoded with mapbox-vector-tile and compared with what ST_Intersects finds;
scoped per caller, cached per scope and layer version, ETag/304, bad addresses refused."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest
from sqlalchemy import func, select, text

from spatial.accounts import apply_scope, get_user, principal
from spatial.db import transaction
from spatial.geometry import tile_key_range
from spatial.layers import LAYERS, LayerQuery
from spatial.vector_tiles import (
    HOUSEHOLD_POINTS_MIN_ZOOM,
    POINTS_CLUSTERED_BELOW_ZOOM,
    TILE_LAYERS,
    layer_relation,
)
from tests.conftest import client_for

TMS = morecantile.tms.get("WebMercatorQuad")
LANG_SON_CITY = (106.76, 21.85)

#: tile layer -> the SQL that lists the ids the layer shows (as the table owner, no RLS)
IDS = {
    "communes": "SELECT id FROM admin_units a WHERE level = 'commune' AND boundary = 'current'",
    "districts": "SELECT id FROM admin_units a WHERE level = 'district' AND boundary = 'legacy'",
    "villages": "SELECT id FROM villages a WHERE geom IS NOT NULL",
    "households": "SELECT id FROM households a WHERE deleted_at IS NULL AND geom IS NOT NULL",
    "livelihood_models": "SELECT id FROM livelihood_models a WHERE deleted_at IS NULL",
    "infrastructure_works": "SELECT id FROM infrastructure_works a WHERE deleted_at IS NULL",
    "water_schemes": "SELECT id FROM water_schemes a WHERE deleted_at IS NULL",
    "fallback_risk": "SELECT h.id FROM households h JOIN fallback_risk r ON r.household_id = h.id "
    "WHERE h.deleted_at IS NULL AND h.geom IS NOT NULL",
}


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body) if body else {}


def intersecting(settings, layer: str, z: int, x: int, y: int) -> set[int]:
    sql = IDS[layer]
    geom = "h.geom" if layer == "fallback_risk" else "a.geom"
    with transaction(settings) as s:
        rows = s.execute(
            text(
                f"{sql} {'AND' if 'WHERE' in sql else 'WHERE'} "
                f"ST_Intersects({geom}, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326))"
            ),
            {"z": z, "x": x, "y": y},
        )
        return {r[0] for r in rows}


def first_feature(settings, layer: str) -> tuple[float, float]:
    """A point on the layer's first feature: a close-up tile there holds something on the small demo."""
    table = {"communes": "admin_units", "districts": "admin_units", "fallback_risk": "households"}.get(layer, layer)
    with transaction(settings) as s:
        first = min(s.execute(text(IDS[layer])).scalars())
        return s.execute(
            text(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM {table} WHERE id = :i) q"),
            {"i": first},
        ).one()


def test_migration_triggers_cover_what_each_layer_reads(demo_settings):
    with transaction(demo_settings) as s:
        rows = s.execute(
            text("""SELECT c.relname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                    WHERE t.tgname LIKE '%\\_layers\\_changed'""")
        ).all()
    reads: dict[str, set[str]] = {}
    for table, args in rows:
        for layer in bytes(args).decode().split("\x00"):
            if layer:
                reads.setdefault(layer, set()).add(table)
    assert reads == {name: set(spec.reads) for name, spec in TILE_LAYERS.items()}


@pytest.mark.parametrize(
    ("layer", "z"),
    # households are aggregated into cells below the points zoom: test_household_cells checks those
    [
        (layer, z)
        for layer in TILE_LAYERS
        for z in (8, 10, 13)
        if layer != "households" or z >= HOUSEHOLD_POINTS_MIN_ZOOM
    ],
)
def test_tile_holds_exactly_the_intersecting_features(client, demo_settings, layer, z):
    t = TMS.tile(*(LANG_SON_CITY if z < 12 else first_feature(demo_settings, layer)), z)
    response = client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.pbf")
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    tile = decode(response.data)
    features = tile[layer]["features"] if layer in tile else []
    found = {f["id"] for f in features if "point_count" not in f["properties"]}
    expected = intersecting(demo_settings, layer, z, t.x, t.y)
    assert expected, "the test tile should hold features"
    clusters = [f["properties"]["point_count"] for f in features if "point_count" in f["properties"]]
    if TILE_LAYERS[layer].clustered and z < POINTS_CLUSTERED_BELOW_ZOOM:
        # the points sharing a cell are one feature counting them: together every feature, once
        assert found <= expected
        assert all(n > 1 for n in clusters)
        assert len(found) + sum(clusters) == len(expected)
        if layer == "villages":
            assert clusters, "the province's villages share cells at low zoom"
    else:
        assert not clusters
        assert found == expected


@pytest.mark.parametrize("layer", ["communes", "districts"])
def test_unit_tiles_carry_one_label_point_per_unit(client, demo_settings, layer):
    seen: dict[int, int] = {}
    for tile in TMS.tiles(106.0, 21.3, 107.4, 22.5, [9]):
        labels = decode(client.get(f"/tiles/{layer}/9/{tile.x}/{tile.y}.pbf").data).get(f"{layer}_labels")
        for f in labels["features"] if labels else []:
            assert f["geometry"]["type"] == "Point"
            assert f["properties"]["name"]
            seen[f["id"]] = seen.get(f["id"], 0) + 1
    assert set(seen) == intersecting(demo_settings, layer, 0, 0, 0)
    assert set(seen.values()) == {1}, "a label in one tile only"


def test_communes_carry_the_indicators_of_a_year(client, demo_settings):
    t = TMS.tile(*LANG_SON_CITY, 9)
    features = decode(client.get(f"/tiles/communes/9/{t.x}/{t.y}.pbf?year=2024").data)["communes"]["features"]
    with transaction(demo_settings) as s:
        rates = dict(
            s.execute(
                text("""SELECT a.code, round(100.0 * i.poor / nullif(i.households, 0), 2)::float FROM area_indicators i
                        JOIN admin_units a ON a.id = i.unit_id WHERE i.year = 2024 AND i.boundary = 'current'
                        AND i.level = 'commune'""")
            ).all()
        )
    assert features
    for f in features:
        assert f["properties"]["year"] == 2024
        assert f["properties"].get("poverty_rate") == pytest.approx(rates[f["properties"]["code"]])
    legacy = decode(client.get(f"/tiles/communes/9/{t.x}/{t.y}.pbf?boundaries=legacy&year=2024").data)
    assert {f["properties"]["boundary"] for f in legacy["communes"]["features"]} == {"legacy"}


def test_household_cells_count_every_household_and_name_none(client, demo_settings):
    z = 8
    t = TMS.tile(*LANG_SON_CITY, z)
    tile = decode(client.get(f"/tiles/households/{z}/{t.x}/{t.y}.pbf").data)
    cells = tile["households"]["features"]
    assert sum(c["properties"]["households"] for c in cells) == len(
        intersecting(demo_settings, "households", z, t.x, t.y)
    )
    assert all(set(c["properties"]) == {"households", "members"} for c in cells)


def test_a_dense_points_tile_is_counted_in_cells(client, db, demo_settings, monkeypatch):
    """From zoom 12 households are points, unless a tile would hold more than MAX_HOUSEHOLD_POINTS
    (a million-household province): then it is counted in cells like the zooms below."""
    from spatial import vector_tiles

    z = 13
    t = TMS.tile(*first_feature(demo_settings, "households"), z)
    expected = intersecting(demo_settings, "households", z, t.x, t.y)
    assert len(expected) > 2
    points = decode(client.get(f"/tiles/households/{z}/{t.x}/{t.y}.pbf").data)["households"]["features"]
    assert {f["id"] for f in points} == expected  # under the limit: every household as a point
    monkeypatch.setattr(vector_tiles, "MAX_HOUSEHOLD_POINTS", len(expected) - 1)
    db.execute(text("DELETE FROM tile_cache"))  # the limit is a constant of a release: its tiles are cached
    cells = decode(client.get(f"/tiles/households/{z}/{t.x}/{t.y}.pbf").data)["households"]["features"]
    assert all(set(c["properties"]) == {"households", "members"} for c in cells)
    assert sum(c["properties"]["households"] for c in cells) == len(expected)


def test_scoped_tiles_hold_only_the_callers_communes(app, accounts, client, demo_settings):
    planner = client_for(app, accounts, "planner")  # scoped to commune A
    with transaction(demo_settings) as s:
        other = set(
            s.execute(
                text("""SELECT hu.household_id FROM household_units hu JOIN admin_units u ON u.id = hu.commune_id
                        WHERE hu.boundary = 'current' AND u.code <> :a"""),
                {"a": accounts.commune_a},
            ).scalars()
        )
        lon, lat = s.execute(
            text(
                "SELECT ST_X(centroid), ST_Y(centroid) FROM admin_units WHERE code = :a AND boundary = 'current' "
                "AND level = 'commune'"
            ),
            {"a": accounts.commune_a},
        ).one()
    for z in (12, 14):  # points, not clusters (those carry no ids to check)
        t = TMS.tile(lon, lat, z)
        url = f"/tiles/households/{z}/{t.x}/{t.y}.pbf" if z >= HOUSEHOLD_POINTS_MIN_ZOOM else None
        for layer in ("fallback_risk", "livelihood_models") + (("households",) if url else ()):
            path = f"/tiles/{layer}/{z}/{t.x}/{t.y}.pbf"
            everything = decode(client.get(path).data)  # the admin first: the cache holds its tile
            mine = decode(planner.get(path).data)
            again = decode(client.get(path).data)
            all_ids = {f["id"] for f in everything.get(layer, {}).get("features", [])}
            my_ids = {f["id"] for f in mine.get(layer, {}).get("features", [])}
            assert my_ids <= all_ids
            assert {f["id"] for f in again.get(layer, {}).get("features", [])} == all_ids
            if layer != "livelihood_models":
                assert not my_ids & other
        assert planner.get(f"/tiles/communes/{z}/{t.x}/{t.y}.pbf").status_code == 200
    t = TMS.tile(lon, lat, 8)
    commune_tile = decode(planner.get(f"/tiles/communes/8/{t.x}/{t.y}.pbf").data)
    assert {f["properties"]["code"] for f in commune_tile["communes"]["features"]} == {accounts.commune_a}


def test_etag_304_cache_and_invalidation_by_an_edit(client, db):
    z = 14
    model_id, lon, lat = db.execute(
        text(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM livelihood_models WHERE deleted_at IS NULL ORDER BY id LIMIT 1"
        )
    ).one()
    t = TMS.tile(lon, lat, z)
    path = f"/tiles/livelihood_models/{z}/{t.x}/{t.y}.pbf"
    first = client.get(path)
    second = client.get(path)
    assert second.headers["X-Tile-Cache"] == "hit"
    assert first.headers["ETag"] == second.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    # the edit, like the requests, is on the test's connection and rolled back after it
    db.execute(text("UPDATE livelihood_models SET name = 'Đổi tên' WHERE id = :i"), {"i": model_id})
    db.flush()
    edited = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert edited.status_code == 200
    assert edited.headers["X-Tile-Cache"] == "miss"
    names = {f["id"]: f["properties"]["name"] for f in decode(edited.data)["livelihood_models"]["features"]}
    assert names[model_id] == "Đổi tên"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/tiles/communes/23/0/0.pbf", 400),
        ("/tiles/communes/3/8/0.pbf", 400),
        ("/tiles/communes/3/0/9.pbf", 400),
        ("/tiles/nothing/3/0/0.pbf", 404),
        ("/tiles/rasters/3/0/0.pbf", 404),
        ("/tiles/nothing.json", 404),
        ("/tiles/communes/3/0/0.pbf?boundaries=future", 400),
        ("/tiles/communes/3/0/0.pbf?year=1990", 400),
        ("/tiles/communes/3/0/0.pbf?year=soon", 400),
        ("/tiles/districts/3/0/0.pbf?boundaries=current", 400),
        ("/tiles/villages/3/0/0.pbf?year=2024", 400),
    ],
)
def test_bad_tile_requests_are_refused_with_an_ogc_exception(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert set(response.json) >= {"code", "description"}


def test_tilejson(client):
    body = client.get("/tiles/communes.json?year=2024").json
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/communes/{z}/{x}/{y}.pbf?boundaries=current&year=2024")
    assert body["vector_layers"][0]["id"] == "communes"
    assert body["vector_layers"][0]["fields"]["poverty_rate"] == "Number"
    assert 106 < body["center"][0] < 107.5
    for name in TILE_LAYERS:
        assert client.get(f"/tiles/{name}.json").status_code == 200


def test_tiles_need_a_signed_in_caller(anonymous):
    assert anonymous.get("/tiles/communes/8/203/113.pbf").status_code == 401


def test_household_box_queries_use_an_index_under_row_level_security(accounts, db, demo_settings):
    """PostGIS's operators are not leakproof, so under the scope policy they cannot be index
    conditions; a box on the generated coordinates can (migration 0025), as /ogc's and the layers'
    ``bbox`` ask (tiles pick their rows by tile key: the test below)."""
    lon, lat = first_feature(demo_settings, "households")
    t = TMS.tile(lon, lat, 14)
    b = TMS.bounds(t)
    apply_scope(db, principal(get_user(db, accounts.name("planner"))))
    rel = LAYERS["households"].relation(LayerQuery(bbox=(b.left, b.bottom, b.right, b.top)))
    envelope = func.ST_Transform(func.ST_TileEnvelope(14, t.x, t.y), 4326)
    stmt = select(rel.c.id).where(func.ST_Intersects(rel.c.geom, envelope))
    compiled = stmt.compile(dialect=db.get_bind().dialect)
    conn = db.connection()
    plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
    assert "ix_households_lon_lat" in plan, plan
    assert db.scalar(text("SELECT current_user")) == "sinhke_app"  # under the policy, as a request is


def test_a_household_tile_is_one_range_of_tile_keys_under_row_level_security(accounts, db, demo_settings):
    """The tile's households come from one index range of ``tile_key`` (migration 0031), leakproof
    under the policy, and are the ones ST_Intersects finds in the tile (as the owner, no policy)."""
    lon, lat = first_feature(demo_settings, "households")
    t = TMS.tile(lon, lat, 14)
    expected = intersecting(demo_settings, "households", 14, t.x, t.y)
    apply_scope(db, principal(get_user(db, accounts.name("admin"))))
    rel = layer_relation(TILE_LAYERS["households"], None, None, tile=(14, t.x, t.y))
    stmt = select(rel.c.id)
    compiled = stmt.compile(dialect=db.get_bind().dialect)
    plan = "\n".join(r[0] for r in db.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
    assert "ix_households_tile_key" in plan, plan
    assert set(db.scalars(stmt)) == expected and expected


def test_tile_keys_are_the_zoom_24_tiles_morton_codes(db):
    """``sinhke_tile_key`` against morecantile's tiles, and its column and row read back: a point's
    key lies in the key range of the tile that holds it, at every zoom, and of no other tile there."""
    points = [(106.76, 21.85), (105.0001, 20.9999), (107.5, 22.75), (-179.99, -85.0), (179.99, 85.0), (0.0, 0.0)]
    for lon, lat in points:
        key = db.scalar(text("SELECT sinhke_tile_key(:lon, :lat)"), {"lon": lon, "lat": lat})
        deep = TMS.tile(lon, lat, 24)
        assert db.execute(text("SELECT sinhke_tile_key_x(:k), sinhke_tile_key_y(:k)"), {"k": key}).one() == (
            deep.x,
            deep.y,
        )
        for z in (0, 5, 8, 12, 14, 22):
            t = TMS.tile(lon, lat, z)
            low, high = tile_key_range(z, t.x, t.y)
            assert low <= key <= high, (lon, lat, z)
            if t.x + 1 < 2**z:
                assert not tile_key_range(z, t.x + 1, t.y)[0] <= key <= tile_key_range(z, t.x + 1, t.y)[1]
    assert db.scalar(text("SELECT sinhke_tile_key(NULL, 21.0)")) is None
    # beyond Web Mercator's latitudes a point keeps to the edge row: north row 0, south the last
    edges = "SELECT sinhke_tile_key_y(sinhke_tile_key(10, 89.9)), sinhke_tile_key_y(sinhke_tile_key(10, -89.9))"
    assert db.execute(text(edges)).one() == (0, 2**24 - 1)


def test_household_cells_are_the_grid_postgis_projects(client, demo_settings):
    """Each cell of a z8 household tile holds the households that ``ST_Transform`` puts in that
    64 × 64 grid cell (the tile is counted from tile keys, with no projection per household)."""
    z = 8
    t = TMS.tile(*LANG_SON_CITY, z)
    size = 40075016.685578488 / 2**z / 64
    with transaction(demo_settings) as s:
        rows = s.execute(
            text("""
            SELECT floor(ST_X(p) / :s) AS col, floor(ST_Y(p) / :s) AS row, count(*) FROM (
              SELECT ST_Transform(geom, 3857) AS p FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL
                AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326))) h GROUP BY 1, 2"""),
            {"s": size, "z": z, "x": t.x, "y": t.y},
        ).all()
        # each grid cell's centre, in the tile's own coordinates as ST_AsMVTGeom writes them
        expected = {}
        for col, row, count in rows:
            x, y = s.execute(
                text("""SELECT ST_X(g), ST_Y(g) FROM ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(:cx, :cy), 3857),
                        ST_TileEnvelope(:z, :x, :y), 4096, 64, true) g"""),
                {"cx": (col + 0.5) * size, "cy": (row + 0.5) * size, "z": z, "x": t.x, "y": t.y},
            ).one()
            expected[(int(x), 4096 - int(y))] = count  # the decoder puts y up
    cells = decode(client.get(f"/tiles/households/{z}/{t.x}/{t.y}.pbf").data)["households"]["features"]
    got = {tuple(c["geometry"]["coordinates"]): c["properties"]["households"] for c in cells}
    assert got == expected and len(expected) > 3


def test_scoped_reads_give_the_same_rows_in_a_parallel_worker(accounts, db, demo_settings):
    """The scope functions are parallel safe (migration 0031): a worker sees the caller's scope
    (the transaction's settings reach it), so a plan run in a worker keeps exactly the caller's rows."""
    apply_scope(db, principal(get_user(db, accounts.name("planner"))))
    count = "SELECT count(*), sum(id) FROM households WHERE deleted_at IS NULL"
    alone = db.execute(text(count)).one()
    for name in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
        db.execute(text("SELECT set_config(:n, '0', true)"), {"n": name})  # a parallel plan even here
    plan = "\n".join(db.scalars(text(f"EXPLAIN {count}")))
    assert "Parallel Seq Scan" in plan, plan
    assert db.execute(text(count)).one() == alone
    with transaction(demo_settings) as s:  # the table owner: every household
        everyone = s.scalar(text("SELECT count(*) FROM households WHERE deleted_at IS NULL"))
    assert 0 < alone[0] < everyone  # the planner's communes only
