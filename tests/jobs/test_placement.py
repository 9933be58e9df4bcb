"""place_households: by point, else by recorded commune, else by crosswalk (an estimate)."""

from datetime import date

from sqlalchemy import select

from jobs.area_indicators import area_indicators
from jobs.classify import classify_households
from jobs.placement import place_households
from spatial.models import AdminCrosswalk, AreaIndicator, Household, HouseholdUnit, SurveyRound
from tests.jobs.test_classify import communes  # noqa: F401  (fixture)


def test_households_without_points(empty_db, communes):  # noqa: F811
    units, _ = communes
    old, new = units["rural"]
    empty_db.add(AdminCrosswalk(old_unit_id=old.id, new_unit_id=new.id, weight_area=1.0, is_default=True))
    h = Household(
        code="NOPOINT",
        geom=None,
        commune_id=old.id,
        head_name="Nông Thị Thử",
        members=3,
        registered_on=date(2020, 1, 1),
    )
    empty_db.add(h)
    empty_db.flush()
    empty_db.add(
        SurveyRound(
            household_id=h.id,
            year=2023,
            surveyed_on=date(2023, 11, 15),
            members=3,
            income_per_person_month=1_000_000,
            source="test",
            d_water=True,
            d_latrine=True,
            d_telecom=True,
        )
    )
    empty_db.flush()
    assert place_households(empty_db) == 2
    placed = dict(
        empty_db.execute(
            select(HouseholdUnit.boundary, HouseholdUnit.method).where(HouseholdUnit.household_id == h.id)
        ).all()
    )
    assert placed == {"legacy": "recorded", "current": "crosswalk"}
    assert place_households(empty_db) == 0  # placed once
    classify_households(empty_db)
    area_indicators(empty_db)
    flags = dict(
        empty_db.execute(
            select(AreaIndicator.boundary, AreaIndicator.estimated).where(AreaIndicator.level == "commune")
        ).all()
    )
    assert flags == {"legacy": False, "current": True}


def test_deleted_households_are_forgotten(empty_db, communes):  # noqa: F811
    units, centres = communes
    from geoalchemy2.shape import from_shape
    from shapely.geometry import Point

    h = Household(
        code="GONE",
        geom=from_shape(Point(*centres["urban"]), srid=4326),
        commune_id=units["urban"][0].id,
        head_name="Lý Văn Thử",
        members=2,
        registered_on=date(2020, 1, 1),
    )
    empty_db.add(h)
    empty_db.flush()
    place_households(empty_db)
    h.deleted_at = date(2024, 1, 1)
    empty_db.flush()
    assert place_households(empty_db) == 2
    assert empty_db.scalar(select(HouseholdUnit).where(HouseholdUnit.household_id == h.id)) is None
