"""The sensor jobs: partitions ahead across month and year ends and retention; aggregates; gaps;
water-scheme functionality rules; rainfall bands at their edges and the alerts per commune."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from ingest.sensors import ingest_observations
from jobs import sensors as jobs
from tests.sensor_setup import make_devices, without_demo_rain

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def devices(db, accounts):
    return make_devices(db, accounts.commune_a)


def _load(db, stream: int, values: list[float], *, end: datetime = NOW, step: timedelta = timedelta(hours=1)):
    rows = [
        {"datastream": stream, "phenomenon_time": (end - step * (len(values) - 1 - i)).isoformat(), "value": v}
        for i, v in enumerate(values)
    ]
    result = ingest_observations(db, rows, channel="demo", now=end)
    assert result.rejected == [], result.rejected


def _partitions(db) -> set[str]:
    return set(
        db.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'sensor_observations'::regclass"
            )
        )
    )


def test_partitions_ahead_cross_the_year_and_old_ones_go(db):
    jobs.sensor_partitions(db, now=NOW)
    assert {"sensor_observations_2026_11", "sensor_observations_2026_12", "sensor_observations_2027_01"} <= _partitions(
        db
    )
    db.execute(text("SELECT sinhke_sensor_partition('2023-10-15')"))
    db.execute(text("SELECT sinhke_sensor_partition('2023-11-01')"))
    jobs.sensor_partitions(db, now=NOW)  # keeps 36 months: from 2023-11
    kept = _partitions(db)
    assert "sensor_observations_2023_10" not in kept and "sensor_observations_2023_11" in kept
    # a partition holds exactly its month, in UTC: the last second of the year and the first of the next
    db.execute(text("SET LOCAL timezone = 'Asia/Ho_Chi_Minh'"))
    for when, partition in (
        ("2026-12-31T23:59:59Z", "sensor_observations_2026_12"),
        ("2027-01-01T00:00:00Z", "sensor_observations_2027_01"),
    ):
        db.execute(
            text(
                "INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel) "
                "VALUES (0, :t, 1, 'demo')"
            ),
            {"t": when},
        )
        assert (
            db.scalar(
                text(
                    "SELECT tableoid::regclass::text FROM sensor_observations "
                    "WHERE datastream_id = 0 AND phenomenon_time = :t"
                ),
                {"t": when},
            )
            == partition
        )


def test_aggregates_and_gaps(db, devices):
    _load(db, devices.flow, [1.0, 2.0, 3.0, 6.0], end=NOW - timedelta(minutes=15), step=timedelta(minutes=15))
    jobs.sensor_aggregates(db, now=NOW)
    hour = db.execute(
        text("SELECT n, min, max, mean, sum FROM sensor_aggregates WHERE datastream_id = :d AND period = 'hour'"),
        {"d": devices.flow},
    ).all()
    assert [tuple(h) for h in hour] == [(4, 1.0, 6.0, 3.0, 12.0)]
    day = db.scalar(
        text("SELECT period_start FROM sensor_aggregates WHERE datastream_id = :d AND period = 'day'"),
        {"d": devices.flow},
    )
    assert day == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # the local (UTC+7) day of 20 November
    # pressure every 15 min, with a two-hour hole, and nothing for the last hour
    times = [NOW - timedelta(hours=6) + timedelta(minutes=15 * i) for i in range(21) if not 4 <= i < 12]
    rows = [{"datastream": devices.pressure, "phenomenon_time": t.isoformat(), "value": 2} for t in times]
    ingest_observations(db, rows, channel="demo", now=NOW)
    jobs.sensor_gaps(db, now=NOW)
    gaps = db.execute(
        text("SELECT gap_start, gap_end, open FROM sensor_gaps WHERE datastream_id = :d ORDER BY gap_start"),
        {"d": devices.pressure},
    ).all()
    assert [tuple(g) for g in gaps] == [
        (NOW - timedelta(hours=5, minutes=15), NOW - timedelta(hours=3), False),
        (NOW - timedelta(hours=1), NOW, True),
    ]


def _assessment(db, scheme_code: str, columns: str):
    """Columns of a scheme's assessment (``s``) and of the scheme (``w``)."""
    return db.execute(
        text(
            f"SELECT {columns} FROM sensor_scheme_status s JOIN water_schemes w ON w.id = s.scheme_id WHERE w.code = :c"
        ),
        {"c": scheme_code},
    ).one()


