"""Submissions per form and the model page: every answer labelled in the page's language,
filters, review status (set by reviewers only, audited, scoped) and CSV/XLSX export with labels."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

import openpyxl
import pytest
from sqlalchemy import text

from tests.conftest import client_for, model_in_commune

FORM = "free_range_chicken"


def _visit(client, model: str, version: str, visited_at: str, answers: dict) -> str:  # type: ignore[no-untyped-def]
    body = {"id": str(uuid.uuid4()), "model": model, "visited_at": visited_at, "form": FORM, "form_version": version}
    body |= {"location": None, "accuracy_m": None, "answers": answers}
    r = client.post("/api/visits", json=body)
    assert r.status_code == 201, r.get_json()
    return body["id"]


@pytest.fixture
def visits(app, db, accounts):
    """Two chicken visits in commune A (one an outbreak with everything answered, one 3 birds sold
    for 3 VND, confirmed as unusual) and one in commune B, sent through the API."""
    version = db.scalar(
        text("SELECT version FROM form_definitions WHERE form_id = :f ORDER BY id DESC LIMIT 1"), {"f": FORM}
    )
    _, homes = model_in_commune(
        db,
        accounts.commune_a,
        "T-SUB-A",
        FORM,
        "Gà thả vườn Bản Mười",
        start_date=date(2024, 1, 1),
        budget_vnd=1,
        households=1,
    )
    model_in_commune(
        db, accounts.commune_b, "T-SUB-B", FORM, "Gà xã B", start_date=date(2024, 1, 1), budget_vnd=1, households=1
    )
    db.flush()
    worker = client_for(app, accounts, "extension_worker")
    base = {"household_code": homes[0].code, "flock_size": 40, "deaths": 0, "vaccinations": ["newcastle", "gumboro"]}
    # 03:10 on 2 March in Vietnam is 20:10 UTC on 1 March: days are filtered in local time
    outbreak = _visit(
        worker,
        "T-SUB-A",
        version,
        "2026-03-02T03:10:00+07:00",
        {
            **base,
            "sold": 0,
            "disease_outbreak": "yes",
            "disease_signs": "Gà ủ rũ, bỏ ăn",
            "feed": "mixed",
            "notes": "Cần tiêm nhắc lại",
        },
    )
    unusual = _visit(
        worker,
        "T-SUB-A",
        version,
        "2026-02-10T09:00:00+07:00",
        {**base, "sold": 3, "sales_vnd": 3, "disease_outbreak": "no"},
    )
    other = _visit(
        client_for(app, accounts, "admin"),
        "T-SUB-B",
        version,
        "2026-03-01T09:00:00+07:00",
        {**base, "household_code": "B-1", "sold": 0, "disease_outbreak": "no"},
    )
    return {"outbreak": outbreak, "unusual": unusual, "other": other}


def test_model_page_shows_every_answer_labelled(app, accounts, visits):
    c = client_for(app, accounts, "planner")
    en = c.get("/models/T-SUB-A?lang=en").get_data(as_text=True)
    for shown in (
        "Vaccinations given",
        "Newcastle disease, Gumboro",
        "Main feed",
        "Mixed",
        "Signs observed",
        "Gà ủ rũ, bỏ ăn",
        "Notes",
        "Cần tiêm nhắc lại",
        "Received",
    ):
        assert shown in en, shown
    vi = c.get("/models/T-SUB-A?lang=vi").get_data(as_text=True)
    for shown in (
        "Đã tiêm phòng",
        "Newcastle (gà rù), Gumboro",
        "Thức ăn chủ yếu",
        "Kết hợp",
        "Triệu chứng quan sát được",
        "Đã nhận",
        "đã được cán bộ xác nhận",
    ):
        assert shown in vi, shown


def test_submissions_table_filters_and_scope(app, accounts, visits):
    c = client_for(app, accounts, "planner")
    page = c.get(f"/submissions/{FORM}?lang=en").get_data(as_text=True)
    assert visits["outbreak"] in page and visits["unusual"] in page
    assert visits["other"] not in page  # commune B is outside the planner's scope
    assert "Unusual answers confirmed by the worker: Sales income (VND)" in page
    # the local day of 03:10 on 2 March, not the UTC one
    day = c.get(f"/submissions/{FORM}?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    assert visits["outbreak"] in day and visits["unusual"] not in day
    assert visits["unusual"] in c.get(f"/submissions/{FORM}?q=Bản Mười&to=2026-02-28").get_data(as_text=True)
    admin = client_for(app, accounts, "admin").get(f"/submissions/{FORM}").get_data(as_text=True)
    assert visits["other"] in admin
    assert c.get(f"/submissions/{FORM}?from=2 March").status_code == 400
    assert c.get(f"/submissions/{FORM}?status=done").status_code == 400
    assert c.get("/submissions/no_such_form").status_code == 404
    index = c.get("/submissions?lang=en").get_data(as_text=True)
    assert f'data-form="{FORM}"' in index and "Free-range chicken visit" in index


def test_reviewers_set_the_status_audited_and_scoped(app, db, accounts, visits):
    planner = client_for(app, accounts, "planner")
    url = f"/submissions/{FORM}/{visits['unusual']}/review"
    back = f"/submissions/{FORM}?status=received"
    r = planner.post(url, data={"status": "on_hold", "note": "Hỏi lại giá bán", "back": back})
    assert r.status_code == 303 and r.headers["Location"].startswith(back)
    row = db.execute(
        text("SELECT status, note, updated_by FROM visit_reviews WHERE visit_id = :v"), {"v": visits["unusual"]}
    ).one()
    assert tuple(row) == ("on_hold", "Hỏi lại giá bán", accounts.name("planner"))
    assert planner.post(url, data={"status": "approved"}).status_code == 303
    audit = db.execute(
        text("SELECT action, actor FROM audit_log WHERE table_name = 'visit_reviews' AND row_id = :v ORDER BY id"),
        {"v": visits["unusual"]},
    ).all()
    assert [tuple(a) for a in audit] == [("insert", accounts.name("planner")), ("update", accounts.name("planner"))]
    held = planner.get(f"/submissions/{FORM}?status=approved").get_data(as_text=True)
    assert visits["unusual"] in held and visits["outbreak"] not in held
    # only reviewers; only in scope; only known statuses
    for role in ("extension_worker", "evaluator"):
        assert client_for(app, accounts, role).post(url, data={"status": "rejected"}).status_code == 403
    assert planner.post(f"/submissions/{FORM}/{visits['other']}/review", data={"status": "rejected"}).status_code == 404
    assert planner.post(url, data={"status": "done"}).status_code == 400
    assert (
        db.scalar(text("SELECT status FROM visit_reviews WHERE visit_id = :v"), {"v": visits["unusual"]}) == "approved"
    )


def test_export_with_labels_and_local_times(app, accounts, visits):
    c = client_for(app, accounts, "planner")
    r = c.get(f"/submissions/{FORM}?format=csv&lang=vi&from=2026-03-02")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["Thời điểm thăm"] == "2026-03-02T03:10:00+07:00"
    assert row["Đã tiêm phòng"] == "Newcastle (gà rù), Gumboro" and row["Thức ăn chủ yếu"] == "Kết hợp"
    assert row["Trạng thái duyệt"] == "Đã nhận" and row["Ghi chú"] == "Cần tiêm nhắc lại"
    x = c.get(f"/submissions/{FORM}?format=xlsx&lang=en")
    sheet = openpyxl.load_workbook(io.BytesIO(x.data)).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert "Visited at" in header and "Sales income (VND)" in header and "Review status" in header
    cells = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert {r["Sales income (VND)"] for r in cells} == {3, None}
    assert {r["Unusual answers confirmed"] for r in cells} == {"Sales income (VND)", None}
    assert c.get(f"/submissions/{FORM}?format=pdf").status_code == 400
