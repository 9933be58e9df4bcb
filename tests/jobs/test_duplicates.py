"""The duplicates job finds the demo's planted duplicates and double enrolments; decisions stick."""

from sqlalchemy import text

from jobs.duplicates import find_duplicates
from spatial.duplicates import review_decision
from tests.conftest import client_for


def test_finds_every_planted_case(db):
    find_duplicates(db)
    missed = (
        db.execute(
            text("""
        SELECT t.key FROM demo_truth t
        JOIN households dup ON dup.code = t.key JOIN households orig ON orig.code = t.detail ->> 'original'
        WHERE t.kind = 'planted_duplicate_household' AND NOT EXISTS (
            SELECT 1 FROM duplicate_candidates d WHERE d.kind = 'household_pair' AND d.current
              AND d.household_a = least(orig.id, dup.id) AND d.household_b = greatest(orig.id, dup.id))
    """)
        )
        .scalars()
        .all()
    )
    assert missed == []
    same_card = db.scalar(
        text("""
        SELECT count(*) FROM duplicate_candidates WHERE reasons ? 'same ID-card number'""")
    )
    planted_same_card = db.scalar(
        text("""
        SELECT count(*) FROM demo_truth WHERE kind = 'planted_duplicate_household'
          AND (detail ->> 'same_id_card')::boolean""")
    )
    assert same_card == planted_same_card  # ID cards are unique otherwise
    enrolments = set(
        db.execute(text("SELECT household_a FROM duplicate_candidates WHERE kind = 'double_enrolment'")).scalars()
    )
    planted = {
        int(k) for k in db.execute(text("SELECT key FROM demo_truth WHERE kind = 'planted_double_enrolment'")).scalars()
    }
    assert planted and planted <= enrolments


def test_decisions_stick_across_runs(db):
    find_duplicates(db)
    cid = db.scalar(text("SELECT id FROM duplicate_candidates ORDER BY id LIMIT 1"))
    review_decision(db, cid, "distinct", "t_admin")
    before = db.scalar(text("SELECT count(*) FROM duplicate_candidates"))
    find_duplicates(db)
    assert db.scalar(text("SELECT count(*) FROM duplicate_candidates")) == before  # no new rows
    assert db.scalar(text("SELECT decision FROM duplicate_candidates WHERE id = :i"), {"i": cid}) == "distinct"


def test_review_page(app, accounts, demo_settings):
    from jobs.runner import run_job

    assert run_job(demo_settings, "duplicates").status == "succeeded"
    admin = client_for(app, accounts, "admin")
    page = admin.get("/admin/duplicates").get_data(as_text=True)
    assert "trùng số căn cước công dân" in page  # the reason in the reader's language
    assert "same ID-card number" in admin.get("/admin/duplicates?lang=en").get_data(as_text=True)
    cid = int(page.split("/admin/duplicates/")[1].split("?")[0])
    r = admin.post(f"/admin/duplicates/{cid}", data={"decision": "duplicate"})
    assert r.status_code == 303
    decided = admin.get("/admin/duplicates?show=decided").get_data(as_text=True)
    assert f"/admin/duplicates/{cid}" in decided
    assert admin.post(f"/admin/duplicates/{cid}", data={"decision": "maybe"}).status_code == 400
    assert admin.post("/admin/duplicates/999999", data={"decision": "distinct"}).status_code == 404
