"""The demo's pass-on ledger, seeded from its cow-bank and buffalo-loan chains.

First-generation participants received an 18–24-month female on the day they joined;
a second-generation participant received its giver's first calf, born 6–8 months
before (a few givers sold a male first calf and bought a female instead). Givers not
yet handed on have calves on the way or owed, some past the rule's window; a few cows
died (disease, disaster, accident, negligence). Cows are vaccinated each spring
against foot-and-mouth disease and lumpy skin disease. Synthetic, plausible by
construction, deterministic for the demo seed; written in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from spatial.db import driver_connection
from spatial.ledger import PASS_ON_TYPES, Rule, add_months, refresh_pass_on_status

DEMO_USER = "demo"
#: the demo world's last day: its ledger's events stop here, and its statuses are as of it
LEDGER_AS_OF = date(2025, 10, 31)
TAG_PREFIX = {"cow": "BO", "buffalo": "TR"}
DEATH_CAUSES = (("disease", 0.45), ("disaster", 0.2), ("accident", 0.1), ("negligence", 0.15), ("other", 0.1))


def seed_ledger(session: Session, models: list[dict], participants: list[dict], seed: int, until: date) -> dict:
    """Write rules, animals, holdings, events and obligations; statuses as of ``until``."""
    rng = np.random.default_rng([seed, 0x1ED6E5])  # its own stream: the rest of the demo is unchanged
    builder = _Ledger(rng, until)
    by_model: dict[int, list[dict]] = defaultdict(list)
    for p in participants:
        by_model[p["model_id"]].append(p)
    for m in sorted(models, key=lambda m: m["id"]):
        if m["model_type"] in PASS_ON_TYPES:
            builder.model(m, sorted(by_model[m["id"]], key=lambda p: p["id"]))
    conn = driver_connection(session)
    for table, rows in (
        ("pass_on_rules", builder.rules),
        ("animals", builder.animals),
        ("animal_holdings", builder.holdings),
        ("animal_events", builder.events),
        ("pass_on_obligations", builder.obligations),
    ):
        if not rows:
            continue
        columns = list(rows[0])
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    for table in ("animals", "pass_on_obligations"):
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"coalesce((SELECT max(id) FROM {table}), 1))"
            )
        )
    refresh_pass_on_status(session, until)
    return {
        "animals": len(builder.animals),
        "animal events": len(builder.events),
        "pass-on obligations": len(builder.obligations),
    }


class _Ledger:
    def __init__(self, rng: np.random.Generator, until: date):
        self.rng, self.until = rng, until
        self.rules: list[dict] = []
        self.animals: list[dict] = []
        self.holdings: list[dict] = []
        self.events: list[dict] = []
        self.obligations: list[dict] = []

    def days(self, lo: int, hi: int) -> timedelta:
        return timedelta(days=int(self.rng.integers(lo, hi + 1)))

    # ------------------------------------------------------------------ rows
    def animal(
        self, model_id: int, tag: str, species: str, sex: str, origin: str, born: date | None, dam: int | None
    ) -> int:
        aid = len(self.animals) + 1
        self.animals.append(
            dict(
                id=aid,
                model_id=model_id,
                tag=tag,
                species=species,
                sex=sex,
                origin=origin,
                birth_date=born,
                dam_id=dam,
                status="alive",
                created_by=DEMO_USER,
                updated_by=DEMO_USER,
            )
        )
        return aid

    def hold(self, model_id: int, aid: int, household: int, start: date, end: date | None = None) -> None:
        self.holdings.append(
            dict(
                model_id=model_id,
                animal_id=aid,
                household_id=household,
                held_from=start,
                held_to=end,
                created_by=DEMO_USER,
                updated_by=DEMO_USER,
            )
        )

    def event(self, model_id: int, aid: int, kind: str, on: date, household: int, **values) -> None:
        row = dict(
            model_id=model_id,
            animal_id=aid,
            kind=kind,
            occurred_on=on,
            household_id=household,
            counterpart_household_id=None,
            cause=None,
            certified=False,
            price_vnd=None,
            detail="",
            source="demo",
            created_by=DEMO_USER,
            updated_by=DEMO_USER,
        )
        row.update(values)
        self.events.append(row)

    def obligation(
        self, model_id: int, generation: int, parent: int | None, giver: int, source: int, received: date
    ) -> dict:
        row = dict(
            id=len(self.obligations) + 1,
            model_id=model_id,
            generation=generation,
            parent_id=parent,
            giver_household_id=giver,
            source_animal_id=source,
            received_on=received,
            calf_id=None,
            due_from=None,
            due_by=None,
            status="owed",
            replacement=None,
            receiver_household_id=None,
            delivered_animal_id=None,
            delivered_on=None,
            note=None,
            created_by=DEMO_USER,
            updated_by=DEMO_USER,
        )
        self.obligations.append(row)
        return row

    def end(self, aid: int, on: date, status: str) -> None:
        self.animals[aid - 1]["status"] = status
        for h in reversed(self.holdings):
            if h["animal_id"] == aid and h["held_to"] is None:
                h["held_to"] = on
                return

    def attach(self, ob: dict, calf: int, born: date, rule: Rule) -> None:
        ob.update(
            calf_id=calf, due_from=add_months(born, rule.due_from_months), due_by=add_months(born, rule.due_by_months)
        )

    # ------------------------------------------------------------------ one model
    def model(self, m: dict, parts: list[dict]) -> None:
        rng, mid = self.rng, m["id"]
        species = PASS_ON_TYPES[m["model_type"]]
        has_second_generation = any(p["generation"] == 2 for p in parts)
        rule = Rule(
            calf_number=2 if not has_second_generation and rng.random() < 0.25 else 1,
            male_calf="next_calf" if rng.random() < 0.15 else "sell_and_buy",
            certified_death="written_off" if rng.random() < 0.3 else "replaced",
        )
        self.rules.append(
            dict(
                model_id=mid,
                calf_number=rule.calf_number,
                due_from_months=rule.due_from_months,
                due_by_months=rule.due_by_months,
                male_calf=rule.male_calf,
                certified_death=rule.certified_death,
                created_by=DEMO_USER,
                updated_by=DEMO_USER,
                note="Quy định mô phỏng cho dữ liệu demo (giả định)",
            )
        )
        prefix = TAG_PREFIX[species]
        tags = iter(f"{prefix}-{n:03d}" for n in range(1, 10_000))
        receiver_of = {p["received_from_id"]: p for p in parts if p["generation"] == 2}
        for p in parts:
            if p["generation"] != 1:
                continue
            giver, joined = p["household_id"], p["joined_on"]
            cow = self.animal(mid, next(tags), species, "female", "received", joined - self.days(540, 730), None)
            self.hold(mid, cow, giver, joined)
            self.event(mid, cow, "receipt", joined, giver)
            ob = self.obligation(mid, 1, None, giver, cow, joined)
            last_alive = self.until
            r = receiver_of.get(p["id"])
            if r is not None:
                self.handed_on(m, rule, ob, cow, r, tags)
            elif rng.random() < 0.07:
                last_alive = self.dies(mid, rule, ob, cow, giver, joined)
            else:
                self.calves(mid, rule, ob, cow, giver, joined + self.days(640, 820), tags)
            self.vaccinate(mid, cow, giver, joined, last_alive)

    def handed_on(self, m: dict, rule: Rule, ob: dict, cow: int, r: dict, tags) -> None:
        mid, giver, species = m["id"], ob["giver_household_id"], PASS_ON_TYPES[m["model_type"]]
        handed = r["joined_on"]
        born = handed - self.days(190, 250)
        if rule.male_calf == "sell_and_buy" and self.rng.random() < 0.15:
            # the first calf was a bull calf: sold, and a young female bought to hand on
            male = self.animal(mid, next(tags), species, "male", "born", born, cow)
            self.hold(mid, male, giver, born)
            self.event(mid, male, "birth", born, giver, detail="male")
            sold = handed - self.days(3, 20)
            self.end(male, sold, "sold")
            self.event(mid, male, "sale", sold, giver, price_vnd=int(self.rng.integers(7, 12)) * 1_000_000)
            calf = self.animal(mid, next(tags), species, "female", "bought", born - self.days(20, 80), None)
            self.hold(mid, calf, giver, sold)
            self.event(mid, calf, "purchase", sold, giver, price_vnd=int(self.rng.integers(9, 14)) * 1_000_000)
            self.attach(ob, male, born, rule)
        else:
            calf = self.animal(mid, next(tags), species, "female", "born", born, cow)
            self.hold(mid, calf, giver, born)
            self.event(mid, calf, "birth", born, giver, detail="female")
            self.attach(ob, calf, born, rule)
        self.end(calf, handed, "alive")
        self.hold(mid, calf, r["household_id"], handed)
        self.event(mid, calf, "pass_on", handed, giver, counterpart_household_id=r["household_id"])
        ob.update(
            status="delivered", receiver_household_id=r["household_id"], delivered_animal_id=calf, delivered_on=handed
        )
        self.obligation(mid, 2, ob["id"], r["household_id"], calf, handed)
        # the mother calves again about 13–16 months later
        again = born + self.days(390, 480)
        if again <= self.until:
            self.extra_calf(mid, cow, giver, again, species, tags)

    def extra_calf(self, mid: int, cow: int, giver: int, born: date, species: str, tags) -> int:
        sex = "female" if self.rng.random() < 0.5 else "male"
        calf = self.animal(mid, next(tags), species, sex, "born", born, cow)
        self.hold(mid, calf, giver, born)
        self.event(mid, calf, "birth", born, giver, detail=sex)
        sold = born + self.days(300, 420)
        if sex == "male" and sold <= self.until:
            self.end(calf, sold, "sold")
            self.event(mid, calf, "sale", sold, giver, price_vnd=int(self.rng.integers(7, 13)) * 1_000_000)
        return calf

    def calves(self, mid: int, rule: Rule, ob: dict, cow: int, giver: int, first: date, tags) -> None:
        species = self.animals[cow - 1]["species"]
        born, k = first, 0
        while born <= self.until:
            k += 1
            calf = self.extra_calf(mid, cow, giver, born, species, tags) if ob["calf_id"] is not None else None
            if calf is None:
                sex = "female" if self.rng.random() < 0.5 else "male"
                calf = self.animal(mid, next(tags), species, sex, "born", born, cow)
                self.hold(mid, calf, giver, born)
                self.event(mid, calf, "birth", born, giver, detail=sex)
                if k >= rule.calf_number and (sex == "female" or rule.male_calf == "sell_and_buy"):
                    self.attach(ob, calf, born, rule)
            born += self.days(390, 480)

    def dies(self, mid: int, rule: Rule, ob: dict, cow: int, giver: int, joined: date) -> date:
        span = max(60, (self.until - joined).days)
        died = joined + self.days(30, span)
        died = min(died, self.until)
        cause = str(self.rng.choice([c for c, _ in DEATH_CAUSES], p=[w for _, w in DEATH_CAUSES]))
        certified = cause in ("disease", "disaster") and self.rng.random() < 0.8
        self.end(cow, died, "dead")
        self.event(mid, cow, "death", died, giver, cause=cause, certified=certified)
        if certified:
            ob["status"] = "animal_died"
            ob["replacement"] = "programme" if rule.certified_death == "replaced" else None
            ob["note"] = f"bò/trâu chết ({cause}), có xác nhận"
        else:
            ob["replacement"] = "household"
            ob["note"] = f"bò/trâu chết ({cause}), hộ phải thay thế"
        return died

    def vaccinate(self, mid: int, cow: int, giver: int, start: date, last: date) -> None:
        for year in range(start.year, self.until.year + 1):
            on = date(year, 4, 1) + self.days(0, 40)
            if start <= on <= last and on <= self.until:
                for vaccine in ("fmd", "lumpy_skin"):
                    self.event(mid, cow, "vaccination", on, giver, detail=vaccine)
