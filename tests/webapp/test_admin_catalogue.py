"""Admin pages of issue #16 item 9: retiring and replacing rasters, "run now" on /admin/jobs, the audit
trail field by field with labels, role names."""

from __future__ import annotations

import re
import time

from sqlalchemy import select, text

from spatial.models import AuditEntry
from tests.conftest import client_for
from tests.ingest.test_raster_ingest import _tif, _upload


def _demo_rasters(db) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The demo's 1-in-10 and 1-in-100-year floods (both have exposure rows)."""
    rows = dict(
        db.execute(text("SELECT return_period, id FROM rasters WHERE hazard = 'flood_depth' ORDER BY id")).all()
    )
    return rows[10], rows[100]


def _exposed_model(db, raster_id: int) -> str:  # type: ignore[no-untyped-def]
    return db.scalar(
        text(
            "SELECT m.code FROM asset_exposure e JOIN livelihood_models m ON m.id = e.asset_id "
            "WHERE e.asset_kind = 'model' AND e.raster_id = :r LIMIT 1"
        ),
        {"r": raster_id},
    )


def test_a_retired_raster_leaves_lists_popups_areas_and_exposure(app, accounts, db):  # type: ignore[no-untyped-def]
    rp10, rp100 = _demo_rasters(db)
    model = _exposed_model(db, rp10)
    commune = db.scalar(
        text(
            "SELECT u.code FROM area_exposure a JOIN admin_units u ON u.id = a.unit_id "
            "WHERE a.raster_id = :r AND u.level = 'commune' AND u.boundary = 'current' LIMIT 1"
        ),
        {"r": rp10},
    )
    admin = client_for(app, accounts, "admin")
    planner = client_for(app, accounts, "planner")
    assert rp10 in {r["id"] for r in planner.get("/api/rasters").get_json()["rasters"]}

    r = admin.post(f"/admin/rasters/{rp10}/retire", data={"replaced_by": str(rp100)})
    assert r.status_code == 303 and f"retired={rp10}" in r.headers["Location"]

    listed = {r["id"] for r in planner.get("/api/rasters").get_json()["rasters"]}
    assert rp10 not in listed and rp100 in listed  # the map's hazard list and indicator menu read this
    every = {r["id"]: r for r in planner.get("/api/rasters?retired=include").get_json()["rasters"]}
    assert every[rp10]["retired_by"] == accounts.name("admin") and every[rp10]["replaced_by"] == rp100
    assert rp10 not in {x["raster"] for x in admin.get(f"/api/exposure/model/{model}").get_json()["rasters"]}
    assert rp10 not in {x["id"] for x in admin.get(f"/api/areas/{commune}").get_json()["rasters"]}
    refused = admin.get(f"/api/exposure?raster={rp10}&level=commune")
    assert refused.status_code == 400
    assert f"raster {rp10} is retired; use raster {rp100}" in refused.get_json()["error"]["message"]
    page = admin.get("/admin/rasters?lang=en").get_data(as_text=True)
    assert re.search(rf'id="raster-{rp10}"[^>]*class="raster-retired"', page)
    assert f"replaced by raster {rp100}" in page

    # audited, as every change to the catalogue
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.table_name == "rasters", AuditEntry.row_id == str(rp10))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    assert entry is not None
    assert entry.action == "update" and entry.old["retired_at"] is None and entry.new["replaced_by_id"] == rp100

    assert admin.post(f"/admin/rasters/{rp10}/restore").status_code == 303
    assert rp10 in {r["id"] for r in planner.get("/api/rasters").get_json()["rasters"]}
    assert admin.get(f"/api/exposure?raster={rp10}&level=commune").status_code == 200


def test_retiring_is_for_admins_and_checks_the_successor(app, accounts, db):  # type: ignore[no-untyped-def]
    rp10, _ = _demo_rasters(db)
    assert client_for(app, accounts, "planner").post(f"/admin/rasters/{rp10}/retire").status_code == 403
    admin = client_for(app, accounts, "admin")
    r = admin.post(f"/admin/rasters/{rp10}/retire", data={"replaced_by": str(rp10)})
    assert r.status_code == 400 and "cannot replace itself" in r.get_data(as_text=True)
    assert admin.post("/admin/rasters/999999/retire").status_code == 404


def test_an_upload_can_replace_an_entry(app, accounts, db, tmp_path):  # type: ignore[no-untyped-def]
    rp10, _ = _demo_rasters(db)
    admin = client_for(app, accounts, "admin")
    r = _upload(admin, _tif(tmp_path, "flood_rp10_v2.tif", seed=41), replaces=str(rp10))
    assert r.status_code == 303, r.get_data(as_text=True)
    added = int(re.search(r"added=(\d+)", r.headers["Location"]).group(1))
    old = admin.get(f"/api/rasters/{rp10}").get_json()
    assert old["retired_at"] is not None and old["replaced_by"] == added
    assert {r["id"] for r in admin.get("/api/rasters").get_json()["rasters"]} >= {added}


