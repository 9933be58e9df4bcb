"""classify_households on hand-worked households at every threshold edge.

Built from scratch in an empty database: a rural and an urban commune on both
boundary versions, plus one commune that was a xã (rural) before 1 July 2025 and is
a phường (urban) after, so the area type follows the unit valid at the survey date.
"""

from datetime import date

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import select, update

from jobs.classify import classify_households
from jobs.placement import place_households
from spatial.models import (
    CURRENT_VALID_FROM,
    LEGACY_VALID_TO,
    AdminUnit,
    Household,
    PovertyClassification,
    PovertyLine,
    PovertyStandard,
    SurveyRound,
)

LEGACY_FROM = date(2008, 8, 1)


def _unit(db, level, code, name, unit_type, area_type, boundary, parent, geom):
    legacy = boundary == "legacy"
    u = AdminUnit(
        level=level,
        code=code,
        name=name,
        unit_type=unit_type,
        area_type=area_type,
        boundary=boundary,
        parent_id=parent.id if parent else None,
        valid_from=LEGACY_FROM if legacy else CURRENT_VALID_FROM,
        valid_to=LEGACY_VALID_TO if legacy else None,
        geom=from_shape(MultiPolygon([geom]), srid=4326),
    )
    db.add(u)
    db.flush()
    return u


@pytest.fixture
def communes(empty_db):
    a, b, c = box(100.0, 10.0, 100.1, 10.1), box(100.2, 10.0, 100.3, 10.1), box(100.4, 10.0, 100.5, 10.1)
    allp = box(100.0, 10.0, 100.5, 10.1)
    p_old = _unit(empty_db, "province", "99", "Tỉnh Thử", "Tỉnh", "rural", "legacy", None, allp)
    d_old = _unit(empty_db, "district", "999", "Huyện Thử", "Huyện", "rural", "legacy", p_old, allp)
    p_new = _unit(empty_db, "province", "99", "Tỉnh Thử", "Tỉnh", "rural", "current", None, allp)
    units = {
        "rural": (
            _unit(empty_db, "commune", "99001", "Xã Một", "Xã", "rural", "legacy", d_old, a),
            _unit(empty_db, "commune", "99001", "Xã Một", "Xã", "rural", "current", p_new, a),
        ),
        "urban": (
            _unit(empty_db, "commune", "99002", "Phường Hai", "Phường", "urban", "legacy", d_old, b),
            _unit(empty_db, "commune", "99002", "Phường Hai", "Phường", "urban", "current", p_new, b),
        ),
        "became_urban": (
            _unit(empty_db, "commune", "99003", "Xã Ba", "Xã", "rural", "legacy", d_old, c),
            _unit(empty_db, "commune", "99003", "Phường Ba", "Phường", "urban", "current", p_new, c),
        ),
    }
    centres = {"rural": (100.05, 10.05), "urban": (100.25, 10.05), "became_urban": (100.45, 10.05)}
    return units, centres


def _household_round(db, communes, kind, year, income, deprivations):
    units, centres = communes
    n = db.scalar(select(Household.id).order_by(Household.id.desc()).limit(1)) or 0
    h = Household(
        code=f"T{n + 1:05d}",
        geom=from_shape(Point(*centres[kind]), srid=4326),
        commune_id=units[kind][0].id,
        head_name="Hoàng Văn Thử",
        members=4,
        registered_on=date(2020, 1, 1),
    )
    db.add(h)
    db.flush()
    r = SurveyRound(
        household_id=h.id,
        year=year,
        surveyed_on=date(year, 11, 15),
        members=4,
        income_per_person_month=income,
        source="test",
        **{name: True for name in deprivations},
    )
    db.add(r)
    db.flush()
    return r.id


