"""OGC API – Features: real clients (GDAL's OAPIF driver, OWSLib) read every collection through
paging and get the database's counts; CQL2 filters match the same filters in SQL; bad input is a
400/404 with an OGC exception; downloads keep Vietnamese names."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import zipfile
from urllib.parse import quote

import pytest
from sqlalchemy import text

from spatial.db import session_factory, transaction
from spatial.ogc import COLLECTIONS
from tests.conftest import client_for

#: collection -> SQL counting what it holds (as the table owner, no RLS)
COUNTS = {
    "communes": "SELECT count(*) FROM admin_units WHERE level = 'commune' AND boundary = 'current'",
    "provinces": "SELECT count(*) FROM admin_units WHERE level = 'province' AND boundary = 'current'",
    "legacy_communes": "SELECT count(*) FROM admin_units WHERE level = 'commune' AND boundary = 'legacy'",
    "legacy_districts": "SELECT count(*) FROM admin_units WHERE level = 'district' AND boundary = 'legacy'",
    "villages": "SELECT count(*) FROM villages WHERE geom IS NOT NULL",
    "households": "SELECT count(*) FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL",
    "livelihood_models": "SELECT count(*) FROM livelihood_models WHERE deleted_at IS NULL",
    "infrastructure_works": "SELECT count(*) FROM infrastructure_works WHERE deleted_at IS NULL",
    "water_schemes": "SELECT count(*) FROM water_schemes WHERE deleted_at IS NULL",
    "fallback_risk": "SELECT count(*) FROM fallback_risk r JOIN households h ON h.id = r.household_id "
    "WHERE h.deleted_at IS NULL AND h.geom IS NOT NULL",
}


@pytest.fixture(scope="module")
def counts(demo_settings) -> dict[str, int]:
    with transaction(demo_settings) as s:
        return {name: s.scalar(text(sql)) for name, sql in COUNTS.items()}


def test_every_collection_is_counted():
    assert set(COUNTS) == set(COLLECTIONS)


def test_landing_conformance_collections_api(client):
    landing = client.get("/ogc").json
    assert {link["rel"] for link in landing["links"]} >= {"self", "service-desc", "conformance", "data"}
    assert any("cql2-text" in c for c in client.get("/ogc/conformance").json["conformsTo"])
    listed = client.get("/ogc/collections").json["collections"]
    assert [c["id"] for c in listed] == list(COLLECTIONS)
    households = next(c for c in listed if c["id"] == "households")
    assert households["storageCrs"].endswith("CRS84")
    assert "http://www.opengis.net/def/crs/EPSG/0/3405" in households["crs"]
    api = client.get("/ogc/api")
    assert api.mimetype == "application/vnd.oai.openapi+json"
    limit = next(
        p for p in api.json["paths"]["/collections/households/items"]["get"]["parameters"] if p["name"] == "limit"
    )
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}
    assert "<html" in client.get("/ogc/collections?f=html").get_data(as_text=True)
    assert "<html" in client.get("/ogc/collections", headers={"Accept": "text/html"}).get_data(as_text=True)


def test_paging_reads_every_feature_once(client, counts):
    seen, url, pages = [], "/ogc/collections/households/items?limit=400", 0
    while url:
        body = client.get(url).json
        assert body["numberMatched"] == counts["households"]
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert len(seen) == len(set(seen)) == counts["households"]
    assert pages == -(-counts["households"] // 400)


def test_single_item_and_crs(client, demo_settings):
    with transaction(demo_settings) as s:
        code, x, y = s.execute(
            text(
                "SELECT code, ST_X(ST_Transform(geom, 3405)), ST_Y(ST_Transform(geom, 3405)) FROM households "
                "WHERE geom IS NOT NULL ORDER BY id LIMIT 1"
            )
        ).one()
    r = client.get(f"/ogc/collections/households/items/{code}?crs=http://www.opengis.net/def/crs/EPSG/0/3405")
    assert r.status_code == 200
    assert r.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3405>"
    assert r.json["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.01)
    assert set(r.json["properties"]) == {"code", "commune", "village", "members", "ethnicity"}  # no names or ID cards
    # a bbox in VN-2000 finds the household
    box = f"{x - 5},{y - 5},{x + 5},{y + 5}"
    found = client.get(f"/ogc/collections/households/items?bbox={box}&bbox-crs=EPSG:3405").json
    assert code in {f["id"] for f in found["features"]}


#: CQL2-text filter -> the same condition in SQL over the households layer
FILTERS = {
    "members > 4": "h.members > 4",
    "members >= 3 AND NOT ethnicity = 'Kinh'": "h.members >= 3 AND NOT h.ethnicity = 'Kinh'",
    "ethnicity IN ('Tày', 'Nùng') OR members BETWEEN 6 AND 8": "h.ethnicity IN ('Tày', 'Nùng') OR h.members BETWEEN 6 AND 8",
    "ethnicity <> 'Tày'": "h.ethnicity <> 'Tày'",
    "ethnicity IS NULL": "h.ethnicity IS NULL",
    "village LIKE 'Thôn%'": "(SELECT v.name FROM villages v WHERE v.id = h.village_id) LIKE 'Thôn%'",
    "S_INTERSECTS(geom, BBOX(106.6, 21.7, 106.9, 21.95))": "ST_Intersects(h.geom, ST_MakeEnvelope(106.6, 21.7, 106.9, 21.95, 4326))",
    "S_INTERSECTS(geom, POLYGON((106.6 21.7, 106.9 21.7, 106.9 21.95, 106.6 21.7))) AND members < 5": (
        "ST_Intersects(h.geom, 'SRID=4326;POLYGON((106.6 21.7, 106.9 21.7, 106.9 21.95, 106.6 21.7))'::geometry) "
        "AND h.members < 5"
    ),
}


@pytest.mark.parametrize("cql, sql", list(FILTERS.items()))
def test_cql2_filters_match_sql(client, demo_settings, cql, sql):
    with transaction(demo_settings) as s:
        expected = set(
            s.execute(
                text(f"SELECT h.code FROM households h WHERE h.deleted_at IS NULL AND h.geom IS NOT NULL AND ({sql})")
            ).scalars()
        )
    body = client.get(f"/ogc/collections/households/items?limit=10000&filter={quote(cql)}&filter-lang=cql2-text").json
    assert body["numberMatched"] == len(expected)
    assert {f["id"] for f in body["features"]} == expected


def test_sortby_and_datetime(client, demo_settings):
    body = client.get("/ogc/collections/livelihood_models/items?sortby=-budget_allocated_vnd,code&limit=10000").json
    budgets = [f["properties"]["budget_allocated_vnd"] for f in body["features"]]
    assert budgets == sorted(budgets, reverse=True)
    with transaction(demo_settings) as s:
        since = s.scalar(
            text("SELECT count(*) FROM livelihood_models WHERE deleted_at IS NULL AND start_date >= '2023-06-01'")
        )
    assert client.get("/ogc/collections/livelihood_models/items?datetime=2023-06-01/..").json["numberMatched"] == since


def test_sorted_pages_follow_one_another(client):
    """Pages of a sorted collection, read one after the other, are the sorted whole (ties by code)."""
    url = "/ogc/collections/livelihood_models/items?sortby=-budget_allocated_vnd,code"
    whole = [f["id"] for f in client.get(f"{url}&limit=10000").json["features"]]
    paged: list[str] = []
    for offset in range(0, len(whole), 3):
        paged += [f["id"] for f in client.get(f"{url}&limit=3&offset={offset}").json["features"]]
    assert len(whole) > 6 and paged == whole
    rows = client.get(f"{url}&limit=10000").json["features"]
    keys = [(-f["properties"]["budget_allocated_vnd"], f["properties"]["code"]) for f in rows]
    assert keys == sorted(keys)


def test_scoped_caller_sees_only_its_commune(app, accounts, demo_settings):
    planner = client_for(app, accounts, "planner")
    with transaction(demo_settings) as s:
        mine = s.scalar(
            text("""SELECT count(*) FROM household_units hu JOIN admin_units u ON u.id = hu.commune_id
                    JOIN households h ON h.id = hu.household_id
                    WHERE hu.boundary = 'current' AND u.code = :a AND h.geom IS NOT NULL AND h.deleted_at IS NULL"""),
            {"a": accounts.commune_a},
        )
    assert planner.get("/ogc/collections/households/items?limit=1").json["numberMatched"] == mine
    communes = planner.get("/ogc/collections/communes/items").json
    assert [f["id"] for f in communes["features"]] == [accounts.commune_a]
    listed = {c["id"] for c in planner.get("/ogc/collections").json["collections"]}
    assert "provinces" not in listed and "households" in listed


def test_next_links_page_by_keyset_and_read_the_whole_collection(client, demo_settings, monkeypatch):
    """An unsorted page's next link continues after its last row (``after``): following the links
    reads every feature once, the same features as offset pages, and each page says where it is."""
    with transaction(demo_settings) as s:
        want = s.scalar(text("SELECT count(*) FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL"))
    url = "/ogc/collections/households/items?limit=97"
    seen: list[str] = []
    pages = 0
    while url:
        body = client.get(url).json
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if nxt:
            assert "after=" in nxt[0] and "offset=" in nxt[0]
        url = nxt[0] if nxt else None
        pages += 1
    assert len(seen) == want == len(set(seen)) and pages == -(-want // 97)
    by_offset = [f["id"] for f in client.get("/ogc/collections/households/items?limit=97&offset=194").json["features"]]
    assert by_offset == seen[194:291]
    # far offsets, the count known, are read without parallel workers: the same page
    from spatial import ogc

    monkeypatch.setattr(ogc, "SERIAL_FROM_OFFSET", 100)
    serial = [f["id"] for f in client.get("/ogc/collections/households/items?limit=97&offset=194").json["features"]]
    assert serial == by_offset
    # a sorted page is addressed by offset only; a bad cursor is refused naming it
    sorted_page = client.get("/ogc/collections/households/items?limit=5&sortby=code").json
    assert all("after=" not in link["href"] for link in sorted_page["links"])
    for bad in ("after=-1", "after=x", "after=5&sortby=code", "after=99999999999"):
        r = client.get(f"/ogc/collections/households/items?{bad}")
        assert r.status_code == 400 and "after" in r.get_data(as_text=True), (bad, r.status_code)


def test_number_matched_is_counted_once_and_never_stale(accounts, demo_settings):
    """numberMatched is cached per collection, filter, scope and layer version: a second page
    reuses it, another scope counts its own, and a transaction that has written counts afresh
    and keeps nothing (its version could be taken back by a rollback). Each step in a fresh
    transaction of its own, as requests are."""
    from spatial import ogc
    from spatial.accounts import SYSTEM, apply_scope, get_user, principal

    def matched(who: str | None, offset: int = 0, write: bool = False) -> int:
        session = session_factory(demo_settings)()
        try:
            if write:  # one household more with 3 members or more, uncommitted
                session.execute(
                    text(
                        "UPDATE households SET members = 3 WHERE id = (SELECT min(id) FROM households WHERE members < 3)"
                    )
                )
            apply_scope(session, SYSTEM if who is None else principal(get_user(session, accounts.name(who))))
            c = ogc.COLLECTIONS["households"]
            q = ogc.parse_items_query(c, {"limit": "1", "offset": str(offset), "filter": "members >= 3"})
            return ogc.items(session, c, q).matched
        finally:
            session.rollback()
            session.close()

    with transaction(demo_settings) as s:
        want = s.scalar(
            text("SELECT count(*) FROM households WHERE deleted_at IS NULL AND geom IS NOT NULL AND members >= 3")
        )
    ogc._counts.clear()
    first = matched("planner")
    assert 0 < first < want  # the planner's communes only
    assert len(ogc._counts) == 1
    assert matched("planner", offset=1) == first  # the page is not in the key
    assert len(ogc._counts) == 1
    assert matched(None) == want  # the whole province's own count, not the planner's
    assert len(ogc._counts) == 2
    assert matched(None, write=True) == want + 1  # counted afresh, not served from the cache
    assert len(ogc._counts) == 2  # and not kept
    assert matched(None) == want  # rolled back: the cached count stands again


@pytest.mark.parametrize(
    "path, status, parameter",
    [
        ("/ogc/collections/nothing", 404, None),
        ("/ogc/collections/nothing/items", 404, None),
        ("/ogc/collections/households/items/NO-SUCH-CODE", 404, None),
        ("/ogc/collections/households/items?limit=0", 400, "limit"),
        ("/ogc/collections/households/items?limit=10001", 400, "limit"),
        ("/ogc/collections/households/items?limit=many", 400, "limit"),
        ("/ogc/collections/households/items?bbox=1,2,3", 400, "bbox"),
        ("/ogc/collections/households/items?bbox=5,5,1,1", 400, "bbox"),
        ("/ogc/collections/households/items?bbox=a,b,c,d", 400, "bbox"),
        ("/ogc/collections/households/items?crs=EPSG:9999", 400, "crs"),
        ("/ogc/collections/households/items?bbox-crs=urn:nothing", 400, "bbox-crs"),
        ("/ogc/collections/households/items?filter=members%20%3E", 400, "filter"),
        ("/ogc/collections/households/items?filter=head_name%20%3D%20'x'", 400, "filter"),
        ("/ogc/collections/households/items?filter=id_card_number%20IS%20NULL", 400, "filter"),
        ("/ogc/collections/households/items?filter=members%20%3D%20'x'", 400, "filter"),
        ("/ogc/collections/households/items?filter=S_INTERSECTS(geom,POLYGON((1%202,3)))", 400, "filter"),
        ("/ogc/collections/households/items?filter-lang=cql2-json", 400, "filter-lang"),
        ("/ogc/collections/households/items?sortby=head_name", 400, "sortby"),
        ("/ogc/collections/households/items?datetime=2024-01-01", 400, "datetime"),
        ("/ogc/collections/livelihood_models/items?datetime=soon", 400, "datetime"),
        ("/ogc/collections/households/items?f=pdf", 400, "f"),
        ("/ogc/collections/households/items?colour=red", 400, "colour"),
    ],
)
def test_bad_input_is_an_ogc_exception(client, path, status, parameter):
    r = client.get(path)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.json["code"] and r.json["description"]
    if parameter:
        assert r.json["parameter"] == parameter


def test_filter_syntax_error_names_the_position(client):
    r = client.get("/ogc/collections/households/items?filter=" + quote("members > 3 AND (ethnicity = 'Tày'"))
    assert r.status_code == 400
    assert r.json["position"] == len("members > 3 AND (ethnicity = 'Tày'") + 1
    assert "position" in r.json["description"]


def test_anonymous_gets_401(anonymous):
    r = anonymous.get("/ogc/collections")
    assert r.status_code == 401
    assert r.json["code"] == "Unauthorized"


# ----------------------------------------------------------------------------- downloads
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "gpkg", "shp"])
def test_downloads_keep_every_row_and_the_diacritics(client, demo_settings, tmp_path, fmt):
    import pyogrio

    cql = quote("ethnicity = 'Tày'")
    r = client.get(f"/ogc/collections/households/items?f={fmt}&filter={cql}")
    assert r.status_code == 200, r.get_data(as_text=True)
    with transaction(demo_settings) as s:
        expected = dict(
            s.execute(
                text(
                    "SELECT h.code, v.name FROM households h LEFT JOIN villages v ON v.id = h.village_id "
                    "WHERE h.deleted_at IS NULL AND h.geom IS NOT NULL AND h.ethnicity = 'Tày'"
                )
            ).all()
        )
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
        got = {row["code"]: row["village"] for row in rows}
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(io.BytesIO(r.data)).active
        header, *rows = list(ws.values)
        got = {row[header.index("code")]: row[header.index("village")] for row in rows}
    else:
        path = tmp_path / ("households.gpkg" if fmt == "gpkg" else "households.zip")
        path.write_bytes(r.data)
        if fmt == "shp":
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                assert "households_point.cpg" in names
                assert zf.read("households_point.cpg").strip() == b"UTF-8"
                zf.extractall(tmp_path)
            path = tmp_path / "households_point.shp"
        _meta, _fids, _geoms, fields = pyogrio.raw.read(path)
        meta = pyogrio.read_info(path)
        names = list(meta["fields"])
        got = dict(zip(fields[names.index("code")], fields[names.index("village")], strict=True))
        assert meta["features"] == len(expected)
    assert got == expected
    assert any("ạ" in (v or "") or "ồ" in (v or "") or "ư" in (v or "") for v in got.values())


def test_mixed_geometries_become_one_shapefile_per_kind(client, tmp_path):
    r = client.get("/ogc/collections/infrastructure_works/items?f=shp")
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        shapes = {n for n in zf.namelist() if n.endswith(".shp")}
        assert len(shapes) >= 2  # roads are lines, schools points
        assert all(n.replace(".shp", ".cpg") in zf.namelist() for n in shapes)


# ----------------------------------------------------------------------------- real clients


def _gdal_env(accounts) -> dict[str, str]:
    return {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {accounts.tokens['admin']}", "CPL_DEBUG": "OFF"}


def test_gdal_reads_every_collection_with_the_database_counts(live_server, accounts, counts, tmp_path):
    # make test installs gdal-bin (scripts/system-deps.sh): a machine without it fails here, not skips
    assert shutil.which("ogrinfo"), "gdal-bin is missing: run `make test`, which installs it"
    env = _gdal_env(accounts)
    listing = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}/ogc"], env=env, capture_output=True, text=True, timeout=120
    )
    assert listing.returncode == 0, listing.stderr
    for name in COLLECTIONS:
        assert name in listing.stdout
    out = tmp_path / "all.gpkg"
    run = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server}/ogc", *COLLECTIONS],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    import pyogrio

    layers = {name: pyogrio.read_info(out, layer=name)["features"] for name, _kind in pyogrio.list_layers(out)}
    assert layers == counts


def test_owslib_reads_every_collection_with_the_database_counts(live_server, accounts, counts):
    from owslib.ogcapi.features import Features

    api = Features(live_server + "/ogc", headers={"Authorization": f"Bearer {accounts.tokens['admin']}"})
    assert {c["id"] for c in api.collections()["collections"]} == set(COLLECTIONS)
    for name in COLLECTIONS:
        seen, offset = 0, 0
        while True:
            page = api.collection_items(name, limit=1000, offset=offset)
            assert page["numberMatched"] == counts[name]
            seen += page["numberReturned"]
            if not any(link["rel"] == "next" for link in page["links"]):
                break
            offset += 1000
        assert seen == counts[name], name
    assert "members" in api.collection_queryables("households")["properties"]


QGIS_PYTHON = "/usr/bin/python3"


def _has_qgis() -> bool:
    if not os.path.exists(QGIS_PYTHON):
        return False
    return subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60).returncode == 0


def test_qgis_reads_every_collection_with_the_database_counts(live_server, accounts, counts):
    # make test installs python3-qgis (scripts/system-deps.sh): a machine without it fails here, not skips
    assert _has_qgis(), "python3-qgis is missing: run `make test`, which installs it"
    script = os.path.join(os.path.dirname(__file__), "qgis_read_collections.py")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SINHKE_TOKEN": accounts.tokens["admin"]}
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [QGIS_PYTHON, script, f"{live_server}/ogc", *COLLECTIONS], env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    read = {line.split("\t")[0]: int(line.split("\t")[1]) for line in run.stdout.splitlines() if "\t" in line}
    assert read == counts
