"""The import framework on the demo: every format, several layers, reports, idempotency, scope.

Each test imports into the rolled-back ``db`` session (``run_import`` works in a savepoint of
it); files are written small, per test, into ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.importing import REGISTRY, ImportFileError, ImportOptions, importer_for, layers, problems_csv, run_import
from spatial import Message, ParameterError
from spatial.accounts import SYSTEM, Principal, apply_scope

HEADER = ["Mã hộ", "Họ và tên chủ hộ", "Xã", "Thôn/bản", "Số nhân khẩu", "Ngày đăng ký", "Kinh độ", "Vĩ độ"]


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@pytest.fixture(scope="module")
def place(demo_settings) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """A legacy commune, one of its villages and a point inside it; a current commune and a point in it."""
    from spatial.db import engine_for

    with Session(engine_for(demo_settings)) as s:
        legacy = s.execute(
            text("""SELECT c.code, v.code, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
                    FROM admin_units c JOIN villages v ON v.commune_id = c.id
                    WHERE c.level = 'commune' AND c.boundary = 'legacy' ORDER BY c.code, v.code LIMIT 1""")
        ).one()
        current = s.execute(
            text("""SELECT c.code, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
                    FROM admin_units c WHERE c.level = 'commune' AND c.boundary = 'current' ORDER BY c.code LIMIT 1""")
        ).one()
    return {
        "commune": legacy[0],
        "village": legacy[1],
        "lon": legacy[2],
        "lat": legacy[3],
        "current": current[0],
        "clon": current[1],
        "clat": current[2],
    }


def households(place: dict[str, object], n: int = 3, prefix: str = "T-HH") -> list[list[object]]:
    return [
        [
            f"{prefix}-{i:03d}",
            f"Nguyễn Văn Thắng {i}",
            place["commune"],
            place["village"],
            3 + i,
            "15/03/2024",
            round(float(place["lon"]) + i * 1e-5, 7),  # type: ignore[arg-type]
            place["lat"],
        ]
        for i in range(1, n + 1)
    ]


def test_registry_has_every_layer_and_the_raster_catalogue() -> None:
    names = layers()
    for layer in (
        "households",
        "livelihood_models",
        "infrastructure_works",
        "water_schemes",
        "villages",
        "survey_rounds",
    ):
        assert layer in names
        assert importer_for(layer, "csv").layer == layer
    assert ("raster", "geotiff") in REGISTRY
    with pytest.raises(ParameterError, match="layer: nothing imports into 'nope'"):
        importer_for("nope", "csv")
    with pytest.raises(ParameterError, match="format: raster cannot be imported from a csv file"):
        importer_for("raster", "csv")


def test_households_csv_then_again_then_changed(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    path = write_csv(tmp_path / "ho.csv", HEADER, households(place))
    first = run_import(db, "households", path, "ho.csv", SYSTEM)
    assert (first.status, first.rows, first.inserted, first.updated, first.unchanged) == ("imported", 3, 3, 0, 0)
    stored = db.execute(
        text(
            "SELECT code, head_name, members, registered_on::text, updated_at FROM households WHERE code LIKE 'T-HH-%' ORDER BY code"
        )
    ).all()
    assert [(r[0], r[1], r[2], r[3]) for r in stored] == [
        ("T-HH-001", "Nguyễn Văn Thắng 1", 4, "2024-03-15"),
        ("T-HH-002", "Nguyễn Văn Thắng 2", 5, "2024-03-15"),
        ("T-HH-003", "Nguyễn Văn Thắng 3", 6, "2024-03-15"),
    ]
    # placed at once, so scoped users see them
    placed = db.execute(
        text(
            "SELECT count(*) FROM household_units hu JOIN households h ON h.id = hu.household_id WHERE h.code LIKE 'T-HH-%'"
        )
    ).scalar_one()
    assert placed == 6
    # the same file again: nothing changes, updated_at included (a new transaction's now() would differ)
    db.execute(text("SAVEPOINT later"))
    again = run_import(db, "households", path, "ho.csv", SYSTEM)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    after = db.execute(text("SELECT updated_at FROM households WHERE code LIKE 'T-HH-%' ORDER BY code")).scalars().all()
    assert after == [r[4] for r in stored]
    # one changed row: updated and audited
    rows = households(place)
    rows[1][1] = "Hoàng Thị Bính"
    audit_before = db.execute(text("SELECT count(*) FROM audit_log WHERE table_name = 'households'")).scalar_one()
    changed = run_import(db, "households", write_csv(tmp_path / "ho2.csv", HEADER, rows), "ho2.csv", SYSTEM)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 2)
    audit = db.execute(
        text(
            "SELECT action, old->>'head_name', new->>'head_name' FROM audit_log WHERE table_name = 'households' ORDER BY id"
        )
    ).all()
    assert len(audit) == audit_before + 1 and audit[-1] == ("update", "Nguyễn Văn Thắng 2", "Hoàng Thị Bính")
    recorded = db.execute(
        text(
            "SELECT status, inserted, updated, unchanged, sha256 FROM imports WHERE filename LIKE 'ho%.csv' ORDER BY id"
        )
    ).all()
    assert [r[:4] for r in recorded] == [("imported", 3, 0, 0), ("imported", 0, 0, 3), ("imported", 0, 1, 2)]
    assert recorded[0][4] == recorded[1][4] != recorded[2][4]


def test_a_file_with_bad_rows_is_refused_whole_with_every_problem(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    rows = households(place, 5)
    rows[1][4] = "0"  # members
    rows[1][5] = "31/02/2024"  # and the date, in the same row
    rows[2][2] = "99999"  # no such commune
    rows[4][0] = rows[0][0]  # duplicate key
    path = write_csv(tmp_path / "bad.csv", HEADER, rows)
    report = run_import(db, "households", path, "bad.csv", SYSTEM)
    assert report.status == "refused" and report.inserted == 0
    found = {(p.row, p.field, p.value) for p in report.errors}
    assert found == {
        (2, "members", "0"),
        (2, "registered_on", "31/02/2024"),
        (3, "commune", "99999"),
        (5, "code", "T-HH-001"),
    }
    assert db.execute(text("SELECT count(*) FROM households WHERE code LIKE 'T-HH-%'")).scalar_one() == 0
    stored = db.execute(text("SELECT status, rejected, problem_count FROM imports ORDER BY id DESC LIMIT 1")).one()
    assert stored == ("refused", 3, 4)
    lines = problems_csv(report.problems).decode("utf-8-sig").splitlines()
    assert lines[0] == "row,field,value,reason,repaired" and len(lines) == 5
    # --skip-invalid keeps the good rows; --dry-run counts without writing
    dry = run_import(db, "households", path, "bad.csv", SYSTEM, ImportOptions(dry_run=True, skip_invalid=True))
    assert (dry.status, dry.inserted, dry.rejected) == ("dry_run", 2, 3)
    assert db.execute(text("SELECT count(*) FROM households WHERE code LIKE 'T-HH-%'")).scalar_one() == 0
    kept = run_import(db, "households", path, "bad.csv", SYSTEM, ImportOptions(skip_invalid=True))
    assert (kept.status, kept.inserted, kept.rejected) == ("imported", 2, 3)
    codes = db.execute(text("SELECT code FROM households WHERE code LIKE 'T-HH-%' ORDER BY code")).scalars().all()
    assert codes == ["T-HH-001", "T-HH-004"]


def test_unaccented_english_and_mapped_headers(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    header = [
        "MA HO",
        "ho va ten chu ho",
        "xa",
        "Thon Ban",
        "Nhan khau",
        "Registered on",
        "longitude",
        "latitude",
        "Ghi chú",
    ]
    rows = [r + ["x"] for r in households(place, 2)]
    report = run_import(db, "households", write_csv(tmp_path / "a.csv", header, rows), "a.csv", SYSTEM)
    assert report.inserted == 2, report.problems
    assert any("columns not imported" in n and "Ghi chú" in n for n in report.notes)
    header2 = ["So ho", "Chu ho", "Commune code", "village", "members", "registered_on", "x", "y"]
    opts = ImportOptions(mapping={"So ho": "code", "Chu ho": "head_name"})
    r2 = run_import(
        db, "households", write_csv(tmp_path / "b.csv", header2, households(place, 2, "T-HM")), "b.csv", SYSTEM, opts
    )
    assert r2.inserted == 2, r2.problems


def test_missing_required_column_and_empty_files(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    r = run_import(db, "households", write_csv(tmp_path / "m.csv", HEADER[:2], [["a", "b"]]), "m.csv", SYSTEM)
    assert r.refused and {p.field for p in r.errors} >= {"commune", "members", "registered_on"}
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="empty.csv: the file is empty"):
        run_import(db, "households", empty, "empty.csv", SYSTEM)
    header_only = write_csv(tmp_path / "h.csv", HEADER, [])
    r = run_import(db, "households", header_only, "h.csv", SYSTEM)
    assert r.refused and r.errors[0].reason.startswith("no data rows")


def test_scoped_planner_gets_rows_outside_their_communes_rejected(db: Session, tmp_path: Path, place, accounts) -> None:  # type: ignore[no-untyped-def]
    uid = db.execute(text("SELECT id FROM users WHERE name = 't_planner'")).scalar_one()
    planner = Principal(user_id=uid, name="t_planner", role="planner")
    # a point in the planner's commune A, and one in commune B
    pts = db.execute(
        text("""SELECT c.code, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom)) FROM admin_units c
                WHERE c.boundary = 'current' AND c.level = 'commune' AND c.code IN (:a, :b) ORDER BY c.code = :a DESC"""),
        {"a": accounts.commune_a, "b": accounts.commune_b},
    ).all()
    rows = [
        ["T-SC-1", "Lò Văn A", pts[0][0], "", 3, "2025-08-01", pts[0][1], pts[0][2]],
        ["T-SC-2", "Lò Văn B", pts[1][0], "", 3, "2025-08-01", pts[1][1], pts[1][2]],
    ]
    apply_scope(db, planner)
    report = run_import(db, "households", write_csv(tmp_path / "s.csv", HEADER, rows), "s.csv", planner)
    assert report.refused
    assert [(p.row, p.field) for p in report.errors] == [(2, "commune")]
    assert "outside your 2025 communes" in report.errors[0].reason or "not in your area" in report.errors[0].reason
    kept = run_import(
        db,
        "households",
        write_csv(tmp_path / "s.csv", HEADER, rows),
        "s.csv",
        planner,
        ImportOptions(skip_invalid=True),
    )
    assert (kept.inserted, kept.rejected) == (1, 1)


def test_scoped_import_is_refused_for_a_point_outside_the_planners_communes(
    db: Session, tmp_path: Path, place, accounts
) -> None:  # type: ignore[no-untyped-def]
    """The point decides: a row recorded in the planner's commune whose point lies in another 2025
    commune is refused, that row named, and nothing of the file is written (migration 0026 finds a
    point's commune without cutting polygons; the scope it gives must not change)."""
    uid = db.execute(text("SELECT id FROM users WHERE name = 't_planner'")).scalar_one()
    planner = Principal(user_id=uid, name="t_planner", role="planner")
    pts = db.execute(
        text("""SELECT c.code, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom)) FROM admin_units c
                WHERE c.boundary = 'current' AND c.level = 'commune' AND c.code IN (:a, :b) ORDER BY c.code = :a DESC"""),
        {"a": accounts.commune_a, "b": accounts.commune_b},
    ).all()
    own = pts[0][0]
    rows = [
        ["T-SP-1", "Lò Văn A", own, "", 3, "2025-08-01", pts[0][1], pts[0][2]],
        ["T-SP-2", "Lò Văn B", own, "", 3, "2025-08-01", pts[0][1] + 1e-5, pts[0][2]],
        ["T-SP-3", "Lò Văn C", own, "", 3, "2025-08-01", pts[1][1], pts[1][2]],  # in commune B
    ]
    apply_scope(db, planner)
    report = run_import(db, "households", write_csv(tmp_path / "p.csv", HEADER, rows), "p.csv", planner)
    assert report.refused
    assert [(p.row, p.field, p.value) for p in report.errors] == [(3, "commune", own)]
    assert "outside your 2025 communes" in report.errors[0].reason
    assert db.execute(text("SELECT count(*) FROM households WHERE code LIKE 'T-SP-%'")).scalar_one() == 0
    # the policy holds on its own too: the scope check cannot be skipped by writing directly
    with pytest.raises(Exception, match="row-level security"):
        with db.begin_nested():
            db.execute(
                text("""INSERT INTO households (code, head_name, commune_id, members, registered_on, geom)
                        SELECT 'T-SP-9', 'Lò Văn D', id, 3, '2025-08-01', ST_SetSRID(ST_MakePoint(:x, :y), 4326)
                        FROM admin_units WHERE code = :own AND boundary = 'current'"""),
                {"x": pts[1][1], "y": pts[1][2], "own": own},
            )
    # the two rows inside are written with --skip-invalid
    kept = run_import(
        db,
        "households",
        write_csv(tmp_path / "p.csv", HEADER, rows),
        "p.csv",
        planner,
        ImportOptions(skip_invalid=True),
    )
    assert (kept.inserted, kept.rejected) == (2, 1)
    stored = db.execute(text("SELECT code FROM households WHERE code LIKE 'T-SP-%' ORDER BY code")).scalars().all()
    assert stored == ["T-SP-1", "T-SP-2"]
    # placed on both boundary versions in the import's own transaction, though the planner's scope
    # cannot see a household's placement before it exists (read as the owner, past every policy)
    db.execute(text("RESET ROLE"))
    placed = db.execute(
        text("""SELECT h.code, hu.boundary, c.code, hu.method FROM household_units hu
                JOIN households h ON h.id = hu.household_id JOIN admin_units c ON c.id = hu.commune_id
                WHERE h.code LIKE 'T-SP-%' ORDER BY h.code, hu.boundary""")
    ).all()
    assert [(r[0], r[1], r[3]) for r in placed] == [
        ("T-SP-1", "current", "point"),
        ("T-SP-1", "legacy", "point"),
        ("T-SP-2", "current", "point"),
        ("T-SP-2", "legacy", "point"),
    ]
    assert {r[2] for r in placed if r[1] == "current"} == {own}


def test_xlsx_merged_header_hidden_sheet_and_legacy_text(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    from ingest.vntext import encode_tcvn3, encode_vni

    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(["DANH SÁCH HỘ NGHÈO NĂM 2024"])
    ws.append(["Thông tin hộ", None, None, None, "Nhân khẩu", "Ngày đăng ký", "Toạ độ", None])
    ws.append(["Mã hộ", "Họ và tên chủ hộ", "Xã", "Thôn/bản", None, None, "Kinh độ", "Vĩ độ"])
    ws.merge_cells("A1:H1")
    ws.merge_cells("A2:D2")
    ws.merge_cells("E2:E3")
    ws.merge_cells("F2:F3")
    ws.merge_cells("G2:H2")
    names = ["Nguyễn Văn Thắng", "Hoàng Thị Hương", "Nông Đức Mạnh"]
    for i, row in enumerate(households(place)):
        # head names typed in .VnTime (TCVN3) as Excel stores them
        row[1] = encode_tcvn3(names[i]).decode("latin-1")
        ws.append(row)
    hidden = wb.create_sheet("Cũ")
    hidden.append(["Mã hộ"])
    hidden.sheet_state = "hidden"
    path = tmp_path / "ds.xlsx"
    wb.save(path)
    report = run_import(db, "households", path, "ds.xlsx", SYSTEM)
    assert report.inserted == 3, report.problems
    got = db.execute(text("SELECT head_name FROM households WHERE code LIKE 'T-HH-%' ORDER BY code")).scalars().all()
    assert got == names
    notes = " | ".join(report.notes)
    assert "hidden sheets not read: Cũ" in notes
    assert "merged rows 2–3" in notes
    assert "'Họ và tên chủ hộ' converted from TCVN3" in notes
    # a VNI file, as a CSV of legacy bytes
    rows = households(place, 2, "T-VN")
    for r, name in zip(rows, names, strict=False):
        r[1] = name
    raw = io.StringIO()
    csv.writer(raw).writerows([HEADER])
    body = b"".join(
        (",".join(str(c) for c in r[:1]) + ",").encode()
        + encode_vni(str(r[1]))
        + ("," + ",".join(str(c) for c in r[2:]) + "\r\n").encode()
        for r in rows
    )
    vni = tmp_path / "vni.csv"
    vni.write_bytes(raw.getvalue().encode("utf-8") + body)
    r2 = run_import(db, "households", vni, "vni.csv", SYSTEM)
    assert r2.inserted == 2, r2.problems
    assert (
        db.execute(text("SELECT head_name FROM households WHERE code LIKE 'T-VN-%' ORDER BY code")).scalars().all()
        == names[:2]
    )
    assert any("converted from VNI-Windows" in n for n in r2.notes)


def _model_rows(place, n: int = 2) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [
        {
            "code": f"T-MH-{i}",
            "name": f"Nuôi gà thả vườn {i}",
            "model_type": "Gà thả vườn",
            "commune": place["current"],
            "start_date": "2026-01-10",
            "funding_project": "Dự án 2",
            "budget_allocated_vnd": "150.000.000",
            "budget_disbursed_vnd": 50_000_000,
            "status": "Đang thực hiện",
        }
        for i in range(1, n + 1)
    ]


def test_livelihood_models_from_a_vn2000_shapefile(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    from pyogrio.raw import write

    rows = _model_rows(place)
    # VN-2000 / UTM 48N coordinates of the commune's point, through EPSG's own VN-2000 shift
    t = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)
    import shapely

    pts = [shapely.Point(t.transform(float(place["clon"]) + i * 1e-4, float(place["clat"]))) for i in range(len(rows))]  # type: ignore[arg-type]
    folder = tmp_path / "shp"
    folder.mkdir()
    fields = [np.array([str(r[k]) for r in rows], dtype=object) for k in rows[0]]
    write(
        str(folder / "mo_hinh.shp"),
        np.array([shapely.to_wkb(p) for p in pts], dtype=object),
        fields,
        [k[:10] for k in rows[0]],
        geometry_type="Point",
        crs="EPSG:3405",
        driver="ESRI Shapefile",
        encoding="UTF-8",
    )
    zpath = tmp_path / "mo_hinh.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in folder.iterdir():
            zf.write(p, p.name)
    # the dbf truncates field names to 10 characters: a mapping names them
    mapping = {k[:10]: k for k in rows[0] if len(k) > 10}
    report = run_import(db, "livelihood_models", zpath, "mo_hinh.zip", SYSTEM, ImportOptions(mapping=mapping))
    assert report.inserted == 2, report.problems
    assert report.format == "shapefile"
    got = db.execute(
        text(
            "SELECT model_type, status, budget_allocated_vnd, ST_X(geom), ST_Y(geom) FROM livelihood_models WHERE code = 'T-MH-1'"
        )
    ).one()
    assert got[:3] == ("free_range_chicken", "active", 150_000_000)
    assert abs(got[3] - float(place["clon"])) < 1e-7 and abs(got[4] - float(place["clat"])) < 1e-7  # type: ignore[arg-type]
    assert any("VN-2000 datum shift" in n for n in report.notes)


def test_works_geojson_and_water_schemes_gpkg_with_their_households(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    lon, lat = float(place["clon"]), float(place["clat"])  # type: ignore[arg-type]
    works = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "Mã công trình": "T-CT-1",
                    "Tên công trình": "Đường thôn Nà Pàn",
                    "Loại công trình": "Đường giao thông",
                    "Trạng thái": "Đang thi công",
                    "Xã": place["current"],
                    "Kinh phí": 2_000_000_000,
                },
                "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.001, lat + 0.001]]},
            }
        ],
    }
    gj = tmp_path / "works.geojson"
    gj.write_text(json.dumps(works, ensure_ascii=False), encoding="utf-8")
    r = run_import(db, "infrastructure_works", gj, "works.geojson", SYSTEM)
    assert (r.format, r.inserted) == ("geojson", 1), r.problems
    assert db.execute(text("SELECT work_type, status FROM infrastructure_works WHERE code = 'T-CT-1'")).one() == (
        "road",
        "under_construction",
    )

    import shapely
    from pyogrio.raw import write

    served = db.execute(text("SELECT code FROM households ORDER BY id LIMIT 2")).scalars().all()
    fields = [
        np.array(["T-NS-1"], dtype=object),
        np.array(["Nước sinh hoạt Nà Pàn"], dtype=object),
        np.array([place["current"]], dtype=object),
        np.array(["Tự chảy"], dtype=object),
        np.array(["Cần sửa chữa"], dtype=object),
        np.array([";".join(served)], dtype=object),
    ]
    gpkg = tmp_path / "nuoc.gpkg"
    write(
        str(gpkg),
        np.array([shapely.to_wkb(shapely.Point(lon, lat))], dtype=object),
        fields,
        ["Mã", "Tên", "Xã", "Công nghệ", "Trạng thái", "Hộ được cấp nước"],
        geometry_type="Point",
        crs="EPSG:4326",
        driver="GPKG",
    )
    r = run_import(db, "water_schemes", gpkg, "nuoc.gpkg", SYSTEM)
    assert (r.format, r.inserted) == ("gpkg", 1), r.problems
    linked = (
        db.execute(
            text("""SELECT h.code FROM water_scheme_households x JOIN water_schemes w ON w.id = x.scheme_id
                JOIN households h ON h.id = x.household_id WHERE w.code = 'T-NS-1' ORDER BY h.code""")
        )
        .scalars()
        .all()
    )
    assert linked == sorted(served)


