"""The demo's targets and money: the province's 2025 plan, and allocations that a few communes and
one sub-project visibly fail to disburse.

Targets (G, after Lạng Sơn's published plan for 2025): the poverty rate down 2 points in the
province and in every commune (baseline 2024); 80 % of the poor and near-poor households of 2021
supported by a livelihood model over 2021-2025 (poor and near-poor: at or under the rural income
line); the works each commune completed in 2021-2023 again in 2024-2025; every household connected
to a water scheme served by a functional one (so the commune of a failing scheme lags). Money: projects 1, 2,
3.1 and 5 in every commune, 2022-2025, central and local budget;
most disburse 85-100 % of a past year's allocation (and of the elapsed share of the current year);
every seventh commune, and sub-project 3.1 everywhere, disburse 15-45 % of it.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

PARTS = ("1", "2", "3.1", "5")
LAGGING_PART = "3.1"
YEARS = (2022, 2023, 2024, 2025)
SOURCES = {"central": (400, 2_500), "local": (50, 400)}  # million VND a year


def seed_planning(session: Session, seed: int, today: date | None = None) -> int:
    """Targets and allocations for every 2025 commune (and the province); rows written."""
    rng = random.Random(seed * 7919 + 10)
    today = today or date.today()
    communes = session.execute(
        text("SELECT id, code FROM admin_units WHERE boundary = 'current' AND level = 'commune' ORDER BY code")
    ).all()
    province = session.scalar(text("SELECT id FROM admin_units WHERE boundary = 'current' AND level = 'province'"))
    targets = [
        {"u": province, "y": 2025, "i": "poverty_rate_reduction", "v": 2.0, "b": 2024},
    ]
    supported: dict[int, int] = dict(
        session.execute(
            # poor and near-poor of 2021 (income at or under the rural line; the classification
            # job has not run yet while the demo loads), in the commune holding their point
            text("""SELECT c.id, count(*) FROM survey_rounds sr JOIN households h ON h.id = sr.household_id
                    JOIN admin_units c ON c.boundary = 'current' AND c.level = 'commune' AND ST_Contains(c.geom, h.geom)
                    WHERE sr.year = 2021 AND sr.income_per_person_month <= 1500000 GROUP BY c.id""")
        ).all()
    )
    works: dict[int, int] = dict(
        session.execute(
            text("""SELECT au.commune_id, count(*) FROM infrastructure_works w
                    JOIN asset_units au ON au.asset_kind = 'work' AND au.asset_id = w.id
                    WHERE w.status = 'completed' AND w.completion_date < '2024-01-01' GROUP BY 1""")
        ).all()
    )
    connected: dict[int, int] = dict(
        session.execute(
            # every household connected to a scheme, in the commune holding its point: the plan keeps
            # them all served by a working scheme, so a scheme that stops leaves its commune short
            text("""SELECT c.id, count(DISTINCT wsh.household_id) FROM water_scheme_households wsh
                    JOIN households h ON h.id = wsh.household_id
                    JOIN admin_units c ON c.boundary = 'current' AND c.level = 'commune' AND ST_Contains(c.geom, h.geom)
                    GROUP BY c.id""")
        ).all()
    )
    for unit, _code in communes:
        targets.append({"u": unit, "y": 2025, "i": "poverty_rate_reduction", "v": 2.0, "b": 2024})
        if connected.get(unit):
            targets.append({"u": unit, "y": 2025, "i": "households_with_water", "v": connected[unit], "b": 2024})
        if supported.get(unit):
            targets.append(
                {"u": unit, "y": 2025, "i": "households_supported", "v": round(0.8 * supported[unit]), "b": 2020}
            )
        if works.get(unit):
            targets.append({"u": unit, "y": 2025, "i": "works_completed", "v": works[unit], "b": 2023})
    session.execute(
        text("""INSERT INTO targets (unit_id, year, indicator, value, baseline_year)
                VALUES (:u, :y, :i, :v, :b)"""),
        targets,
    )
    parts: dict[str, int] = dict(
        session.execute(text("SELECT code, id FROM programme_parts WHERE programme_id = 1")).all()
    )
    money = []
    for n, (unit, _code) in enumerate(communes):
        for part in PARTS:
            for year in YEARS:
                share = 1.0 if year < today.year else max(0.0, min(1.0, (today - date(year, 1, 1)).days / 365))
                slow = n % 7 == 3 or part == LAGGING_PART
                for source, (lo, hi) in SOURCES.items():
                    allocated = rng.randint(lo, hi) * 1_000_000
                    rate = rng.uniform(0.15, 0.45) if slow else rng.uniform(0.85, 1.0)
                    money.append(
                        {
                            "p": parts[part],
                            "u": unit,
                            "y": year,
                            "s": source,
                            "a": allocated,
                            "d": int(allocated * rate * share) // 1_000_000 * 1_000_000,
                        }
                    )
    session.execute(
        text("""INSERT INTO allocations (part_id, unit_id, year, source, allocated_vnd, disbursed_vnd)
                VALUES (:p, :u, :y, :s, :a, :d)"""),
        money,
    )
    return len(targets) + len(money)