def _status(db, scheme_code: str):
    return _assessment(db, scheme_code, "s.status, s.reasons, s.detail")


def _messages(db, scheme_code: str):
    """The assessment's reasons as stored messages, and the scheme's recorded ones."""
    return _assessment(db, scheme_code, "s.detail_messages, w.status_reason_messages")


def test_no_flow_for_three_days_is_not_functional(db, devices):
    _load(db, devices.flow, [0.0] * (3 * 24 - 1))
    _load(db, devices.pressure, [2.0] * 24)
    jobs.scheme_functionality(db, now=NOW)
    status, reasons, detail = _status(db, devices.scheme_code)
    assert (status, reasons) == ("not_functional", ["no_flow"]) and "no flow for 3 days" in detail
    # the facts beside the English text, to word it in any language; the scheme records the same
    assessed, recorded = _messages(db, devices.scheme_code)
    assert assessed == [{"msgid": "no flow for {days} days", "args": {"days": "3"}, "text": "no flow for 3 days"}]
    assert recorded == assessed
    # a province's own rules are its numbers
    jobs.scheme_functionality(db, now=NOW, rules=jobs.FunctionalityRules(no_flow_days=2))
    assert _status(db, devices.scheme_code)[2] == "no flow for 2 days"
    assert _messages(db, devices.scheme_code)[0][0]["args"] == {"days": "2"}
    _load(db, devices.flow, [0.4], end=NOW + timedelta(minutes=-30))  # a trickle: it flows
    jobs.scheme_functionality(db, now=NOW)
    assert _status(db, devices.scheme_code)[0] == "functional"


def test_pressure_out_of_range_and_an_empty_tank_are_partial_and_visits_count(db, devices):
    from spatial.sensors import add_datastream

    _load(db, devices.flow, [5.0] * 24)
    _load(db, devices.pressure, [0.2] * 13 + [2.0] * 11)  # 13 of 24 below 0.5 bar
    tank = add_datastream(db, devices.meter, "tank_level", interval_s=3600).id
    _load(db, tank, [3.0] * 8)
    jobs.scheme_functionality(db, now=NOW)
    status, reasons, detail = _status(db, devices.scheme_code)
    assert status == "partially_functional" and reasons == ["pressure_out_of_range", "tank_empty"]
    assert "13 of 24 readings of the last day" in detail
    assessed, recorded = _messages(db, devices.scheme_code)
    assert [(m["msgid"], m["args"]) for m in assessed] == [
        (
            "pressure outside {low}–{high} bar in {outside} of {readings} readings of the last day",
            {"low": "0.5", "high": "8", "outside": "13", "readings": "24"},
        ),
        ("tank below {level} for {hours} hours", {"level": "5 %", "hours": "6"}),
    ]
    assert "; ".join(m["text"] for m in assessed) == detail and recorded == assessed
    # a visit report saying it does not work, within 30 days, makes it not functional
    db.execute(
        text("""
        INSERT INTO visits (id, scheme_id, commune_id, visited_at, form_id, form_version, answers, body_sha256,
                            root_id, submitted_by)
        SELECT v.id, w.id, w.commune_id, :t, f.form_id, f.version, '{"status": "not_functional"}', repeat('0', 64),
               v.id, 'test'
        FROM water_schemes w, (SELECT gen_random_uuid() AS id) v,
             (SELECT form_id, version FROM form_definitions ORDER BY form_id, version LIMIT 1) f
        WHERE w.code = :c"""),
        {"c": devices.scheme_code, "t": NOW - timedelta(days=2)},
    )
    jobs.scheme_functionality(db, now=NOW)
    status, reasons, detail = _status(db, devices.scheme_code)
    assert status == "not_functional" and reasons[-1] == "visit_not_functional"
    assert detail.endswith("visit report: not functional")
    assessed, recorded = _messages(db, devices.scheme_code)
    assert assessed[-1] == {"msgid": "visit report: not functional", "args": {}, "text": "visit report: not functional"}
    assert len(assessed) == 3 and recorded == assessed