THREE = ("d_water", "d_latrine", "d_telecom")
TWO = ("d_water", "d_latrine")
# (area, year, income VND/person/month, deprivations, expected status)
CASES = [
    # 2022–2025 standard (Decree 07/2021): 1.5 m rural, 2.0 m urban, ≥ 3 of 12
    ("rural", 2023, 1_500_000, THREE, "poor"),
    ("rural", 2023, 1_500_000, TWO, "near_poor"),
    ("rural", 2023, 1_499_999, THREE, "poor"),
    ("rural", 2023, 1_500_001, THREE + ("d_floor_area", "d_nutrition"), "not_poor"),
    ("rural", 2023, 0, (), "near_poor"),
    ("urban", 2023, 2_000_000, THREE, "poor"),
    ("urban", 2023, 2_000_000, TWO, "near_poor"),
    ("urban", 2023, 2_000_001, THREE, "not_poor"),
    ("urban", 2023, 1_600_000, (), "near_poor"),
    # 2016–2020 standard, still used for 2021: absolute line, then line with ≥ 3 of its indicators
    ("rural", 2021, 700_000, (), "poor"),
    ("rural", 2021, 700_001, TWO, "near_poor"),
    ("rural", 2021, 1_000_000, THREE, "poor"),
    ("rural", 2021, 1_000_000, ("d_employment", "d_dependants", "d_nutrition"), "near_poor"),
    ("rural", 2021, 1_000_001, THREE, "not_poor"),
    ("urban", 2021, 900_000, (), "poor"),
    ("urban", 2021, 900_001, TWO, "near_poor"),
    ("urban", 2021, 1_300_001, THREE, "not_poor"),
    # 2026–2030 standard from 2027: 2.2 m rural; information assets no longer counted
    ("rural", 2027, 2_200_000, THREE, "poor"),
    ("rural", 2027, 2_200_000, ("d_water", "d_latrine", "d_info_assets"), "near_poor"),
    ("rural", 2027, 2_200_001, THREE, "not_poor"),
    ("urban", 2027, 2_800_000, THREE, "poor"),
    # area type follows the commune valid at the survey date: xã until mid-2025, phường after
    ("became_urban", 2024, 1_800_000, THREE, "not_poor"),
    ("became_urban", 2025, 1_800_000, THREE, "poor"),
]


def test_every_threshold_edge(empty_db, communes):
    ids = [
        (_household_round(empty_db, communes, area, year, income, dep), expected)
        for area, year, income, dep, expected in CASES
    ]
    place_households(empty_db)
    written = classify_households(empty_db)
    assert written == len(CASES)
    got = dict(empty_db.execute(select(PovertyClassification.survey_round_id, PovertyClassification.status)).all())
    mismatches = [
        (CASES[i][:4], expected, got.get(rid)) for i, (rid, expected) in enumerate(ids) if got.get(rid) != expected
    ]
    assert mismatches == []
    # idempotent: a second run changes nothing
    assert classify_households(empty_db) == 0


def test_changing_a_standard_reclassifies(empty_db, communes):
    rid = _household_round(empty_db, communes, "rural", 2023, 1_600_000, THREE)
    place_households(empty_db)
    classify_households(empty_db)
    assert empty_db.get(PovertyClassification, rid).status == "not_poor"
    std = empty_db.scalar(select(PovertyStandard).where(PovertyStandard.code == "2022-2025"))
    empty_db.execute(
        update(PovertyLine)
        .where(PovertyLine.standard_id == std.id, PovertyLine.area_type == "rural")
        .values(income_line=1_700_000)
    )
    assert classify_households(empty_db) == 1
    empty_db.expire_all()
    assert empty_db.get(PovertyClassification, rid).status == "poor"


def test_deprivation_count_recorded(empty_db, communes):
    rid = _household_round(empty_db, communes, "urban", 2022, 5_000_000, THREE + ("d_info_assets",))
    place_households(empty_db)
    classify_households(empty_db)
    row = empty_db.get(PovertyClassification, rid)
    assert (row.deprivations, row.area_type, row.status) == (4, "urban", "not_poor")
