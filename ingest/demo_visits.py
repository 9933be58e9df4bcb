"""The demo's field visits: enough history for model status to show something on day one.

For a share of the active livelihood models, extension workers came at about the interval
their type is owed (``visit_schedules``) over the last 12 months up to the load day: most
models are up to date, some are overdue (the last visit is more than an interval old) and
some were never visited. Answers are plausible per form: cow banks and buffalo loans report
the tags each household holds in the ledger and the births and deaths the ledger recorded
since that household's previous visit; flocks grow, die back and are sold; plots move
through their growth stages and are harvested. Every answer set passes the form's own
validator (the API's), and the visits are stored in bulk (COPY) as first versions.
Deterministic for a seed and a load day.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest import IngestError
from ingest.visits import body_sha256
from spatial.db import driver_connection
from spatial.forms import validate_answers

PROGRAMME_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: shares of active models: never visited, overdue (last visit older than the interval); the rest are up to date
NEVER_VISITED, OVERDUE = 0.12, 0.25
FORM_OF = {
    "cow_bank": "cow_bank",
    "buffalo_loan": "cow_bank",
    "free_range_chicken": "free_range_chicken",
    "medicinal_plant": "medicinal_plant",
}
STAGES = ("planted", "growing", "flowering", "harvest")
SPECIES = ("ba_kich", "ha_thu_o", "giao_co_lam", "hoi", "que", "khoi_nhung")
COLUMNS = (
    "id",
    "model_id",
    "commune_id",
    "visited_at",
    "form_id",
    "form_version",
    "geom",
    "accuracy_m",
    "answers",
    "body_sha256",
    "root_id",
    "version",
    "submitted_by",
    "created_by",
    "updated_by",
)


def seed_visits(session: Session, seed: int, as_of: date | None = None) -> int:
    """Write the demo's visits up to ``as_of`` (default: today in Vietnam); returns how many."""
    as_of = as_of or datetime.now(PROGRAMME_TZ).date()
    rng = np.random.default_rng([seed, 0x7151])  # its own stream: the rest of the demo is unchanged
    forms = {
        r.form_id: (r.version, r.definition)
        for r in session.execute(
            text(
                "SELECT DISTINCT ON (form_id) form_id, version, definition FROM form_definitions"
                " ORDER BY form_id, id DESC"
            )
        )
    }
    missing = sorted({f for f in FORM_OF.values() if f not in forms})
    if missing:
        raise IngestError(f"load the field forms before the demo visits (missing: {', '.join(missing)})")
    intervals: dict[str, int] = dict(
        session.execute(text("SELECT model_type, interval_days FROM visit_schedules")).all()
    )
    models = session.execute(
        text("""
        SELECT m.id, m.code, m.model_type, m.commune_id, m.start_date, m.value_chain_partner, c.code AS commune,
               ST_X(ST_PointOnSurface(m.geom)) AS lon, ST_Y(ST_PointOnSurface(m.geom)) AS lat,
               CASE WHEN GeometryType(m.geom) LIKE '%POLYGON' THEN ST_Area(m.geom::geography) END AS plot_m2
        FROM livelihood_models m JOIN admin_units c ON c.id = m.commune_id
        WHERE m.status = 'active' AND m.deleted_at IS NULL ORDER BY m.id""")
    ).all()
    households: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for model_id, hid, hcode in session.execute(
        text("""
            SELECT p.model_id, h.id, h.code FROM model_participants p JOIN households h ON h.id = p.household_id
            WHERE p.left_on IS NULL ORDER BY p.model_id, p.id""")
    ):
        households[model_id].append((hid, hcode))
    ledger = _Ledger(session, as_of)
    rows: list[tuple[Any, ...]] = []
    # shares by rank in a shuffled order, so even a small demo has models of each kind
    rank = np.argsort(rng.permutation(len(models))) / max(1, len(models))
    for m, r in zip(models, rank, strict=True):
        interval = intervals.get(m.model_type)
        kind = "never" if r < NEVER_VISITED else "overdue" if r < NEVER_VISITED + OVERDUE else "current"
        plan = _plan(rng, kind, m.start_date, as_of, interval) if interval and households[m.id] else []
        form_id = FORM_OF[m.model_type]
        version, definition = forms[form_id]
        state = _Story(rng, m, ledger)
        for i, day in enumerate(plan):
            hid, hcode = households[m.id][i % len(households[m.id])]
            answers = state.answers(day, hid, hcode)
            errors = validate_answers(definition, answers)
            if errors:  # a generator bug, not data: say which
                raise IngestError(f"demo visit to {m.code} fails form {form_id}: {errors[0].as_dict()}")
            when = datetime.combine(day, time(int(rng.integers(7, 17)), int(rng.integers(0, 60))), PROGRAMME_TZ)
            lon = m.lon + float(rng.normal(0, 0.0002))
            lat = m.lat + float(rng.normal(0, 0.0002))
            accuracy = round(float(rng.uniform(3, 25)), 1)
            vid = uuid.UUID(bytes=rng.bytes(16), version=4)
            body = {
                "id": str(vid),
                "model": m.code,
                "visited_at": when.isoformat(),
                "form": form_id,
                "form_version": version,
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "accuracy_m": accuracy,
                "answers": answers,
            }
            worker = f"kn.{m.commune}"
            rows.append(
                (
                    vid,
                    m.id,
                    m.commune_id,
                    when,
                    form_id,
                    version,
                    f"SRID=4326;POINT({lon} {lat})",
                    accuracy,
                    json.dumps(answers, ensure_ascii=False),
                    body_sha256(body),
                    vid,
                    1,
                    worker,
                    worker,
                    worker,
                )
            )
    if rows:
        conn = driver_connection(session)
        with conn.cursor() as cur, cur.copy(f"COPY visits ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


def _plan(rng: np.random.Generator, kind: str, start: date, as_of: date, interval: int) -> list[date]:
    """The days a model was visited, oldest first: none, overdue, or up to date."""
    if kind == "never":
        return []
    if kind == "overdue":
        last = as_of - timedelta(days=interval + int(rng.integers(1, interval + 1)))
    else:
        last = as_of - timedelta(days=int(rng.integers(0, interval)))
    days, day, earliest = [], last, max(start, as_of - timedelta(days=365))
    while day >= earliest:
        days.append(day)
        day -= timedelta(days=max(1, interval + int(rng.integers(-interval // 5, interval // 5 + 1))))
    return days[::-1]


class _Ledger:
    """What the ledger knows per household: tags held on the day, births and deaths by day."""

    def __init__(self, session: Session, as_of: date):
        self.holdings: dict[int, list[tuple[str, date, date | None]]] = defaultdict(list)
        for hid, tag, start, end in session.execute(
            text(
                "SELECT h.household_id, a.tag, h.held_from, h.held_to FROM animal_holdings h "
                "JOIN animals a ON a.id = h.animal_id ORDER BY a.id"
            )
        ):
            self.holdings[hid].append((tag, start, end))
        self.events: dict[int, list[tuple[date, str, str, str | None]]] = defaultdict(list)
        for hid, on, kind, detail, cause in session.execute(
            text(
                "SELECT household_id, occurred_on, kind, detail, cause FROM animal_events "
                "WHERE kind IN ('birth', 'death') AND household_id IS NOT NULL AND occurred_on <= :d "
                "ORDER BY occurred_on, id"
            ),
            {"d": as_of},
        ):
            self.events[hid].append((on, kind, detail, cause))

    def tags(self, hid: int, day: date) -> list[str]:
        return [t for t, start, end in self.holdings[hid] if start <= day and (end is None or end > day)]

    def between(self, hid: int, after: date | None, upto: date) -> list[tuple[date, str, str, str | None]]:
        return [e for e in self.events[hid] if (after is None or e[0] > after) and e[0] <= upto]


class _Story:
    """One model's answers visit after visit, so that figures follow from the ones before."""

    def __init__(self, rng: np.random.Generator, m: Any, ledger: _Ledger):
        self.rng, self.m, self.ledger = rng, m, ledger
        self.seen: dict[int, date] = {}
        self.flock = int(rng.integers(40, 300))
        self.species = str(rng.choice(SPECIES))
        self.area = round(min(float(m.plot_m2), 100_000.0), 1) if m.plot_m2 else round(float(rng.uniform(500, 5000)), 1)
        self.stage = int(rng.integers(0, 3))

    def answers(self, day: date, hid: int, hcode: str) -> dict[str, Any]:
        return getattr(self, self.m.model_type if self.m.model_type != "buffalo_loan" else "cow_bank")(day, hid, hcode)

    def cow_bank(self, day: date, hid: int, hcode: str) -> dict[str, Any]:
        rng, since = self.rng, self.seen.get(hid)
        self.seen[hid] = day
        events = self.ledger.between(hid, since, day) if since is not None else []
        births = [d for _, kind, d, _ in events if kind == "birth"]
        deaths = [c for _, kind, _, c in events if kind == "death"]
        answers: dict[str, Any] = {
            "household_code": hcode,
            "births_female": births.count("female"),
            "births_male": births.count("male"),
            "deaths": len(deaths),
            "vaccinations": ["fmd", "lumpy_skin"] if day.month in (4, 5) else ["none"],
            "pass_on_done": "no",
            "condition": str(rng.choice(["good", "fair", "poor"], p=[0.6, 0.32, 0.08])),
        }
        tags = self.ledger.tags(hid, day)
        if tags:
            answers["animal_tags_present"] = " ".join(tags)
        if deaths:
            answers["death_cause"] = deaths[-1] or "other"
        return answers

    def free_range_chicken(self, day: date, hid: int, hcode: str) -> dict[str, Any]:
        rng = self.rng
        deaths = int(rng.binomial(self.flock, 0.04))
        sold = int(rng.binomial(self.flock - deaths, 0.2))
        hatched = int(rng.binomial(max(self.flock, 20), 0.25))
        self.flock = min(5000, self.flock - deaths - sold + hatched)
        outbreak = rng.random() < 0.05
        answers: dict[str, Any] = {
            "household_code": hcode,
            "flock_size": self.flock,
            "deaths": deaths,
            "sold": sold,
            "vaccinations": ["newcastle", "gumboro"] if rng.random() < 0.7 else ["none"],
            "disease_outbreak": "yes" if outbreak else "no",
            "feed": str(rng.choice(["own_grain", "commercial", "mixed"])),
        }
        if deaths:
            causes = ["disease", "predator", "weather", "other"]
            answers["death_cause"] = str(rng.choice(causes, p=[0.5, 0.25, 0.2, 0.05]))
        if sold:
            answers["sales_vnd"] = sold * int(rng.integers(8, 13)) * 10_000
        if outbreak:
            answers["disease_signs"] = "Gà ủ rũ, bỏ ăn"
        return answers

    def medicinal_plant(self, day: date, hid: int, hcode: str) -> dict[str, Any]:
        rng = self.rng
        if self.stage < len(STAGES) - 1 and rng.random() < 0.4:
            self.stage += 1
        harvested = STAGES[self.stage] == "harvest"
        answers: dict[str, Any] = {
            "household_code": hcode,
            "species": self.species,
            "area_m2": self.area,
            "stage": STAGES[self.stage],
            "harvested": "yes" if harvested else "no",
            "pests": "yes" if rng.random() < 0.1 else "no",
        }
        if harvested:
            answers["harvest_kg"] = round(min(self.area * float(rng.uniform(0.05, 0.2)), 100_000.0), 1)
            answers["price_vnd_per_kg"] = int(rng.integers(4, 16)) * 10_000
            if self.m.value_chain_partner:
                answers["buyer"] = self.m.value_chain_partner
            self.stage = 1  # regrowth after the harvest
        return answers