@pytest.mark.parametrize(
    ("mm", "band"),
    [(99.9, 0), (100.0, 1), (150.0, 1), (200.0, 1), (200.1, 2), (400.0, 2), (400.1, 3), (650.0, 3)],
)
def test_rainfall_bands_of_decision_18_2021_at_their_edges(mm, band):
    assert jobs.rain_band(mm) == band


@pytest.mark.parametrize(("total", "band"), [(100.0, 1), (200.0, 1), (400.0, 2), (400.5, 3)])
def test_a_commune_with_a_gauge_gets_the_band_of_its_24_hours(db, devices, accounts, total, band):
    without_demo_rain(db)
    # 24 hourly readings summing to the total, and heavier rain 30 hours ago (in 72 h, not in 24 h)
    _load(db, devices.rain, [total / 24] * 24)
    _load(db, devices.rain, [50.0], end=NOW - timedelta(hours=30))
    jobs.rainfall_alerts(db, now=NOW)
    row = db.execute(
        text("""SELECT a.rain_24h_mm, a.rain_72h_mm, a.band, a.risk_level, a.method, a.households,
                                    a.susceptibility
                             FROM sensor_rain_alerts a JOIN admin_units c ON c.id = a.commune_id
                             WHERE c.code = :c AND a.computed_for = :t"""),
        {"c": accounts.commune_a, "t": NOW},
    ).one()
    assert row.rain_24h_mm == pytest.approx(total) and row.rain_72h_mm == pytest.approx(total + 50)
    assert row.band == band  # the test gauge stands at the centre: nearest and IDW both give its value
    assert row.risk_level == jobs.risk_level(band, row.susceptibility) and row.risk_level >= 1
    assert row.households > 0


def test_several_gauges_near_a_commune_are_weighted_by_inverse_distance():
    assert jobs.idw([(100.0, 1000.0), (400.0, 2000.0)]) == pytest.approx((100 / 1 + 400 / 4) / (1 + 1 / 4))
    assert jobs.idw([(100.0, 0.0), (400.0, 2000.0)]) == 100.0
    assert jobs.idw([(100.0, 0.0), (300.0, 0.5), (400.0, 2000.0)]) == 200.0
    # Art. 46 cl. 1, region 2: 100–200 mm is level 1 in a medium zone and no level in a low one
    assert [jobs.risk_level(1, s) for s in (None, 1, 3, 4, 5)] == [1, 0, 1, 2, 2]
    assert jobs.risk_level(0, 5) == 0 and jobs.risk_level(3, 5) == 3


