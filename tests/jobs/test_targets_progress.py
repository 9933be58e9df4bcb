"""targets_progress at its edges: no target, met exactly, negative progress, no data, zero allocation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from jobs.targets_progress import period_share, status_of, targets_progress

AS_OF = date(2025, 7, 2)


def _unit(db, code):
    return db.scalar(text("SELECT id FROM admin_units WHERE code = :c AND boundary = 'current'"), {"c": code})


def _target(db, unit, year, indicator, value, baseline=None, part=None):
    db.execute(
        text("""INSERT INTO targets (unit_id, year, indicator, value, baseline_year, part_id)
                VALUES (:u, :y, :i, :v, :b, :p)"""),
        {"u": unit, "y": year, "i": indicator, "v": value, "b": baseline, "p": part},
    )


def _progress(db, unit, year, indicator):
    return db.execute(
        text("""SELECT target, achieved, expected, gap, status FROM target_progress
                WHERE unit_id = :u AND year = :y AND indicator = :i AND part_id IS NULL"""),
        {"u": unit, "y": year, "i": indicator},
    ).one()


def test_path_and_status_rules():
    assert period_share(2025, 2025, date(2025, 1, 1)) == 0
    assert period_share(2025, 2025, date(2026, 1, 1)) == 1
    assert 0.49 < period_share(2025, 2025, AS_OF) < 0.51
    assert status_of(None, 3, 1) == "no_target"
    assert status_of(5, None, 1) == "no_data"
    assert status_of(5, 5, 2.5) == "met"
    assert status_of(5, 3, 2.5) == "on_track"
    assert status_of(5, 2, 2.5) == "lagging"


def _clear(db):
    """The demo's own targets and money out of the way (rolled back with the test)."""
    db.execute(text("DELETE FROM targets"))
    db.execute(text("DELETE FROM allocations"))


def test_targets_at_their_edges(db, accounts):
    _clear(db)
    a = _unit(db, accounts.commune_a)
    # met exactly: the works completed in 2024 in commune A, counted here on their own
    works = db.scalar(
        text("""SELECT count(*) FROM infrastructure_works w JOIN asset_units au ON au.asset_kind = 'work'
                AND au.asset_id = w.id WHERE au.commune_id = :u AND w.status = 'completed'
                AND extract(year FROM w.completion_date) = 2024"""),
        {"u": a},
    )
    _target(db, a, 2024, "works_completed", works)
    # negative progress: the poverty rate of 2024 made higher than 2023's
    db.execute(text("UPDATE area_indicators SET poor = households WHERE unit_id = :u AND year = 2024"), {"u": a})
    _target(db, a, 2024, "poverty_rate_reduction", 2.0)
    # no data: a year nobody has reviewed yet
    _target(db, a, 2031, "poverty_rate_reduction", 1.5)
    # half-way through 2025: households with water far above what exists is lagging
    _target(db, a, 2025, "households_with_water", 1_000_000)
    db.flush()
    targets_progress(db, AS_OF)

    met = _progress(db, a, 2024, "works_completed")
    assert met.achieved == works == met.target and met.status == "met"
    falling = _progress(db, a, 2024, "poverty_rate_reduction")
    assert falling.achieved < 0 and falling.status == "lagging" and falling.gap == pytest.approx(2.0 - falling.achieved)
    assert _progress(db, a, 2031, "poverty_rate_reduction").status == "no_data"
    water = _progress(db, a, 2025, "households_with_water")
    assert water.status == "lagging" and water.expected == pytest.approx(1_000_000 * period_share(2025, 2025, AS_OF))
    # no target: every other indicator of the current year, and every other commune
    assert _progress(db, a, 2025, "works_completed").status == "no_target"
    b = _unit(db, accounts.commune_b)
    assert {r.status for r in db.execute(text("SELECT status FROM target_progress WHERE unit_id = :u"), {"u": b})} == {
        "no_target"
    }
    # idempotent: a second run gives the same rows
    before = db.execute(text("SELECT count(*), sum(coalesce(achieved, 0)) FROM target_progress")).one()
    targets_progress(db, AS_OF)
    assert db.execute(text("SELECT count(*), sum(coalesce(achieved, 0)) FROM target_progress")).one() == before


def test_disbursement_rates(db, accounts):
    _clear(db)
    a = _unit(db, accounts.commune_a)
    parts = dict(db.execute(text("SELECT code, id FROM programme_parts WHERE programme_id = 1")).all())
    rows = [
        (parts["1"], 2024, "central", 1_000_000_000, 950_000_000),  # on track
        (parts["1"], 2024, "local", 0, 0),
        (parts["2"], 2024, "central", 1_000_000_000, 100_000_000),  # low
        (parts["3.1"], 2024, "central", 0, 0),  # nothing allocated
        (parts["4.3"], 2025, "central", 1_000_000_000, 450_000_000),  # 45 % at mid-year (>= 80 % of 50 %)
    ]
    for part, year, source, allocated, disbursed in rows:
        db.execute(
            text("""INSERT INTO allocations (part_id, unit_id, year, source, allocated_vnd, disbursed_vnd)
                    VALUES (:p, :u, :y, :s, :a, :d)"""),
            {"p": part, "u": a, "y": year, "s": source, "a": allocated, "d": disbursed},
        )
    db.flush()
    targets_progress(db, AS_OF)
    got = {
        (r.part_id, r.year): (r.rate, r.status)
        for r in db.execute(text("SELECT * FROM disbursement_progress WHERE unit_id = :u"), {"u": a})
    }
    assert got[(parts["1"], 2024)] == (pytest.approx(0.95), "on_track")
    assert got[(parts["2"], 2024)] == (pytest.approx(0.1), "low")
    assert got[(parts["3.1"], 2024)] == (None, "no_allocation")
    assert got[(parts["4.3"], 2025)] == (pytest.approx(0.45), "on_track")


def test_money_must_be_whole_and_not_negative(db, accounts):
    from sqlalchemy.exc import IntegrityError

    a = _unit(db, accounts.commune_a)
    part = db.scalar(text("SELECT id FROM programme_parts WHERE code = '1' AND programme_id = 1"))
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            text("""INSERT INTO allocations (part_id, unit_id, year, source, allocated_vnd)
                    VALUES (:p, :u, 2024, 'central', -1)"""),
            {"p": part, "u": a},
        )
