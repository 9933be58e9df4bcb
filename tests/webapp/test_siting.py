"""Siting on the demo: hazard limits, served households, scenarios kept within a planner's communes."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pyogrio
import pytest
import rasterio
from click.testing import CliRunner
from sqlalchemy import text

from spatial.cluster import database_url
from spatial.geometry import WGS84, transform_xy
from spatial.siting import Candidate, SitingParams, hazard_exclusions, run_siting
from tests.conftest import client_for
from webapp.cli import main


def _params(communes, candidates, k=1, radius=1000.0):
    return SitingParams(communes=tuple(communes), radius_m=radius, k=k, candidates=tuple(candidates))


def _demand_codes(db, *communes):
    return db.execute(
        text("""
        SELECT h.code, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat FROM households h
        JOIN household_units hu ON hu.household_id = h.id AND hu.boundary = 'current'
        JOIN admin_units u ON u.id = hu.commune_id AND u.code = ANY(:c)
        JOIN LATERAL (SELECT pc.status FROM survey_rounds sr JOIN poverty_classifications pc
                      ON pc.survey_round_id = sr.id WHERE sr.household_id = h.id ORDER BY sr.year DESC LIMIT 1) l ON true
        WHERE l.status IN ('poor', 'near_poor') AND h.geom IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM water_scheme_households w JOIN water_schemes s ON s.id = w.scheme_id
                          WHERE w.household_id = h.id AND s.status = 'functional')
        ORDER BY h.code"""),
        {"c": list(communes)},
    ).all()


def _flood_pixel(db, store):
    """The centre of a cell of the 100-year flood raster deeper than 0.15 m, as lon/lat."""
    path = db.scalar(text("SELECT path FROM rasters WHERE hazard = 'flood_depth' AND return_period = 100"))
    with rasterio.open(store / path) as ds:
        band = ds.read(1)
        rows, cols = np.nonzero(band > 0.5)
        x, y = ds.xy(int(rows[len(rows) // 2]), int(cols[len(cols) // 2]))
        return transform_xy(np.array([[x, y]]), ds.crs.to_wkt(), WGS84)[0]


def test_a_candidate_in_the_flood_zone_is_never_chosen(db, accounts, demo_settings):
    lon, lat = _flood_pixel(db, demo_settings.raster_store)
    # three demand households moved next to the flooded cell: the flooded candidate would cover them
    moved = [r.code for r in _demand_codes(db, accounts.commune_a)[:3]]
    db.execute(
        text("UPDATE households SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326) WHERE code = ANY(:codes)"),
        {"x": float(lon) + 0.0005, "y": float(lat), "codes": moved},
    )
    flooded = Candidate("flooded", round(float(lon), 6), round(float(lat), 6))
    elsewhere = Candidate("elsewhere", round(float(lon), 6), round(float(lat) + 0.2, 6))
    excluded, unchecked = hazard_exclusions(db, demo_settings.raster_store, [flooded, elsewhere])
    assert 0 in excluded and 1 not in excluded and not unchecked
    result = run_siting(db, _params([accounts.commune_a], [flooded, elsewhere]), demo_settings.raster_store)
    assert [e["candidate"] for e in result.excluded] == ["flooded"]
    assert "flooded" not in [s.candidate for s in result.sites]
    assert "flooded" not in result.greedy_sites
    assert not any(h["site"] for h in result.households if h["code"] in moved)


def test_households_already_served_add_nothing(db, accounts, demo_settings):
    first = _demand_codes(db, accounts.commune_a)[0]
    here = Candidate("here", first.lon, first.lat)
    before = run_siting(db, _params([accounts.commune_a], [here], radius=1.0), demo_settings.raster_store)
    assert before.sites[0].households == [first.code] and before.objective > 0
    # now a functional scheme serves the household
    scheme = db.scalar(
        text("""
        INSERT INTO water_schemes (code, name, geom, commune_id, technology, status)
        SELECT 'T-SERVES', 'test scheme', h.geom, h.commune_id, 'gravity', 'functional' FROM households h
        WHERE h.code = :c RETURNING id"""),
        {"c": first.code},
    )
    db.execute(
        text(
            "INSERT INTO water_scheme_households (scheme_id, household_id) SELECT :s, id FROM households WHERE code = :c"
        ),
        {"s": scheme, "c": first.code},
    )
    after = run_siting(db, _params([accounts.commune_a], [here], radius=1.0), demo_settings.raster_store)
    assert after.objective == 0
    assert first.code not in [h["code"] for h in after.households]
    assert after.demand_households == before.demand_households - 1


def test_cli_json_is_optimal_against_brute_force(demo_settings, tmp_path, db):
    communes = db.scalars(
        text("SELECT code FROM admin_units WHERE level = 'commune' AND boundary = 'current' ORDER BY code")
    ).all()
    demand = _demand_codes(db, *communes)
    assert len(demand) >= 12
    # 12 candidates: around the demand households, spread by a few hundred metres
    rng = np.random.default_rng(1)
    near = sorted(demand, key=lambda d: (d.lon - demand[0].lon) ** 2 + (d.lat - demand[0].lat) ** 2)[:12]
    points = [(d.lon + rng.normal(0, 0.004), d.lat + rng.normal(0, 0.004)) for d in near]
    features = [
        {
            "type": "Feature",
            "id": f"c{n}",
            "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]},
            "properties": {},
        }
        for n, (x, y) in enumerate(points)
    ]
    path = tmp_path / "candidates.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = CliRunner().invoke(
        main,
        [
            "siting",
            "run",
            "--communes",
            ",".join(communes),
            "--candidates",
            str(path),
            "--radius",
            "600",
            "--k",
            "3",
            "--json",
        ],
        obj=demo_settings,
        catch_exceptions=False,
        env={"SINHKE_DATABASE_URL": database_url(demo_settings)},
    )
    assert out.exit_code == 0, out.output
    answer = json.loads(out.stdout)
    assert set(answer) == {"objective", "greedy_objective", "optimal", "gap", "seconds", "sites"}
    assert answer["optimal"] is True and answer["gap"] == 0
    # brute force over PostGIS's own distances (ST_DWithin in VN-2000 / UTM 48N), weights 1 and 0.5
    rows = db.execute(
        text("""
        WITH c AS (SELECT n, ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(f -> 'geometry'), 4326), 3405) AS g
                   FROM jsonb_array_elements(CAST(:f AS jsonb)) WITH ORDINALITY AS t(f, n)),
        d AS (SELECT h.code, ST_Transform(h.geom, 3405) AS g,
                     (SELECT CASE WHEN pc.status = 'poor' THEN 1.0 ELSE 0.5 END FROM survey_rounds sr
                      JOIN poverty_classifications pc ON pc.survey_round_id = sr.id
                      WHERE sr.household_id = h.id ORDER BY sr.year DESC LIMIT 1) AS w
              FROM households h WHERE h.code = ANY(:codes))
        SELECT c.n, d.code, d.w FROM c JOIN d ON ST_DWithin(c.g, d.g, 600)"""),
        {"f": json.dumps(features), "codes": [d.code for d in demand]},
    ).all()
    assert rows
    covers: dict[int, set[str]] = {}
    weight = {}
    for n, code, w in rows:
        covers.setdefault(int(n) - 1, set()).add(code)
        weight[code] = float(w)
    # over the candidates the hazard limits allow (a flooded or landslide-prone one is never chosen)
    excluded, _ = hazard_exclusions(
        db, demo_settings.raster_store, [Candidate(f"c{n}", x, y) for n, (x, y) in enumerate(points)]
    )
    allowed = [j for j in range(12) if j not in excluded]
    best = max(
        sum(weight[c] for c in set().union(*(covers.get(j, set()) for j in combo)))
        for combo in combinations(allowed, min(3, len(allowed)))
    )
    assert answer["objective"] == pytest.approx(best)
    assert answer["greedy_objective"] <= answer["objective"]
    gains = [s["gain"] for s in answer["sites"]]
    assert gains == sorted(gains, reverse=True) and sum(gains) == pytest.approx(best)
    newly = [h for s in answer["sites"] for h in s["households"]]
    assert len(newly) == len(set(newly))


def _run_body(commune, **over):
    body = {"name": "test run", "communes": [commune], "radius": 2000, "k": 2, "candidates": {"grid": 2000}}
    body.update(over)
    return body


def _scenarios(db):
    return db.scalar(text("SELECT count(*) FROM siting_scenarios"))


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"radius": 0}, "radius"),
        ({"radius": 60_000}, "radius"),
        ({"k": 10_000}, "k"),
        (
            {
                "candidates": {
                    "geojson": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}
                }
            },
            "candidates",
        ),
        ({"candidates": {"csv": "name\nx\n"}}, "candidates"),
        ({"weights": {"rich": 1}}, "weight"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(app, accounts, db, over, field):
    before = _scenarios(db)
    r = client_for(app, accounts, "planner").post("/api/siting", json=_run_body(accounts.commune_a, **over))
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["parameter"] == field
    assert _scenarios(db) == before


def test_run_open_export_and_scope(app, accounts, db, tmp_path):
    admin, planner = client_for(app, accounts, "admin"), client_for(app, accounts, "planner")
    # the planner plans in their commune; the run is saved as a scenario
    r = planner.post("/api/siting", json=_run_body(accounts.commune_a))
    assert r.status_code == 201, r.get_json()
    mine = r.get_json()
    assert mine["status"] == "succeeded" and len(mine["result"]["sites"]) <= 2
    assert mine["communes"] == [accounts.commune_a]
    sites = planner.get(f"/api/siting/{mine['id']}/sites").get_json()
    assert [f["id"] for f in sites["features"]] == [s["candidate"] for s in mine["result"]["sites"]]
    households = planner.get(f"/api/siting/{mine['id']}/households").get_json()
    assert len(households["features"]) == mine["result"]["demand_households"]
    csv = planner.get(f"/api/siting/{mine['id']}/sites?format=csv")
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").startswith("order,candidate,lon,lat,gain")
    gpkg = planner.get(f"/api/siting/{mine['id']}/households?format=gpkg")
    assert gpkg.status_code == 200
    # the GeoPackage read back by GDAL holds the same demand households as the GeoJSON
    path = tmp_path / "households.gpkg"
    path.write_bytes(gpkg.data)
    assert pyogrio.read_info(path)["features"] == len(households["features"])
    # outside the planner's communes: not run, not opened, not exported, not listed
    r = planner.post("/api/siting", json=_run_body(accounts.commune_b))
    assert r.status_code == 400 and r.get_json()["error"]["parameter"] == "communes"
    theirs = admin.post("/api/siting", json=_run_body(accounts.commune_b, name="B"))
    assert theirs.status_code == 201
    other = theirs.get_json()["id"]
    assert planner.get(f"/api/siting/{other}").status_code == 404
    assert planner.get(f"/api/siting/{other}/sites?format=gpkg").status_code == 404
    assert planner.get(f"/api/siting/{other}/households").status_code == 404
    listed = [s["id"] for s in planner.get("/api/siting").get_json()["scenarios"]]
    assert mine["id"] in listed and other not in listed
    assert other in [s["id"] for s in admin.get("/api/siting").get_json()["scenarios"]]
    # an extension worker may not run a siting
    worker = client_for(app, accounts, "extension_worker").post("/api/siting", json=_run_body(accounts.commune_a))
    assert worker.status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--radius", "0"], "radius: 0.0 m"),
        (["--radius", "50001"], "radius: 50001.0 m"),
        (["--k", "99"], "k: 99 sites asked for but only 2 candidates given"),
    ],
)
def test_cli_bad_input_names_the_field(demo_settings, accounts, tmp_path, args, message):
    path = tmp_path / "c.csv"
    path.write_text("lon,lat\n106.7,21.8\n106.8,21.9\n")
    base = {"--radius": "1000", "--k": "1"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    out = CliRunner().invoke(
        main,
        ["siting", "run", "--communes", accounts.commune_a, "--candidates", str(path), *sum(base.items(), ())],
        env={"SINHKE_DATABASE_URL": database_url(demo_settings)},
    )
    assert out.exit_code == 1 and message in out.output, out.output


def test_cli_refuses_communes_outside_the_users(demo_settings, accounts, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("lon,lat\n106.7,21.8\n")
    out = CliRunner().invoke(
        main,
        [
            "siting",
            "run",
            "--communes",
            accounts.commune_b,
            "--candidates",
            str(path),
            "--radius",
            "1000",
            "--k",
            "1",
            "--user",
            "t_planner",
        ],
        env={"SINHKE_DATABASE_URL": database_url(demo_settings)},
    )
    assert out.exit_code == 1 and f"communes: {accounts.commune_b}: not a 2025 commune" in out.output