def test_audit_trail_reads_field_by_field(app, accounts, client, db):  # type: ignore[no-untyped-def]
    admin = client_for(app, accounts, "admin")
    name = accounts.name("planner")
    r = admin.post(f"/admin/users/{name}", data={"role": "evaluator", "display_name": "Chị Lan"})
    assert r.status_code == 303
    page = admin.get("/admin/audit?table=users&action=update&lang=vi").get_data(as_text=True)
    assert '<option value="users" selected>Người dùng</option>' in page  # the table by its name for people
    first = page.split('class="audit-entry"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r"<dt[^>]*>Vai trò</dt>\s*<dd><del>Cán bộ kế hoạch</del> → <ins>Cán bộ đánh giá</ins>", first)
    assert "Chị Lan" in first and "updated_at" not in first and "{" not in first  # no JSON blob, no stamps
    assert "<td>thay đổi</td>" in first


def test_audited_statuses_and_types_read_as_words(app, accounts, client, db):  # type: ignore[no-untyped-def]
    model = db.execute(
        text("SELECT id, code FROM livelihood_models WHERE status = 'active' AND model_type = 'cow_bank' LIMIT 1")
    ).one()
    db.execute(
        text("UPDATE livelihood_models SET status = 'suspended', model_type = 'buffalo_loan' WHERE id = :id"),
        {"id": model.id},
    )
    admin = client_for(app, accounts, "admin")
    page = admin.get(f"/admin/audit?table=livelihood_models&record={model.id}&lang=vi").get_data(as_text=True)
    first = page.split('class="audit-entry"', 1)[1].split("</tr>", 1)[0]
    assert "<del>Đang hoạt động</del> → <ins>Tạm dừng</ins>" in first, first
    assert "<del>Ngân hàng bò</del> → <ins>" in first and "cow_bank" not in first and "suspended" not in first


def test_every_status_of_an_audited_table_has_a_label(db) -> None:  # type: ignore[no-untyped-def]
    """Read from the CHECK constraints, so a status added by a migration without a label fails here."""
    from webapp.labels import STATUS_LABELS

    checks = db.scalars(
        text("""SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                JOIN pg_trigger t ON t.tgrelid = c.conrelid AND t.tgname LIKE '%\\_audit'
                WHERE c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%(status)::text = %'""")
    ).all()
    values = {v for check in checks for v in re.findall(r"'([a-z_]+)'::(?:text|character varying)", check)}
    assert len(values) > 10
    assert values - set(STATUS_LABELS) == set()


def test_users_page_names_roles(app, accounts):  # type: ignore[no-untyped-def]
    page = client_for(app, accounts, "admin").get("/admin/users?lang=en").get_data(as_text=True)
    assert "<td>Extension worker</td>" in page and "<td>extension_worker</td>" not in page
    assert '<option value="extension_worker">Extension worker</option>' in page


def test_every_audited_table_has_a_name_for_people(db) -> None:  # type: ignore[no-untyped-def]
    from webapp.labels import TABLE_LABELS

    audited = set(
        db.scalars(text("SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%\\_audit'"))
    )
    assert audited and audited == set(TABLE_LABELS)


def test_run_now_starts_the_job_in_its_own_process(app, accounts, db):  # type: ignore[no-untyped-def]
    admin = client_for(app, accounts, "admin")
    last = db.scalar(text("SELECT coalesce(max(id), 0) FROM job_runs WHERE job = 'duplicates'"))
    started = time.monotonic()
    r = admin.post("/admin/jobs/duplicates/run")
    assert r.status_code == 303 and "started=duplicates" in r.headers["Location"]
    assert time.monotonic() - started < 5  # the request does not wait for the job
    page = admin.get(r.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "duplicates is starting" in page and 'http-equiv="refresh"' in page
    status = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # the run commits on its own connections, as a scheduled one
        status = db.execute(
            text("SELECT status, trigger FROM job_runs WHERE job = 'duplicates' AND id > :l ORDER BY id DESC LIMIT 1"),
            {"l": last},
        ).first()
        if status is not None and status[0] != "running":
            break
        time.sleep(0.5)
    assert status is not None and tuple(status) == ("succeeded", "web")
    assert admin.post("/admin/jobs/no_such_job/run").status_code == 404
    assert client_for(app, accounts, "planner").post("/admin/jobs/duplicates/run").status_code == 403


def test_a_launched_job_gets_the_same_settings(demo_settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``Settings.environment`` is what ``from_env`` reads back: the run-now process works on the same database."""
    from dataclasses import replace

    from spatial.settings import Settings

    for name in list(__import__("os").environ):
        if name.startswith("SINHKE_"):
            monkeypatch.delenv(name)
    for name, value in demo_settings.environment().items():
        monkeypatch.setenv(name, value)
    back = Settings.from_env()
    assert replace(back, extra=demo_settings.extra, node_modules=demo_settings.node_modules) == demo_settings