def test_survey_rounds_and_villages(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    codes = db.execute(text("SELECT code FROM households ORDER BY id LIMIT 2")).scalars().all()
    header = ["Mã hộ", "Năm", "Ngày điều tra", "Số nhân khẩu", "Thu nhập bình quân", "d_water", "d_latrine"]
    rows = [
        [codes[0], 2030, "01/10/2030", 4, "1.200.000", "x", ""],
        [codes[1], 2030, "2030-10-02", 5, 2_500_000, "có", "không"],
    ]
    r = run_import(db, "survey_rounds", write_csv(tmp_path / "sr.csv", header, rows), "sr.csv", SYSTEM)
    assert r.inserted == 2, r.problems
    got = db.execute(
        text("""SELECT income_per_person_month, d_water, d_latrine, source FROM survey_rounds s JOIN households h
                ON h.id = s.household_id WHERE s.year = 2030 ORDER BY h.code""")
    ).all()
    assert [tuple(g) for g in got] == [(1_200_000, True, False, "sr.csv"), (2_500_000, True, False, "sr.csv")]
    again = run_import(db, "survey_rounds", write_csv(tmp_path / "sr.csv", header, rows), "sr.csv", SYSTEM)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    v = run_import(
        db,
        "villages",
        write_csv(tmp_path / "v.csv", ["Mã thôn", "Tên thôn", "Xã"], [["T-V-1", "Thôn Nà Pàn", place["current"]]]),
        "v.csv",
        SYSTEM,
    )
    assert v.inserted == 1, v.problems


def test_participants_with_a_pass_on_chain_in_one_file(db: Session, tmp_path: Path) -> None:
    model = db.execute(text("SELECT code FROM livelihood_models ORDER BY id LIMIT 1")).scalar_one()
    hh = (
        db.execute(
            text("""SELECT code FROM households h WHERE NOT EXISTS (SELECT 1 FROM model_participants p
                JOIN livelihood_models m ON m.id = p.model_id WHERE m.code = :m AND p.household_id = h.id)
                ORDER BY id LIMIT 3"""),
            {"m": model},
        )
        .scalars()
        .all()
    )
    header = ["Mã mô hình", "Mã hộ", "Ngày tham gia", "Nhận từ hộ"]
    rows = [[model, hh[2], "2026-06-01", hh[1]], [model, hh[1], "2025-06-01", hh[0]], [model, hh[0], "2024-01-01", ""]]
    path = write_csv(tmp_path / "tv.csv", header, rows)
    r = run_import(db, "participants", path, "tv.csv", SYSTEM)
    assert (r.inserted, r.rejected) == (3, 0), r.problems
    chain = db.execute(
        text("""SELECT h.code, p.generation, g.code FROM model_participants p JOIN households h ON h.id = p.household_id
                JOIN livelihood_models m ON m.id = p.model_id AND m.code = :m
                LEFT JOIN model_participants gp ON gp.id = p.received_from_id LEFT JOIN households g ON g.id = gp.household_id
                WHERE h.code = ANY(:c) ORDER BY p.generation"""),
        {"m": model, "c": list(hh)},
    ).all()
    assert [tuple(c) for c in chain] == [(hh[0], 1, None), (hh[1], 2, hh[0]), (hh[2], 3, hh[1])]
    again = run_import(db, "participants", path, "tv.csv", SYSTEM)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_admin_units_with_validity_and_the_crosswalk(db: Session, tmp_path: Path) -> None:
    header = ["Cấp", "Mã", "Tên", "Loại", "Mã cấp trên", "Hiệu lực từ", "Hiệu lực đến", "wkt"]
    sq = "MULTIPOLYGON(((107.9 22.9, 107.95 22.9, 107.95 22.95, 107.9 22.95, 107.9 22.9)))"
    rows = [
        ["Xã", "99801", "Xã Thử Cũ", "Xã", "20", "2008-01-01", "2025-06-30", sq],
        ["Phường", "99801", "Phường Thử", "Phường", "20", "2025-07-01", "", sq],
    ]
    r = run_import(db, "admin_units", write_csv(tmp_path / "dv.csv", header, rows), "dv.csv", SYSTEM)
    assert r.inserted == 2, r.problems
    got = db.execute(
        text("""SELECT u.boundary, u.area_type, u.valid_to::text, p.level FROM admin_units u JOIN admin_units p
                ON p.id = u.parent_id WHERE u.code = '99801' ORDER BY u.valid_from""")
    ).all()
    assert [tuple(g) for g in got] == [
        ("legacy", "rural", "2025-06-30", "province"),
        ("current", "urban", None, "province"),
    ]
    cw = run_import(
        db,
        "admin_crosswalk",
        write_csv(
            tmp_path / "cw.csv", ["Mã xã cũ", "Mã xã mới", "Tỷ lệ diện tích", "Mặc định"], [["99801", "99801", 1, "x"]]
        ),
        "cw.csv",
        SYSTEM,
    )
    assert cw.inserted == 1, cw.problems
    planner = Principal(user_id=1, name="p", role="planner")
    with pytest.raises(ParameterError, match="the planner role cannot import admin_units"):
        run_import(db, "admin_units", tmp_path / "dv.csv", "dv.csv", planner)


def test_visits_from_a_kobo_export(db: Session, tmp_path: Path) -> None:
    model = db.execute(
        text("SELECT code FROM livelihood_models WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
    ).scalar_one()
    header = [
        "start",
        "end",
        "grp_main/participants_present",
        "grp_main/progress",
        "grp_main/problems",
        "grp_main/income_vnd",
        "model",
        "_location_latitude",
        "_location_longitude",
        "_location_precision",
        "meta/instanceID",
        "_id",
        "Ghi chép riêng",
    ]
    rows = [
        [
            "2026-11-20T08:00:00",
            "2026-11-20T08:40:00",
            12,
            "on_track",
            "",
            "1.500.000",
            model,
            21.85,
            106.76,
            5,
            "uuid:0b6b6c9e-8f1a-4f5e-9a51-2c4c1f0e9a01",
            1,
            "x",
        ],
        [
            "2026-11-21T08:00:00",
            "2026-11-21 09:00:00",
            3,
            "delayed",
            "thiếu giống",
            "",
            model,
            "",
            "",
            "",
            "uuid:0b6b6c9e-8f1a-4f5e-9a51-2c4c1f0e9a02",
            2,
            "",
        ],
        [
            "2026-11-22T08:00:00",
            "2026-11-22T09:00:00",
            -1,
            "stopped",
            "",
            "",
            model,
            "",
            "",
            "",
            "uuid:0b6b6c9e-8f1a-4f5e-9a51-2c4c1f0e9a03",
            3,
            "",
        ],
    ]
    path = write_csv(tmp_path / "kobo.csv", header, rows)
    r = run_import(db, "visits", path, "kobo.csv", SYSTEM)
    assert r.refused
    assert {(p.row, p.field) for p in r.errors} == {(3, "participants_present"), (3, "problems")}
    ok = run_import(db, "visits", path, "kobo.csv", SYSTEM, ImportOptions(skip_invalid=True))
    assert (ok.inserted, ok.rejected) == (2, 1), ok.problems
    assert any("form general" in n for n in ok.notes) and any("Ghi chép riêng" in n for n in ok.notes)
    stored = db.execute(
        text("""SELECT answers->>'income_vnd', accuracy_m, visited_at AT TIME ZONE 'Asia/Ho_Chi_Minh'
                FROM visits WHERE id = '0b6b6c9e-8f1a-4f5e-9a51-2c4c1f0e9a01'""")
    ).one()
    assert stored[0] == "1500000" and stored[1] == 5 and stored[2].hour == 8 and stored[2].minute == 40
    again = run_import(db, "visits", path, "kobo.csv", SYSTEM, ImportOptions(skip_invalid=True))
    assert (again.inserted, again.unchanged) == (0, 2)


def test_every_reason_and_note_of_a_bad_file_is_a_catalogued_message(db: Session, tmp_path: Path, place) -> None:  # type: ignore[no-untyped-def]
    """What a report says is made of messages the Vietnamese catalogue holds (marked with N_), so a
    page can say all of it in Vietnamese: none is an English text built on the fly."""
    from tests.webapp.test_translations import _extracted

    catalogue = _extracted()
    rows = households(place, 8)
    rows[0][4] = "bốn"  # not a whole number
    rows[1][5] = "2024-13-45"  # not a date
    rows[2][2] = "99999"  # no commune
    rows[3][6] = ""  # only one coordinate
    rows[4][6], rows[4][7] = 200, 300  # not longitude/latitude
    rows[5][1] = ""  # required
    rows[7][0] = rows[6][0]  # duplicate
    path = write_csv(tmp_path / "bad.csv", [*HEADER, "Cột lạ"], [r + ["?"] for r in rows])
    report = run_import(db, "households", path, "bad.csv", SYSTEM)
    assert report.refused and len(report.problems) == 7, report.problems
    # a CSV named .xlsx: read as CSV, with a note saying so
    renamed = run_import(db, "households", write_csv(tmp_path / "h.xlsx", HEADER, households(place)), "h.xlsx", SYSTEM)
    assert any("its content is csv" in n for n in renamed.notes)
    said = [p.reason for p in report.problems] + list(report.notes) + list(renamed.notes)
    unmarked = [str(t) for t in said if (t.msgid if isinstance(t, Message) else t) not in catalogue]
    assert unmarked == []
    assert any(isinstance(t, Message) and t.args for t in said)  # values travel beside their message
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ImportFileError) as refused:
        run_import(db, "households", tmp_path / "empty.csv", "empty.csv", SYSTEM)
    assert refused.value.reason in catalogue or getattr(refused.value.reason, "msgid", None) in catalogue


def test_every_reason_of_a_bad_visit_export_is_catalogued_or_worded_by_its_form(db: Session, tmp_path: Path) -> None:
    """A visit export's reasons, the form's answer checks among them, are catalogued messages, or
    a form's own message carrying its Vietnamese and English (a constraint message)."""
    from tests.webapp.test_translations import _extracted

    catalogue = _extracted()
    model = db.execute(
        text("SELECT code FROM livelihood_models WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
    ).scalar_one()
    header = ["end", "participants_present", "progress", "problems", "next_visit_on", "model", "_uuid", "Cột lạ"]
    uid = "uuid:7c2e0f4a-1b3d-4e5f-8a9b-0c1d2e3f40{:02d}".format
    rows = [
        ["2026-11-20T08:00:00", 12, "delayed", "", "", model, uid(1), ""],  # problems required
        ["2026-11-20T08:00:00", 12, "lost", "", "", model, uid(2), ""],  # no such choice
        ["2026-11-20T08:00:00", 900, "on_track", "", "", model, uid(3), ""],  # the form's constraint
        ["2026-11-20T08:00:00", 12, "on_track", "thiếu giống", "", model, uid(4), ""],  # not relevant
        ["2026-11-20T08:00:00", 12, "on_track", "", "2026-02-30", model, uid(5), ""],  # no such date
        ["2026-11-20T08:00:00", "mười", "on_track", "", "", model, uid(6), ""],  # not a whole number
        ["2026-11-20T08:00:00", 12, "on_track", "", "", model, "uuid:x", ""],  # not a submission id
        ["hôm qua", 12, "on_track", "", "", model, uid(8), ""],  # not a date-time
    ]
    report = run_import(db, "visits", write_csv(tmp_path / "kobo.csv", header, rows), "kobo.csv", SYSTEM)
    assert report.refused and {p.row for p in report.problems} == set(range(1, 9)), report.problems
    reasons = {(p.row, p.field): p.reason for p in report.problems}
    assert reasons[1, "problems"] == "is required" and reasons[2, "progress"].startswith("'lost' is not one of")
    assert reasons[4, "problems"] == "must be empty: it applies only when ${progress} != 'on_track'"
    assert reasons[5, "next_visit_on"] == "is not a calendar date"
    said = [p.reason for p in report.problems] + list(report.notes)
    worded = [t for t in said if isinstance(t, Message) and t.texts]
    assert [dict(t.texts) for t in worded] == [{"vi": "Từ 0 đến 500 hộ", "en": "From 0 to 500 households"}]
    unmarked = [str(t) for t in said if t not in worded and (t.msgid if isinstance(t, Message) else t) not in catalogue]
    assert unmarked == []
