"""The upload page: who may use it, the report it shows, its CSV download, the size limit."""

from __future__ import annotations

import io

from sqlalchemy import text

from tests.conftest import client_for

HEADER = "Mã hộ,Họ và tên chủ hộ,Xã,Số nhân khẩu,Ngày đăng ký,Kinh độ,Vĩ độ\n"


def _point(db, code):  # type: ignore[no-untyped-def]
    return db.execute(
        text(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM admin_units "
            "WHERE level = 'commune' AND boundary = 'current' AND code = :c"
        ),
        {"c": code},
    ).one()


def test_planner_imports_into_their_commune_and_reads_the_report(app, db, accounts) -> None:  # type: ignore[no-untyped-def]
    x, y = _point(db, accounts.commune_a)
    bx, by = _point(db, accounts.commune_b)
    body = (
        HEADER
        + f"W-1,Lò Văn Tư,{accounts.commune_a},4,2025-09-01,{x},{y}\n"
        + f"W-2,Lò Văn Năm,{accounts.commune_b},4,2025-09-01,{bx},{by}\n"
    )
    planner = client_for(app, accounts, "planner")
    assert planner.get("/imports").status_code == 200
    r = planner.post(
        "/imports",
        data={"layer": "households", "file": (io.BytesIO(body.encode()), "ho.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    page = planner.get(r.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and ("Refused" in html or "Từ chối" in html)
    assert accounts.commune_b in html  # the rejected row's value, on the page
    csv_body = planner.get(r.headers["Location"] + "/problems.csv")
    lines = csv_body.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "row,field,value,reason,repaired" and lines[1].startswith("2,commune,")
    assert db.execute(text("SELECT count(*) FROM households WHERE code LIKE 'W-%'")).scalar_one() == 0
    r = planner.post(
        "/imports",
        data={"layer": "households", "skip_invalid": "1", "file": (io.BytesIO(body.encode()), "ho.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    assert db.execute(text("SELECT code FROM households WHERE code LIKE 'W-%'")).scalars().all() == ["W-1"]
    # another user's import is not theirs to read
    admin = client_for(app, accounts, "admin")
    assert admin.get(r.headers["Location"]).status_code == 200
    other = db.execute(text("SELECT min(id) FROM imports")).scalar_one()
    worker = client_for(app, accounts, "extension_worker")
    assert worker.get("/imports").status_code == 403
    assert worker.get(f"/imports/{other}").status_code == 403


def test_bad_uploads_are_400s_and_too_large_is_413(app, accounts, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    admin = client_for(app, accounts, "admin")
    r = admin.post("/imports", data={"layer": "households"}, content_type="multipart/form-data")
    assert r.status_code == 400 and "file: choose a file" in r.get_data(as_text=True)
    r = admin.post(
        "/imports",
        data={"layer": "nope", "file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "layer: nothing imports into" in r.get_data(as_text=True)
    r = admin.post(
        "/imports?lang=en",
        data={"layer": "households", "file": (io.BytesIO(b""), "x.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "x.csv: the file is empty" in r.get_data(as_text=True)
    assert admin.get("/imports/abc").status_code == 400
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    r = admin.post(
        "/imports",
        data={"layer": "households", "file": (io.BytesIO(b"x" * 5000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413


def test_a_running_import_shows_its_progress_and_polls_it(app, db, accounts, demo_settings) -> None:  # type: ignore[no-untyped-def]
    """The report page of an import still running (as the upload of a large file leaves it): its
    phase and rows of about how many, the poll address; the JSON the page polls; the list."""
    from ingest.importing import set_progress, start_import
    from spatial.accounts import get_user, principal

    planner = client_for(app, accounts, "planner")
    who = principal(get_user(db, accounts.name("planner")))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text(HEADER + "".join(f"R-{i},Lò Văn Tư,{accounts.commune_a},4,2025-09-01,,\n" for i in range(500)))
        import_id = start_import(db, "households", path, "lon.csv", who)
    set_progress(db, import_id, "reading", 120)
    # the import's process holds its lock while it lives (ingest.import_once): here, another connection
    from ingest.importing import ALIVE_NAMESPACE
    from spatial.db import engine_for

    alive = engine_for(demo_settings).connect()
    alive.execute(text("SELECT pg_advisory_lock(:ns, :id)"), {"ns": ALIVE_NAMESPACE, "id": import_id})
    page = planner.get(f"/imports/{import_id}?lang=vi").get_data(as_text=True)
    assert 'id="import-progress"' in page and "import_progress.js" in page
    assert "đọc tệp" in page and "120 / khoảng 500 dòng" in page
    polled = planner.get(f"/imports/{import_id}/progress").get_json()
    assert polled == {
        "id": import_id,
        "status": "running",
        "phase": "reading",
        "rows_read": 120,
        "rows_estimated": 500,
        "error": None,
    }
    assert "đang chạy" in planner.get("/imports?lang=vi").get_data(as_text=True)
    # the process dies (kill -9): its lock goes with it, and the page says the import failed
    alive.invalidate()  # its database session ends, as a killed process's does
    alive.close()
    assert planner.get(f"/imports/{import_id}/progress").get_json()["status"] == "failed"
    page = planner.get(f"/imports/{import_id}?lang=en").get_data(as_text=True)
    assert "stopped before it finished; nothing was written" in page
    worker = client_for(app, accounts, "extension_worker")
    assert worker.get(f"/imports/{import_id}/progress").status_code == 403
    assert client_for(app, accounts, "admin").get("/imports/999999999/progress").status_code == 404


def test_the_report_says_reasons_and_notes_in_the_readers_language(app, db, accounts) -> None:  # type: ignore[no-untyped-def]
    """Reasons are stored with what translates them: the page and its CSV say them in Vietnamese or
    English, values kept as written; a file refused whole says why in the reader's language too."""
    x, y = _point(db, accounts.commune_a)
    body = (
        HEADER.rstrip("\n")
        + ",Ghi chú\n"
        + f"L-1,Lò Văn Tư,{accounts.commune_a},0,2025-09-01,{x},{y},a\n"  # members below 1
        + f"L-2,Lò Văn Năm,{accounts.commune_a},4,31/02/2025,{x},{y},b\n"  # no such date
        + f"L-3,Lò Văn Sáu,{accounts.commune_a},4,2025-09-01,{x},{y},c\n"
        + f"L-3,Lò Văn Bảy,{accounts.commune_a},4,2025-09-01,{x},{y},d\n"  # duplicate key of row 3
    )
    admin = client_for(app, accounts, "admin")
    r = admin.post(
        "/imports",
        data={"layer": "households", "file": (io.BytesIO(body.encode()), "ho.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    report = r.headers["Location"]
    vi = admin.get(report + "?lang=vi").get_data(as_text=True)
    assert "nhỏ hơn 1" in vi and "không có ngày này" in vi and "trùng lặp: cùng khóa với dòng 3" in vi
    assert "các cột không được nhập" in vi and "Ghi chú" in vi  # a note, its value as written
    assert "less than 1" not in vi and "no such date" not in vi
    en = admin.get(report + "?lang=en").get_data(as_text=True)
    assert "less than 1" in en and "no such date" in en and "duplicate: the same key as row 3" in en
    assert "nhỏ hơn 1" not in en
    lines = admin.get(report + "/problems.csv?lang=vi").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "row,field,value,reason,repaired"
    assert "1,members,0,nhỏ hơn 1," in lines
    # the imports row keeps the English text beside its message: what scripts read is unchanged
    stored = db.execute(text("SELECT problems FROM imports ORDER BY id DESC LIMIT 1")).scalar_one()
    first = next(p for p in stored if p["field"] == "members")
    assert (first["reason"], first["msgid"], first["args"]) == ("less than 1", "less than {minimum}", {"minimum": "1"})
    # a file refused as a whole, on the upload page
    r = admin.post(
        "/imports?lang=vi",
        data={"layer": "households", "file": (io.BytesIO(b""), "rong.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "rong.csv: tệp rỗng" in r.get_data(as_text=True)


def test_a_visit_exports_refused_answers_are_said_in_the_readers_language(app, db, accounts) -> None:  # type: ignore[no-untyped-def]
    """A KoboToolbox export's answers refused by the form: the catalogue's reasons and the form's own
    constraint message, in Vietnamese by default and in English with ?lang=en."""
    model = db.execute(
        text("SELECT code FROM livelihood_models WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
    ).scalar_one()
    head = "start,end,grp_main/participants_present,grp_main/progress,grp_main/problems,model,meta/instanceID\n"
    body = (
        head
        + f"2026-11-20T08:00:00,2026-11-20T08:40:00,12,delayed,,{model},uuid:5a1f0e2c-0d3b-4c6e-9f10-7a2b3c4d5e01\n"
        + f"2026-11-21T08:00:00,2026-11-21T08:40:00,12,lost,,{model},uuid:5a1f0e2c-0d3b-4c6e-9f10-7a2b3c4d5e02\n"
        + f"2026-11-22T08:00:00,2026-11-22T08:40:00,900,on_track,,{model},uuid:5a1f0e2c-0d3b-4c6e-9f10-7a2b3c4d5e03\n"
        + "2026-11-23T08:00:00,2026-11-23T08:40:00,12,on_track,,NO-SUCH,uuid:5a1f0e2c-0d3b-4c6e-9f10-7a2b3c4d5e04\n"
    )
    admin = client_for(app, accounts, "admin")
    r = admin.post(
        "/imports",
        data={"layer": "visits", "file": (io.BytesIO(body.encode()), "kobo.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    report = r.headers["Location"]
    vi = admin.get(report).get_data(as_text=True)
    assert "bắt buộc phải trả lời" in vi  # row 1: problems is required when progress is delayed
    assert "&#39;lost&#39; không phải là một trong các lựa chọn on_track, delayed, stopped" in vi
    assert "Từ 0 đến 500 hộ" in vi  # the form's own Vietnamese
    assert "không có mô hình sinh kế nào mã &#39;NO-SUCH&#39;" in vi  # row 4: the visit check's own reason
    assert "is required" not in vi and "is not one of" not in vi and "From 0 to 500 households" not in vi
    en = admin.get(report + "?lang=en").get_data(as_text=True)
    assert "is required" in en and "&#39;lost&#39; is not one of on_track, delayed, stopped" in en
    assert "From 0 to 500 households" in en and "Từ 0 đến 500 hộ" not in en
    assert "no livelihood model with code &#39;NO-SUCH&#39;" in en
    lines = admin.get(report + "/problems.csv?lang=vi").get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert "3,participants_present,,Từ 0 đến 500 hộ," in lines
    # the imports row keeps the English text, and what says it in each language
    stored = db.execute(text("SELECT problems FROM imports ORDER BY id DESC LIMIT 1")).scalar_one()
    by_field = {p["field"]: p for p in stored}
    assert by_field["problems"]["reason"] == "is required"
    assert by_field["progress"]["args"] == {"value": "'lost'", "choices": "on_track, delayed, stopped"}
    assert by_field["participants_present"]["reason"] == "From 0 to 500 households"
    assert by_field["participants_present"]["texts"] == {"vi": "Từ 0 đến 500 hộ", "en": "From 0 to 500 households"}