def test_a_scheme_that_stops_working_deprives_its_households_of_domestic_water(db, devices):
    """End to end on the database: the meters stop the scheme, scheme_functionality writes its status
    with the reason, classify_households counts the household's latest round deprived of domestic
    water (which tips it from near-poor into poor), and the scheme flowing again undoes it."""
    from jobs.classify import classify_households

    scheme_id = db.scalar(text("SELECT id FROM water_schemes WHERE code = :c"), {"c": devices.scheme_code})
    # one household served by this scheme only, whose latest survey said it had water, with two other
    # deprivations and an income on the line: near-poor, one deprivation short of poor
    household = db.scalar(text("SELECT min(household_id) FROM survey_rounds"))
    db.execute(text("DELETE FROM water_scheme_households WHERE household_id = :h"), {"h": household})
    db.execute(
        text("INSERT INTO water_scheme_households (scheme_id, household_id) VALUES (:s, :h)"),
        {"s": scheme_id, "h": household},
    )
    rounds = db.execute(
        text("SELECT id, year FROM survey_rounds WHERE household_id = :h ORDER BY year"), {"h": household}
    ).all()
    assert len(rounds) >= 2
    latest, earlier = rounds[-1].id, rounds[0].id
    for rid in (latest, earlier):
        db.execute(
            text("""
            UPDATE survey_rounds r SET d_water = false, d_employment = true, d_nutrition = true,
              d_dependants = false, d_health_insurance = false, d_adult_education = false, d_child_school = false,
              d_housing_quality = false, d_floor_area = false, d_latrine = false, d_telecom = false,
              d_info_assets = false,
              income_per_person_month = (
                SELECT l.income_line FROM poverty_standards s
                JOIN poverty_lines l ON l.standard_id = s.id AND l.area_type = 'rural'
                WHERE r.year BETWEEN s.first_year AND s.last_year)
            WHERE id = :r"""),
            {"r": rid},
        )
    db.execute(
        text(
            "UPDATE admin_units SET area_type = 'rural' WHERE id IN (SELECT commune_id FROM household_units WHERE household_id = :h)"
        ),
        {"h": household},
    )

    def classification(rid: int):
        return db.execute(
            text("SELECT status, deprivations, water_reason FROM poverty_classifications WHERE survey_round_id = :r"),
            {"r": rid},
        ).one()

    _load(db, devices.flow, [5.0] * 24)
    jobs.scheme_functionality(db, now=NOW)
    classify_households(db)
    assert tuple(classification(latest)) == ("near_poor", 2, None)
    before = tuple(classification(earlier))
    assert db.scalar(text("SELECT status FROM water_schemes WHERE id = :s"), {"s": scheme_id}) == "functional"

    # no flow for three days: not functional, and the household has no domestic water at the next run
    _load(db, devices.flow, [0.0] * (3 * 24 - 1), end=NOW + timedelta(days=3))
    jobs.scheme_functionality(db, now=NOW + timedelta(days=3))
    scheme = db.execute(
        text("SELECT status, status_reason, status_reported_on FROM water_schemes WHERE id = :s"), {"s": scheme_id}
    ).one()
    assert scheme.status == "not_functional" and "no flow for 3 days" in scheme.status_reason
    classify_households(db)
    status, deprivations, reason = classification(latest)
    assert (status, deprivations) == ("poor", 3)
    assert reason.startswith(f"{devices.scheme_code} ({scheme.status_reported_on}): ") and "no flow" in reason
    assert tuple(classification(earlier)) == before  # an earlier survey keeps its answer
    # a second scheme that works serves the household: it has water
    other = db.scalar(
        text("SELECT id FROM water_schemes WHERE status = 'functional' AND id <> :s ORDER BY id LIMIT 1"),
        {"s": scheme_id},
    )
    db.execute(
        text("INSERT INTO water_scheme_households (scheme_id, household_id) VALUES (:s, :h)"),
        {"s": other, "h": household},
    )
    classify_households(db)
    assert tuple(classification(latest)) == ("near_poor", 2, None)
    db.execute(
        text("DELETE FROM water_scheme_households WHERE scheme_id = :s AND household_id = :h"),
        {"s": other, "h": household},
    )
    classify_households(db)
    assert classification(latest).status == "poor"

    # it flows again: functional, and the household's water comes back with the next run
    later = NOW + timedelta(days=4)
    _load(db, devices.flow, [4.0] * 24, end=later)
    jobs.scheme_functionality(db, now=later)
    assert db.execute(
        text("SELECT status_reason, status_reason_messages FROM water_schemes WHERE id = :s"), {"s": scheme_id}
    ).one() == (None, None)
    assert (
        db.scalar(
            text("SELECT detail_messages FROM sensor_scheme_status WHERE scheme_id = :s AND assessed_on = :d"),
            {"s": scheme_id, "d": later.date()},
        )
        == []
    )
    classify_households(db)
    assert tuple(classification(latest)) == ("near_poor", 2, None)


def test_the_risk_matrix_is_whole_and_grows_with_rain_and_susceptibility():
    zones = ("low", "medium", "high", "very_high")
    assert set(jobs.RISK_MATRIX) == {band for band, *_ in jobs.RAIN_BANDS} == {1, 2, 3}
    for band, row in jobs.RISK_MATRIX.items():
        assert list(row) == list(zones)
        assert [row[z] for z in zones] == sorted(row[z] for z in zones), band  # never lower on worse slopes
        if band > 1:
            assert all(row[z] >= jobs.RISK_MATRIX[band - 1][z] for z in zones), band  # nor with more rain
    # classes 0-2 of the raster are the low zone, 3-5 medium, high, very high; Art. 46 cl. 1, region
    # 2: 200–400 mm in a low zone is level 1
    assert [jobs.risk_level(2, c) for c in range(6)] == [1, 1, 1, 2, 2, 3]
