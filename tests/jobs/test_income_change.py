"""income_change on hand-worked households: escaped, fell back, newly poor, real change."""

from datetime import date

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from jobs.classify import classify_households
from jobs.income_change import income_change
from jobs.placement import place_households
from spatial.models import AreaIncomeChange, Household, SurveyRound
from tests.jobs.test_classify import communes  # noqa: F401  (fixture)

POOR, NEAR, OUT = (1_000_000, 3), (1_000_000, 0), (3_000_000, 0)  # (income, deprivations) 2022–2025
DEPS = ("d_water", "d_latrine", "d_telecom")


def _household(db, communes, code, path):  # noqa: F811
    units, centres = communes
    h = Household(
        code=code,
        geom=from_shape(Point(*centres["rural"]), srid=4326),
        commune_id=units["rural"][0].id,
        head_name="Hà Văn Thử",
        members=4,
        registered_on=date(2020, 1, 1),
    )
    db.add(h)
    db.flush()
    for year, (income, ndep) in path.items():
        db.add(
            SurveyRound(
                household_id=h.id,
                year=year,
                surveyed_on=date(year, 11, 15),
                members=4,
                income_per_person_month=income,
                source="test",
                **{name: True for name in DEPS[:ndep]},
            )
        )
    db.flush()


@pytest.fixture
def panel(empty_db, communes):  # noqa: F811
    _household(empty_db, communes, "ESCAPES", {2022: POOR, 2023: OUT, 2024: OUT})
    _household(empty_db, communes, "FALLS_BACK", {2022: POOR, 2023: OUT, 2024: POOR})
    _household(empty_db, communes, "NEWLY", {2022: OUT, 2023: OUT, 2024: POOR})
    _household(empty_db, communes, "NEAR_OUT", {2022: NEAR, 2023: OUT, 2024: OUT})
    place_households(empty_db)
    classify_households(empty_db)
    income_change(empty_db)
    return empty_db


def _row(db, year, span="annual", level="commune", boundary="current"):
    return db.scalar(
        select(AreaIncomeChange).where(
            AreaIncomeChange.year == year,
            AreaIncomeChange.span == span,
            AreaIncomeChange.level == level,
            AreaIncomeChange.boundary == boundary,
        )
    )


def test_transitions(panel):
    y23, y24 = _row(panel, 2023), _row(panel, 2024)
    assert (y23.escaped, y23.fell_back, y23.newly_poor) == (2, 0, 0)
    assert (y23.poor_prev, y23.near_poor_prev, y23.near_poor_now) == (2, 1, 0)
    assert (y24.escaped, y24.fell_back, y24.newly_poor) == (0, 1, 1)
    assert y23.households == y24.households == 4
    # +2,000,000 for three households, 0 for one
    assert y23.mean_change == pytest.approx(1_500_000)
    assert y23.median_change == pytest.approx(2_000_000)
    period = _row(panel, 2024, span="period")
    # over the period FALLS_BACK is poor at both ends: only ESCAPES escaped
    assert (period.prev_year, period.escaped, period.newly_poor) == (2022, 1, 1)


def test_constant_prices_use_the_deflator(panel):
    y23 = _row(panel, 2023)
    # deflator 2022 = 103.15, 2023 = 106.50 (2021 = 100): change in 2021 prices
    real = [(3_000_000 / 1.065 - 1_000_000 / 1.0315)] * 3 + [3_000_000 / 1.065 - 3_000_000 / 1.0315]
    assert y23.mean_change_real == pytest.approx(sum(real) / 4, rel=1e-9)


def test_both_versions_and_levels(panel):
    assert _row(panel, 2024, level="province", boundary="legacy").fell_back == 1
    assert _row(panel, 2024, level="district", boundary="legacy").newly_poor == 1
    assert _row(panel, 2024, level="province", boundary="current").escaped == 0
