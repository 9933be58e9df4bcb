"""The Lạng Sơn demo: real administrative units, approximate polygons, synthetic programme data.

Units (names, codes, centroids, boxes, crosswalk) are real, read at run time from
``vietnamadminunits``; polygons are approximations (see ``spatial.geometry.tessellate``).
Households, rounds, models, works and schemes are synthetic but shaped like the
programme: poorer in the old poor districts and in remote communes, a provincial
poverty rate that follows the published path, staggered model adoption with a
planted income effect per model type (stored in ``demo_truth``), and a few planted
duplicate records and double enrolments for the duplicate-beneficiary job to find.
Deterministic for a seed.
"""

from __future__ import annotations

import io
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import cast

import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from ingest import IngestError
from ingest.adminunits import Province, Unit, load_province
from ingest.demo_ledger import LEDGER_AS_OF, seed_ledger
from ingest.demo_planning import seed_planning
from ingest.demo_roads import seed_roads
from ingest.demo_sensors import seed_sensors
from ingest.demo_visits import seed_visits
from spatial.db import driver_connection
from spatial.geometry import (
    Seed,
    SplitSeed,
    as_multipolygon,
    random_points_in,
    tessellate,
    to_metric,
    to_wgs84,
    union,
)
from spatial.models import (
    CURRENT_VALID_FROM,
    DEPRIVATION_COLUMNS,
    LEGACY_VALID_TO,
    AdminCrosswalk,
    AdminUnit,
    AuditEntry,
    DemoTruth,
    InfrastructureWork,
    LivelihoodModel,
    ModelParticipant,
    PovertyLine,
    PovertyStandard,
    User,
    Village,
    WaterScheme,
)
from spatial.settings import Settings

PROVINCE = "Lạng Sơn"
YEARS = (2021, 2022, 2023, 2024, 2025)
LEGACY_VALID_FROM = date(2008, 8, 1)  # (G) the legacy units' start is not modelled further back
#: Provincial poverty rate (% of households) the rounds are calibrated to: 2021 and 2024
#: are published (12.2 % → 3.36 %); the years between and 2025 are interpolated (G).
TARGET_POVERTY_RATE = {2021: 12.2, 2022: 9.6, 2023: 6.6, 2024: 3.36, 2025: 2.4}
#: Provincial near-poor rate (% of households) likewise: 12.06 % (2021) and 8 % (2024) are published;
#: it falls far more slowly than the poverty rate, households moving out of poverty into near-poverty
#: (the risk of falling back the province reports); the years between and 2025 are interpolated (G).
TARGET_NEAR_POOR_RATE = {2021: 12.06, 2022: 10.7, 2023: 9.3, 2024: 8.0, 2025: 7.4}
#: Planted effect of participation on income, VND per person per month, from the first
#: survey round after joining. Evaluation must recover these.
PLANTED_EFFECTS = {
    "cow_bank": 260_000,
    "buffalo_loan": 220_000,
    "free_range_chicken": 150_000,
    "medicinal_plant": 320_000,
}
POOR_DISTRICTS = ("Bình Gia", "Văn Quan")
DEMO_USER = "demo"
#: rows of COPY text written at a time
COPY_CHUNK = 50_000
TAB = "\t"
#: rows of one multi-row INSERT (under PostgreSQL's 65,535 parameters for a model's columns)
INSERT_CHUNK = 2_000

ETHNICITIES = (
    ("Nùng", 0.43),
    ("Tày", 0.36),
    ("Kinh", 0.165),
    ("Dao", 0.035),
    ("Sán Chay", 0.004),
    ("Hoa", 0.003),
    ("Mông", 0.003),
)
SURNAMES = {
    "Nùng": ("Hoàng", "Nông", "Lương", "Vi", "Lăng", "Lộc", "Chu", "Mã", "Hứa", "Lý"),
    "Tày": ("Hoàng", "Nông", "Hà", "Lương", "Triệu", "Hứa", "Vi", "Ma", "Lý", "Nguyễn"),
    "Dao": ("Triệu", "Bàn", "Đặng", "Lý", "Phùng"),
    "Sán Chay": ("Hoàng", "Lâm", "Trần"),
    "Hoa": ("Lâm", "Lý", "Trương"),
    "Mông": ("Vàng", "Giàng", "Sùng", "Lý"),
}
VILLAGE_SYLLABLES = (
    "Nà",
    "Khuổi",
    "Bản",
    "Pác",
    "Còn",
    "Phai",
    "Lũng",
    "Khau",
    "Nà Pàn",
    "Pò",
    "Kéo",
    "Co",
    "Nặm",
    "Thâm",
    "Hang",
    "Mỏ",
    "Đông",
    "Tà",
)
VILLAGE_SECOND = (
    "Pàn",
    "Cạn",
    "Mạ",
    "Slằng",
    "Lầy",
    "Sla",
    "Tẳng",
    "Hin",
    "Luông",
    "Lếch",
    "Nưa",
    "Tàu",
    "Mười",
    "Chang",
    "Phướng",
    "Cáy",
    "Pựt",
    "Nhàu",
    "Đâư",
    "Khuổi",
)
MODEL_LABEL = {
    "cow_bank": "Ngân hàng bò",
    "buffalo_loan": "Cho vay trâu luân chuyển",
    "free_range_chicken": "Nuôi gà thả vườn",
    "medicinal_plant": "Trồng cây dược liệu",
}
MEDICINAL_SPECIES = ("Ba kích", "Hà thủ ô", "Giảo cổ lam", "Hồi", "Quế", "Khôi nhung")
PARTNERS = {
    "free_range_chicken": ("HTX Chăn nuôi Xứ Lạng (giả định)", "HTX Gà đồi Chi Lăng (giả định)"),
    "medicinal_plant": ("Công ty CP Dược liệu Đông Bắc (giả định)", "HTX Hồi Quế Văn Quan (giả định)"),
}
PROJECT_LIVELIHOOD = "Dự án 2: Đa dạng hóa sinh kế, phát triển mô hình giảm nghèo"
PROJECT_PRODUCTION = "Dự án 3: Hỗ trợ phát triển sản xuất, cải thiện dinh dưỡng"
SUBPROJECT_PRODUCTION = "Tiểu dự án 1: Hỗ trợ phát triển sản xuất trong lĩnh vực nông nghiệp"
PROJECT_INFRA = "Dự án 1: Hỗ trợ đầu tư phát triển hạ tầng kinh tế - xã hội các huyện nghèo"
WORK_LABEL = {
    "road": "Đường giao thông",
    "bridge": "Cầu",
    "school": "Trường học",
    "clinic": "Trạm y tế",
    "irrigation": "Kênh mương thủy lợi",
    "market": "Chợ",
}
WATER_TECH = (
    ("gravity-fed piped", 0.45),
    ("drilled well with pump", 0.25),
    ("spring capture", 0.2),
    ("rainwater tank cluster", 0.1),
)
#: base prevalence (logit) of each deprivation and how strongly low income raises it
DEPRIVATION_BASE = {
    "d_employment": -1.4,
    "d_dependants": -1.9,
    "d_nutrition": -2.4,
    "d_health_insurance": -3.2,
    "d_adult_education": -1.6,
    "d_child_school": -2.6,
    "d_housing_quality": -1.7,
    "d_floor_area": -2.3,
    "d_water": -1.5,
    "d_latrine": -1.0,
    "d_telecom": -2.8,
    "d_info_assets": -2.5,
}


@dataclass
class DemoOptions:
    households: int = 20_000
    seed: int = 2025
    province: str = PROVINCE


@dataclass
class DemoSummary:
    counts: dict[str, int] = field(default_factory=dict)
    planted_effects: dict[str, int] = field(default_factory=dict)
    poverty_rate: dict[int, float] = field(default_factory=dict)
    near_poor_rate: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0
    logins: str = ""


Progress = Callable[[str], None]

DATA_TABLES = (
    "siting_scenarios",
    "roads",
    "road_nodes",
    "disbursement_progress",
    "target_progress",
    "allocations",
    "targets",
    "ledger_visits",
    "pass_on_obligations",
    "animal_events",
    "animal_holdings",
    "animals",
    "pass_on_rules",
    "visits",
    "water_scheme_households",
    "water_schemes",
    "infrastructure_works",
    "model_participants",
    "livelihood_models",
    "area_indicators",
    "poverty_classifications",
    "household_units",
    "survey_rounds",
    "households",
    "villages",
    "admin_crosswalk",
    "admin_units",
    "demo_truth",
    "job_runs",
)


def is_loaded(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(AdminUnit)) or 0) > 0


def reset(session: Session) -> None:
    """Remove every demo-loadable row (standards stay: they are reference data)."""
    session.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))


def load_demo(
    session: Session, options: DemoOptions, progress: Progress = lambda _: None, *, settings: Settings | None = None
) -> DemoSummary:
    """Build the whole demo in the caller's transaction; refuse a loaded database.

    With ``settings``, the synthetic climate-risk rasters are generated and catalogued too
    (stored in ``settings.raster_store``).
    """
    if options.households < 100:
        raise IngestError("--households must be at least 100")
    if is_loaded(session):
        raise IngestError(
            "the database already holds administrative units; sinhke demo would duplicate "
            "them. Use `sinhke demo --reset` to rebuild the demo from scratch."
        )
    started = time.monotonic()
    # one audit entry for the whole load instead of one per generated row
    session.execute(text("SELECT set_config('sinhke.audit', 'off', true)"))
    summary = _Builder(session, options, progress, started).build()
    if settings is not None:
        from ingest.demo_rasters import load_demo_rasters

        progress(f"[{time.monotonic() - started:6.1f}s] climate-risk rasters from a synthetic terrain (EPSG:3405)")
        summary.counts["rasters"] = len(load_demo_rasters(session, settings, options.seed, progress))
        summary.seconds = time.monotonic() - started
    session.execute(text("SELECT set_config('sinhke.audit', 'on', true)"))
    session.execute(
        insert(AuditEntry).values(
            actor=DEMO_USER,
            table_name="*",
            action="import",
            note=f"Lạng Sơn demo loaded: {summary.counts}",
            new={"seed": options.seed, "households": options.households},
        )
    )
    demo_users(session, options.seed)
    summary.counts["form_definitions"] = demo_forms(session)
    # field visits of the last 12 months, so model status is not empty (one audit entry, as above)
    session.execute(text("SELECT set_config('sinhke.audit', 'off', true)"))
    summary.counts["visits"] = seed_visits(session, options.seed)
    summary.counts["targets_and_allocations"] = seed_planning(session, options.seed)
    summary.counts["roads"] = seed_roads(session, options.seed)
    # meters and rain gauges over one rainy season, a failing scheme and a storm (one COPY)
    summary.counts.update(seed_sensors(session, options.seed))
    session.execute(text("SELECT set_config('sinhke.audit', 'on', true)"))
    # fresh tables have no planner statistics; without them the first jobs pick poor plans
    session.execute(text("ANALYZE " + ", ".join(reversed(DATA_TABLES[:-2]))))
    summary.logins = describe_logins(session)
    return summary


class _Builder:
    def __init__(self, session: Session, options: DemoOptions, progress: Progress, started: float):
        self.s = session
        self.o = options
        self.say = progress
        self.started = started
        self.rng = np.random.default_rng(options.seed)
        self.summary = DemoSummary(planted_effects=dict(PLANTED_EFFECTS))

    def step(self, message: str) -> None:
        self.say(f"[{time.monotonic() - self.started:6.1f}s] {message}")

    # ------------------------------------------------------------------ orchestration
    def build(self) -> DemoSummary:
        self.step(f"reading administrative units of {self.o.province} from vietnamadminunits")
        prov = load_province(self.o.province)
        self.step("drawing approximate commune polygons (nested legacy and 2025 units)")
        self.units(prov)
        self.step("villages")
        self.villages()
        self.step(f"{self.o.households:,} households")
        self.households()
        self.step("livelihood models and their participants (staggered adoption)")
        self.models()
        self.step("survey rounds 2021–2025, calibrated to the provincial poverty and near-poor paths")
        self.rounds()
        self.step("planted duplicates and double enrolments")
        self.plant_duplicates()
        self.write_households_and_rounds()
        self.write_models()
        self.step("cow-bank and buffalo-loan ledger: animals, calves, deaths, pass-on obligations")
        self.summary.counts.update(
            seed_ledger(self.s, self.model_rows, self.participant_rows, self.o.seed, LEDGER_AS_OF)
        )
        self.step("infrastructure works and water schemes")
        self.works()
        self.water_schemes()
        self.truth()
        for table in (
            "admin_units",
            "villages",
            "households",
            "survey_rounds",
            "livelihood_models",
            "model_participants",
            "infrastructure_works",
            "water_schemes",
        ):
            self.s.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed fragments, no input
                    f"coalesce((SELECT max(id) FROM {table}), 1))"
                )
            )
        self.summary.seconds = time.monotonic() - self.started
        self.step("done")
        return self.summary

    # ------------------------------------------------------------------ units
    def units(self, prov: Province) -> None:
        by_new = {c.code: c for c in prov.current_communes}
        targets: dict[str, list[str]] = defaultdict(list)
        default_new: dict[str, str] = {}
        for old, new, is_default in prov.crosswalk:
            targets[old].append(new)
            if is_default:
                default_new[old] = new
        seeds = [
            Seed(c.code, c.lon, c.lat, c.bounds.west, c.bounds.south, c.bounds.east, c.bounds.north)
            for c in prov.legacy_communes
            if c.bounds
        ]
        new_unit_of: dict[str, str | list[SplitSeed]] = {
            old: news[0] if len(news) == 1 else [SplitSeed(n, by_new[n].lon, by_new[n].lat) for n in news]
            for old, news in targets.items()
        }
        pieces = tessellate(seeds, new_unit_of)
        self.pieces = pieces
        legacy_geom = {c.code: union([g for (o, _), g in pieces.items() if o == c.code]) for c in prov.legacy_communes}
        current_geom = {
            c.code: union([g for (_, n), g in pieces.items() if n == c.code]) for c in prov.current_communes
        }
        missing = [code for code, g in current_geom.items() if g.is_empty]
        if missing:
            raise IngestError(f"2025 communes without legacy parts: {missing}")
        district_geom = {
            d.code: union([legacy_geom[c.code] for c in prov.legacy_communes if c.parent_code == d.code])
            for d in prov.districts
        }
        province_geom = union(list(legacy_geom.values()))

        rows: list[dict] = []
        ids: dict[tuple[str, str, str], int] = {}

        def add(u: Unit, boundary: str, geom, parent: int | None) -> int:
            uid = len(rows) + 1
            ids[(boundary, u.level, u.code)] = uid
            rows.append(
                dict(
                    id=uid,
                    level=u.level,
                    code=u.code,
                    name=u.name,
                    unit_type=u.unit_type,
                    area_type=u.area_type if u.level == "commune" else "rural",
                    boundary=boundary,
                    parent_id=parent,
                    valid_from=LEGACY_VALID_FROM if boundary == "legacy" else CURRENT_VALID_FROM,
                    valid_to=LEGACY_VALID_TO if boundary == "legacy" else None,
                    centroid=from_shape(Point(u.lon, u.lat), srid=4326),
                    geom=from_shape(as_multipolygon(geom), srid=4326),
                    geom_approximate=True,
                    source="vietnamadminunits (names, codes, centroids, boxes); polygons approximate",
                    created_by=DEMO_USER,
                    updated_by=DEMO_USER,
                )
            )
            return uid

        lp = add(prov.legacy_province, "legacy", province_geom, None)
        for d in prov.districts:
            add(d, "legacy", district_geom[d.code], lp)
        for c in prov.legacy_communes:
            add(c, "legacy", legacy_geom[c.code], ids[("legacy", "district", c.parent_code or "")])
        cp = add(prov.current_province, "current", province_geom, None)
        for c in prov.current_communes:
            add(c, "current", current_geom[c.code], cp)
        self.s.execute(insert(AdminUnit), rows)

        metric_area = {key: to_metric(g).area for key, g in pieces.items()}
        legacy_area: dict[str, float] = defaultdict(float)
        for (o, _), a in metric_area.items():
            legacy_area[o] += a
        self.s.execute(
            insert(AdminCrosswalk),
            [
                dict(
                    old_unit_id=ids[("legacy", "commune", o)],
                    new_unit_id=ids[("current", "commune", n)],
                    weight_area=metric_area[(o, n)] / legacy_area[o],
                    is_default=default_new.get(o) == n,
                )
                for (o, n) in sorted(pieces)
            ],
        )
        self.prov = prov
        self.unit_ids = ids
        self.legacy_communes = prov.legacy_communes
        self.district_name = {d.code: d.name for d in prov.districts}
        self.current_type = {c.code: c.area_type for c in prov.current_communes}
        self.legacy_metric = {code: to_metric(g) for code, g in legacy_geom.items()}
        self.piece_metric = {key: to_metric(g).buffer(-25) for key, g in pieces.items()}
        self.summary.counts["legacy communes"] = len(prov.legacy_communes)
        self.summary.counts["2025 communes"] = len(prov.current_communes)
        self.summary.counts["districts (legacy)"] = len(prov.districts)

    # ------------------------------------------------------------------ villages
    def villages(self) -> None:
        rows = []
        self.village_xy: dict[str, np.ndarray] = {}
        self.village_ids: dict[str, np.ndarray] = {}
        # remoteness: distance from the provincial capital's centroid, 0..1
        capital = to_metric(Point(self.prov.legacy_province.lon, self.prov.legacy_province.lat))
        dists = {c.code: self.legacy_metric[c.code].centroid.distance(capital) for c in self.legacy_communes}
        dmax = max(dists.values())
        self.remoteness = {code: d / dmax for code, d in dists.items()}
        vid = 0
        for c in self.legacy_communes:
            g = self.legacy_metric[c.code]
            k = int(np.clip(round(g.area / 1e6 / 9), 3, 14))
            xy = random_points_in(g.buffer(-100) if g.buffer(-100).area > 0 else g, k, self.rng)
            ids: list[int] = []
            names: set[str] = set()
            for x, y in xy:
                vid += 1
                while True:
                    name = f"Thôn {self.rng.choice(VILLAGE_SYLLABLES)} {self.rng.choice(VILLAGE_SECOND)}"
                    if name not in names:
                        names.add(name)
                        break
                rows.append(
                    dict(
                        id=vid,
                        code=f"{c.code}-T{len(ids) + 1:02d}",
                        name=name,
                        commune_id=self.unit_ids[("legacy", "commune", c.code)],
                        geom=from_shape(to_wgs84(Point(x, y)), srid=4326),
                        created_by=DEMO_USER,
                        updated_by=DEMO_USER,
                    )
                )
                ids.append(vid)
            self.village_xy[c.code] = xy
            self.village_ids[c.code] = np.array(ids)
        self.s.execute(insert(Village), rows)
        self.village_names = {r["id"]: r["name"] for r in rows}
        self.summary.counts["villages"] = len(rows)

    # ------------------------------------------------------------------ households
    def households(self) -> None:
        rng = self.rng
        communes = self.legacy_communes
        weight = np.array(
            [
                (1 + self.legacy_metric[c.code].area / 1e6 / 25) * (2.2 if c.area_type == "urban" else 1.0)
                for c in communes
            ]
        )
        n = self.o.households
        per = rng.multinomial(n, weight / weight.sum())
        commune_idx = np.repeat(np.arange(len(communes)), per)
        xs = np.empty(n)
        ys = np.empty(n)
        village = np.empty(n, dtype=np.int64)
        current_code = np.empty(n, dtype=object)
        pos = 0
        for i, c in enumerate(communes):
            k = int(per[i])
            if k == 0:
                continue
            pts = random_points_in(
                self.legacy_metric[c.code].buffer(-30), k, rng, around=self.village_xy[c.code], spread=450.0
            )
            xs[pos : pos + k], ys[pos : pos + k] = pts[:, 0], pts[:, 1]
            vxy = self.village_xy[c.code]
            nearest = np.argmin(np.hypot(pts[:, :1] - vxy[:, 0], pts[:, 1:] - vxy[:, 1]), axis=1)
            village[pos : pos + k] = self.village_ids[c.code][nearest]
            # the 2025 commune: the piece of the legacy commune that holds the point
            keys = [key for key in self.piece_metric if key[0] == c.code]
            if len(keys) == 1:
                current_code[pos : pos + k] = keys[0][1]
            else:
                owner = np.full(k, keys[0][1], dtype=object)
                best = np.full(k, np.inf)
                for key in keys:
                    d = shapely.distance(self.piece_metric[key], shapely.points(pts))
                    owner[d < best] = key[1]
                    best = np.minimum(best, d)
                current_code[pos : pos + k] = owner
            pos += k
        # snap points to the piece they belong to (robustly inside both hierarchies)
        lon, lat = _to_lonlat(xs, ys)
        self.h_lon, self.h_lat = lon, lat
        self.h_x, self.h_y = xs, ys
        self.h_commune = commune_idx
        self.h_current = current_code
        self.h_village = village
        self.h_id = np.arange(1, n + 1)

        remote = np.array([self.remoteness[c.code] for c in communes])[commune_idx]
        poor_district = np.array(
            [any(p in self.district_name[c.parent_code or ""] for p in POOR_DISTRICTS) for c in communes]
        )[commune_idx]
        urban = np.array([c.area_type == "urban" for c in communes])[commune_idx]
        # base income per person per month (VND): lower when remote and in the old poor districts
        median = 2_350_000 * np.exp(-0.55 * remote) * np.where(poor_district, 0.78, 1.0) * np.where(urban, 1.45, 1.0)
        self.h_base = median * np.exp(rng.normal(0, 0.42, n))
        self.h_urban_legacy = urban
        self.h_urban_current = np.array([self.current_type[c] == "urban" for c in current_code])
        eth_names = [e for e, _ in ETHNICITIES]
        eth_p = np.array([p for _, p in ETHNICITIES])
        eth = rng.choice(len(eth_names), size=n, p=eth_p / eth_p.sum())
        self.h_ethnicity = np.array(eth_names, dtype=object)[eth]
        self.h_members = np.clip(rng.poisson(3.2, n) + 1, 1, 11)
        self.h_name = self._names(self.h_ethnicity)
        # CCCD: province 020, sex/century digit, birth year, serial (unique by construction)
        birth = rng.integers(1950, 2000, n)
        male = rng.random(n) < 0.78
        serial = rng.permutation(1_000_000)[:n] if n <= 1_000_000 else rng.integers(0, 10**6, n)
        has_card = rng.random(n) < 0.9
        self.h_card = np.array(
            [
                f"020{0 if m else 1}{b % 100:02d}{s:06d}" if hc else None
                for m, b, s, hc in zip(male, birth, serial, has_card, strict=True)
            ],
            dtype=object,
        )
        seq: dict[str, int] = defaultdict(int)
        codes = []
        for commune in commune_idx:
            cc = communes[commune].code
            seq[cc] += 1
            codes.append(f"{cc}-{seq[cc]:05d}")
        self.h_code = np.array(codes, dtype=object)
        self.h_registered = date(2021, 1, 1)
        self.summary.counts["households"] = n

    def _names(self, ethnicity: np.ndarray) -> np.ndarray:
        from faker import Faker

        person = next(p for p in Faker("vi_VN").providers if type(p).__module__.endswith("person.vi_VN"))
        kinh = tuple(person.last_names)
        male_first = tuple(person.first_names_male)
        female_first = tuple(person.first_names_female)
        rng = self.rng
        n = len(ethnicity)
        male = rng.random(n) < 0.76
        out = np.empty(n, dtype=object)
        for i in range(n):
            surnames = SURNAMES.get(ethnicity[i], kinh)
            last = surnames[rng.integers(len(surnames))]
            if male[i]:
                out[i] = f"{last} Văn {male_first[rng.integers(len(male_first))]}"
            else:
                out[i] = f"{last} Thị {female_first[rng.integers(len(female_first))]}"
        return out

    # ------------------------------------------------------------------ models
    def models(self) -> None:
        rng = self.rng
        n = self.o.households
        scale = n / 20_000
        per_type = {"cow_bank": 40, "buffalo_loan": 25, "free_range_chicken": 35, "medicinal_plant": 20}
        size = {
            "cow_bank": (6, 12),
            "buffalo_loan": (5, 10),
            "free_range_chicken": (12, 25),
            "medicinal_plant": (10, 20),
        }
        # poorer communes get more models
        communes = self.legacy_communes
        c_base = np.array(
            [
                np.median(self.h_base[self.h_commune == i]) if np.any(self.h_commune == i) else np.inf
                for i in range(len(communes))
            ]
        )
        c_weight = np.where(np.isfinite(c_base), 1 / np.maximum(c_base, 1) ** 2, 0)
        c_count = np.bincount(self.h_commune, minlength=len(communes))
        c_weight = np.where(c_count >= max(8, min(30, n // 200)), c_weight, 0)
        if c_weight.sum() == 0:
            self.step("too few households per commune for livelihood models; none created")
            c_weight = np.zeros(len(communes))
        else:
            c_weight = c_weight / c_weight.sum()
        members_of: dict[int, np.ndarray] = {i: np.flatnonzero(self.h_commune == i) for i in range(len(communes))}
        taken = np.zeros(n, dtype=bool)
        self.model_rows: list[dict] = []
        self.participant_rows: list[dict] = []
        self.h_join: dict[str, list[tuple[int, date]]] = defaultdict(list)  # type -> (hh index, joined)
        mid = 0
        pid = 0
        for mtype, base_count in per_type.items():
            count = max(2, int(round(base_count * scale))) if c_weight.any() else 0
            for _ in range(count):
                ci = int(rng.choice(len(communes), p=c_weight))
                c = communes[ci]
                pool = members_of[ci][~taken[members_of[ci]]]
                if len(pool) < 8:
                    continue
                # participants: the poorer 45 % of the commune, as programme rules target
                order = pool[np.argsort(self.h_base[pool])]
                eligible = order[: max(6, int(len(order) * 0.45))]
                lo, hi = size[mtype]
                k = min(len(eligible), int(rng.integers(lo, hi + 1)))
                start_year = int(rng.choice([2022, 2023, 2024], p=[0.35, 0.35, 0.30]))
                start = date(start_year, int(rng.integers(1, 7)), int(rng.integers(1, 28)))
                mid += 1
                chosen = rng.choice(eligible, size=k, replace=False)
                taken[chosen] = True
                passes_on = mtype in ("cow_bank", "buffalo_loan")
                first_gen = chosen[: (k + 1) // 2] if passes_on else chosen
                second_gen = chosen[(k + 1) // 2 :] if passes_on else np.array([], dtype=int)
                gen1_ids: list[int] = []
                for hh in first_gen:
                    pid += 1
                    joined = start + timedelta(days=int(rng.integers(0, 45)))
                    self.participant_rows.append(
                        dict(
                            id=pid,
                            model_id=mid,
                            household_id=int(self.h_id[hh]),
                            joined_on=joined,
                            generation=1,
                            received_from_id=None,
                        )
                    )
                    self.h_join[mtype].append((int(hh), joined))
                    gen1_ids.append(pid)
                for j, hh in enumerate(second_gen):
                    giver = gen1_ids[j % len(gen1_ids)]
                    giver_join = self.participant_rows[giver - 1]["joined_on"]
                    # first calf after ~2 years, raised ~6 months, then handed on
                    joined = giver_join + timedelta(days=int(rng.integers(900, 1000)))
                    if joined > date(2025, 10, 31):
                        taken[hh] = False  # not yet handed on: stays outside the model
                        continue
                    pid += 1
                    self.participant_rows.append(
                        dict(
                            id=pid,
                            model_id=mid,
                            household_id=int(self.h_id[hh]),
                            joined_on=joined,
                            generation=2,
                            received_from_id=giver,
                        )
                    )
                    self.h_join[mtype].append((int(hh), joined))
                anchor = int(first_gen[0])
                n_part = sum(1 for p in self.participant_rows if p["model_id"] == mid)
                unit_cost = {
                    "cow_bank": 16_000_000,
                    "buffalo_loan": 20_000_000,
                    "free_range_chicken": 3_500_000,
                    "medicinal_plant": 9_000_000,
                }[mtype]
                allocated = unit_cost * (len(first_gen) if passes_on else n_part) + 20_000_000
                years_running = 2025 - start_year
                slow = rng.random() < 0.2
                share = rng.uniform(0.25, 0.6) if slow else min(1.0, rng.uniform(0.55, 0.8) + 0.12 * years_running)
                geom = self._model_geom(mtype, anchor)
                village = self.village_names[int(self.h_village[anchor])]
                label = MODEL_LABEL[mtype]
                if mtype == "medicinal_plant":
                    label = f"{label} ({rng.choice(MEDICINAL_SPECIES)})"
                self.model_rows.append(
                    dict(
                        id=mid,
                        code=f"MH-{c.code}-{mid:04d}",
                        model_type=mtype,
                        name=f"{label} – {village}, {c.name}",
                        geom=geom,
                        commune_id=self.unit_ids[("legacy", "commune", c.code)],
                        start_date=start,
                        funding_project=PROJECT_LIVELIHOOD if passes_on else PROJECT_PRODUCTION,
                        funding_subproject=None if passes_on else SUBPROJECT_PRODUCTION,
                        budget_allocated_vnd=int(allocated),
                        budget_disbursed_vnd=int(allocated * share // 1000 * 1000),
                        value_chain_partner=(str(rng.choice(PARTNERS[mtype])) if mtype in PARTNERS else None),
                        status="active" if years_running < 3 else "completed",
                        created_by=DEMO_USER,
                        updated_by=DEMO_USER,
                    )
                )
        self.summary.counts["livelihood models"] = len(self.model_rows)
        self.summary.counts["model participants"] = len(self.participant_rows)

    def _model_geom(self, mtype: str, anchor: int):
        x, y = self.h_x[anchor], self.h_y[anchor]
        rng = self.rng
        if mtype == "medicinal_plant":
            cx, cy = x + rng.normal(0, 300), y + rng.normal(0, 300)
            w, h = rng.uniform(120, 260), rng.uniform(90, 220)
            a = rng.uniform(0, np.pi)
            pts = [(-w / 2, -h / 2), (w / 2, -h / 2 + rng.uniform(-20, 20)), (w / 2, h / 2), (-w / 2, h / 2)]
            ring = [(cx + px * np.cos(a) - py * np.sin(a), cy + px * np.sin(a) + py * np.cos(a)) for px, py in pts]
            return from_shape(to_wgs84(Polygon(ring)), srid=4326)
        return from_shape(to_wgs84(Point(x + rng.normal(0, 60), y + rng.normal(0, 60))), srid=4326)

    # ------------------------------------------------------------------ survey rounds
    def rounds(self) -> None:
        rng = self.rng
        n = self.o.households
        effect = np.zeros((n, len(YEARS)))
        for mtype, joins in self.h_join.items():
            for hh, joined in joins:
                for t, y in enumerate(YEARS):
                    if joined < _surveyed_on(y) - timedelta(days=60):
                        effect[hh, t] += PLANTED_EFFECTS[mtype]
        noise = rng.normal(0, 1, (n, len(YEARS))) * (0.11 * self.h_base)[:, None]
        raw = self.h_base[:, None] + effect + noise  # + the year's common shift, calibrated below
        # deprivations: more likely at low base income; each year's level is calibrated below. The
        # draws are made first (the random stream stays as it was), the thresholds applied after.
        z = -np.log(self.h_base / np.median(self.h_base))
        draws = {}
        for t, _y in enumerate(YEARS):
            cols = {}
            for name, base in DEPRIVATION_BASE.items():
                logit = base + 1.6 * z - 0.12 * t + rng.normal(0, 0.6, n)
                u = rng.random(n)
                # deprived when u < logistic(logit + level), that is when level > logit(u) - logit
                cols[name] = (np.log(u / (1 - u)) - logit).astype(np.float32)
            draws[t] = cols
        standards = self._standards()
        shifts = {}
        dep = {}
        income = np.empty((n, len(YEARS)), dtype=np.int64)
        for t, y in enumerate(YEARS):
            std = next(s for s in standards if s["first_year"] <= y <= s["last_year"])
            urban = self.h_urban_legacy if _surveyed_on(y) <= LEGACY_VALID_TO else self.h_urban_current
            shifts[y], dep[t], rates = calibrate_year(
                raw[:, t], draws[t], std, urban, TARGET_POVERTY_RATE[y] / 100, TARGET_NEAR_POOR_RATE[y] / 100
            )
            income[:, t] = (np.maximum(150_000, raw[:, t] + shifts[y]) // 1000 * 1000).astype(np.int64)
            self.summary.poverty_rate[y] = round(rates[0] * 100, 2)
            self.summary.near_poor_rate[y] = round(rates[1] * 100, 2)
        self.r_income = income
        self.r_dep = dep
        step = rng.integers(-1, 2, (n, len(YEARS)))
        self.r_members = np.clip(self.h_members[:, None] + step * (rng.random((n, len(YEARS))) < 0.15), 1, 12)
        self.year_shift = shifts

    def _standards(self) -> list[dict]:
        out = []
        for std in self.s.scalars(select(PovertyStandard)):
            lines = {
                ln.area_type: (ln.absolute_line, ln.income_line)
                for ln in self.s.scalars(select(PovertyLine).where(PovertyLine.standard_id == std.id))
            }
            out.append(
                dict(
                    first_year=std.first_year,
                    last_year=std.last_year,
                    indicators=list(std.indicators),
                    min_deprivations=std.min_deprivations,
                    lines=lines,
                )
            )
        if not out:
            raise IngestError("no poverty standards in the database: run `sinhke db migrate` first")
        return out

    # ------------------------------------------------------------------ planted errors
    def plant_duplicates(self) -> None:
        rng = self.rng
        n = self.o.households
        k = max(4, min(12, n // 1500))
        src = rng.choice(n, size=k, replace=False)
        self.dup_src = src
        self.dup_truth = []
        for j, i in enumerate(src):
            self.dup_truth.append(dict(original=str(self.h_code[i]), same_id_card=bool(j % 2 == 0)))
        # double enrolment: a cow-bank household also in a buffalo loan (rules forbid both)
        cows = [p for p in self.participant_rows if self._mtype(p["model_id"]) == "cow_bank" and p["generation"] == 1]
        buffalo_models = [m for m in self.model_rows if m["model_type"] == "buffalo_loan"]
        self.double = []
        if cows and buffalo_models:
            picks = rng.choice(len(cows), size=min(8, len(cows)), replace=False)
            next_id = max(p["id"] for p in self.participant_rows)
            for pi in picks:
                p = cows[int(pi)]
                m = buffalo_models[int(rng.integers(len(buffalo_models)))]
                next_id += 1
                joined = max(m["start_date"], p["joined_on"]) + timedelta(days=int(rng.integers(30, 200)))
                self.participant_rows.append(
                    dict(
                        id=next_id,
                        model_id=m["id"],
                        household_id=p["household_id"],
                        joined_on=joined,
                        generation=1,
                        received_from_id=None,
                    )
                )
                self.double.append(dict(household_id=p["household_id"], models=[p["model_id"], m["id"]]))

    def _mtype(self, model_id: int) -> str:
        return self.model_rows[model_id - 1]["model_type"]

    # ------------------------------------------------------------------ bulk writing
    def write_households_and_rounds(self) -> None:
        n = self.o.households
        conn = driver_connection(self.s)
        unit = self.unit_ids
        commune_ids = np.array([unit[("legacy", "commune", c.code)] for c in self.legacy_communes])
        extra = len(self.dup_src)
        self.step(f"writing {n + extra:,} households (COPY)")
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY households (id, code, geom, commune_id, village_id, head_name, id_card_number, "
                "ethnicity, members, registered_on, created_by, updated_by) FROM STDIN"
            ) as cp,
        ):
            for i in range(n):
                cp.write_row(
                    (
                        int(self.h_id[i]),
                        self.h_code[i],
                        f"SRID=4326;POINT({self.h_lon[i]:.7f} {self.h_lat[i]:.7f})",
                        int(commune_ids[self.h_commune[i]]),
                        int(self.h_village[i]),
                        self.h_name[i],
                        self.h_card[i],
                        self.h_ethnicity[i],
                        int(self.h_members[i]),
                        self.h_registered,
                        DEMO_USER,
                        DEMO_USER,
                    )
                )
            for j, i in enumerate(self.dup_src):
                # same head, same village, a few metres away; half share the ID-card number
                dx, dy = self.rng.normal(0, 15, 2)
                lon, lat = _to_lonlat(np.array([self.h_x[i] + dx]), np.array([self.h_y[i] + dy]))
                card = self.h_card[i] if j % 2 == 0 else None
                code = f"{self.legacy_communes[self.h_commune[i]].code}-D{j + 1:04d}"
                self.dup_truth[j]["duplicate"] = code
                cp.write_row(
                    (
                        n + j + 1,
                        code,
                        f"SRID=4326;POINT({lon[0]:.7f} {lat[0]:.7f})",
                        int(commune_ids[self.h_commune[i]]),
                        int(self.h_village[i]),
                        self.h_name[i],
                        card,
                        self.h_ethnicity[i],
                        int(self.h_members[i]),
                        date(2022, 3, 1),
                        DEMO_USER,
                        DEMO_USER,
                    )
                )
        self.step(f"writing {(n + extra) * len(YEARS):,} survey rounds (COPY)")
        cols = list(DEPRIVATION_COLUMNS)
        rid = 0
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY survey_rounds (id, household_id, year, surveyed_on, members, income_per_person_month, "
                + ", ".join(cols)
                + ", source, created_by, updated_by) FROM STDIN"
            ) as cp,
        ):
            for t, y in enumerate(YEARS):
                on = _surveyed_on(y)
                source = f"Rà soát hộ nghèo, hộ cận nghèo năm {y} (dữ liệu mô phỏng)"
                dep = self.r_dep[t]
                dep_rows = np.column_stack([dep[c] for c in cols])
                inc = self.r_income[:, t]
                mem = self.r_members[:, t]
                # COPY's text lines made here rather than by write_row, which adapts each of the
                # 5,000,000 × 21 values of a million households one by one (most of the load's time)
                middle = f"\t{y}\t{on.isoformat()}\t"
                tail = f"\t{source}\t{DEMO_USER}\t{DEMO_USER}\n"
                values = np.column_stack([mem, inc, dep_rows.astype(np.int8)])  # booleans as 1/0
                for start in range(0, n, COPY_CHUNK):
                    lines = [
                        f"{rid + k}\t{k}{middle}{TAB.join(map(str, row))}{tail}"
                        for k, row in enumerate(values[start : start + COPY_CHUNK].tolist(), start=start + 1)
                    ]
                    cp.write("".join(lines))
                rid += n
                for j, i in enumerate(self.dup_src):
                    if y < 2022:
                        continue
                    rid += 1
                    cp.write_row(
                        (
                            rid,
                            n + j + 1,
                            y,
                            on,
                            int(mem[i]),
                            int(inc[i]) + 10_000 * (j % 3),
                            *dep_rows[i].tolist(),
                            source,
                            DEMO_USER,
                            DEMO_USER,
                        )
                    )
        self.summary.counts["households"] = n + extra
        self.summary.counts["survey rounds"] = rid

    def write_models(self) -> None:
        # multi-row INSERTs of INSERT_CHUNK rows: row by row (the ORM's bulk insert starts a new
        # batch whenever received_from_id turns None; psycopg's executemany sends a statement a
        # row) each of the million-household demo's 67,770 participants fired the statement
        # triggers of its own INSERT, most of the load's time
        self.step(f"writing {len(self.model_rows):,} models and {len(self.participant_rows):,} participants")
        participants = [dict(p, created_by=DEMO_USER, updated_by=DEMO_USER) for p in self.participant_rows]
        for model, rows in ((LivelihoodModel, self.model_rows), (ModelParticipant, participants)):
            table = cast(Table, model.__table__)
            for start in range(0, len(rows), INSERT_CHUNK):
                self.s.execute(insert(table).values(rows[start : start + INSERT_CHUNK]))

    # ------------------------------------------------------------------ works and schemes
    def _piece_for(self, ci: int) -> tuple[tuple[str, str], BaseGeometry]:
        code = self.legacy_communes[ci].code
        keys = [k for k in self.piece_metric if k[0] == code]
        key = keys[int(self.rng.integers(len(keys)))]
        return key, self.piece_metric[key]

    def _commune_weights(self) -> np.ndarray:
        w = np.array([0.5 + self.remoteness[c.code] for c in self.legacy_communes])
        return w / w.sum()

    def works(self) -> None:
        rng = self.rng
        types = (
            ("road", 0.35),
            ("bridge", 0.12),
            ("school", 0.15),
            ("clinic", 0.1),
            ("irrigation", 0.18),
            ("market", 0.1),
        )
        budget = {
            "road": (2e9, 15e9),
            "bridge": (1e9, 6e9),
            "school": (3e9, 10e9),
            "clinic": (2e9, 6e9),
            "irrigation": (1e9, 5e9),
            "market": (1e9, 4e9),
        }
        w = self._commune_weights()
        rows = []
        for wid in range(1, 261):
            wtype = str(rng.choice([t for t, _ in types], p=[p for _, p in types]))
            ci = int(rng.choice(len(self.legacy_communes), p=w))
            (old, new), piece = self._piece_for(ci)
            vxy = self.village_xy[old]
            start_year = int(rng.choice([2021, 2022, 2023, 2024, 2025, 2026], p=[0.15, 0.2, 0.22, 0.2, 0.15, 0.08]))
            start = date(start_year, int(rng.integers(1, 12)), int(rng.integers(1, 28)))
            months = int(rng.integers(6, 20))
            done = start + timedelta(days=30 * months)
            if start_year == 2026:
                status, start_d, done_d = "planned", None, None
            elif rng.random() < 0.04:
                status, start_d, done_d = "suspended", start, None
            elif done <= date(2025, 10, 31):
                status, start_d, done_d = "completed", start, done
            else:
                status, start_d, done_d = "under_construction", start, None
            b = float(rng.uniform(*budget[wtype])) // 1_000_000 * 1_000_000
            share = {
                "planned": 0.0,
                "suspended": rng.uniform(0.1, 0.5),
                "completed": rng.uniform(0.85, 1.0),
                "under_construction": rng.uniform(0.15, 0.8),
            }[status]
            geom = self._work_geom(wtype, piece, vxy)
            at_current = start_d is None or start_d >= CURRENT_VALID_FROM
            commune_id = self.unit_ids[("current", "commune", new) if at_current else ("legacy", "commune", old)]
            cname = self.legacy_communes[ci].name
            rows.append(
                dict(
                    id=wid,
                    code=f"CT-{old}-{wid:04d}",
                    work_type=wtype,
                    name=f"{WORK_LABEL[wtype]} {cname} ({wid})",
                    geom=from_shape(to_wgs84(geom), srid=4326),
                    commune_id=commune_id,
                    status=status,
                    start_date=start_d,
                    completion_date=done_d,
                    budget_vnd=int(b),
                    disbursed_vnd=int(b * share // 1_000_000 * 1_000_000),
                    funding_project=PROJECT_INFRA,
                    created_by=DEMO_USER,
                    updated_by=DEMO_USER,
                )
            )
        self.s.execute(insert(InfrastructureWork), rows)
        self.summary.counts["infrastructure works"] = len(rows)

    def _work_geom(self, wtype: str, piece, vxy: np.ndarray):
        rng = self.rng
        a = vxy[int(rng.integers(len(vxy)))]
        if wtype in ("road", "irrigation"):
            b = vxy[int(rng.integers(len(vxy)))]
            if np.allclose(a, b) or np.hypot(*(a - b)) > 6000:
                ang = rng.uniform(0, 2 * np.pi)
                b = a + rng.uniform(800, 2500) * np.array([np.cos(ang), np.sin(ang)])
            mid = (a + b) / 2 + rng.normal(0, 250, 2)
            line = LineString([tuple(a), tuple(mid), tuple(b)])
            clipped = line.intersection(piece)
            if clipped.is_empty or clipped.geom_type != "LineString":
                return (
                    LineString([tuple(a), tuple(a + np.array([400.0, 300.0]))]).intersection(piece)
                    if not LineString([tuple(a), tuple(a + np.array([400.0, 300.0]))]).intersection(piece).is_empty
                    else Point(*a)
                )
            return clipped
        p = Point(*(a + rng.normal(0, 200, 2)))
        if not piece.contains(p):
            p = Point(*a)
        if wtype == "market":
            return p.buffer(35, cap_style="square")
        return p

    def water_schemes(self) -> None:
        rng = self.rng
        w = self._commune_weights()
        rows = []
        for sid in range(1, 161):
            ci = int(rng.choice(len(self.legacy_communes), p=w))
            (old, new), piece = self._piece_for(ci)
            vxy = self.village_xy[old]
            p = Point(*(vxy[int(rng.integers(len(vxy)))] + rng.normal(0, 150, 2)))
            if not piece.contains(p):
                p = piece.representative_point()
            area = p.buffer(float(rng.uniform(700, 1500))).intersection(piece)
            tech = str(rng.choice([t for t, _ in WATER_TECH], p=[q for _, q in WATER_TECH]))
            year = int(rng.integers(2008, 2026))
            status = str(rng.choice(["functional", "partially_functional", "not_functional"], p=[0.6, 0.25, 0.15]))
            at_current = year >= 2026 or (year == 2025 and rng.random() < 0.5)
            rows.append(
                dict(
                    id=sid,
                    code=f"NS-{old}-{sid:04d}",
                    name=f"Công trình cấp nước {self.legacy_communes[ci].name} ({sid})",
                    geom=from_shape(to_wgs84(p), srid=4326),
                    service_area=from_shape(as_multipolygon(to_wgs84(area)), srid=4326),
                    commune_id=self.unit_ids[("current", "commune", new) if at_current else ("legacy", "commune", old)],
                    capacity_m3_day=None,
                    technology=tech,
                    install_year=year,
                    status=status,
                    status_reported_on=date(2025, int(rng.integers(1, 11)), int(rng.integers(1, 28))),
                    budget_vnd=int(rng.uniform(0.8e9, 6e9) // 1_000_000 * 1_000_000),
                    created_by=DEMO_USER,
                    updated_by=DEMO_USER,
                )
            )
        self.s.execute(insert(WaterScheme), rows)
        # households inside a scheme's service area are served by it; capacity follows
        self.s.execute(
            text("""
            INSERT INTO water_scheme_households (scheme_id, household_id, connected_on, created_by, updated_by)
            SELECT s.id, h.id, make_date(greatest(s.install_year, 2008), 6, 1), 'demo', 'demo'
            FROM water_schemes s JOIN households h ON ST_Intersects(s.service_area, h.geom)
            ON CONFLICT DO NOTHING
        """)
        )
        self.s.execute(
            text("""
            UPDATE water_schemes s SET capacity_m3_day = round((greatest(c.n, 10) * 4 * 0.08)::numeric, 1)
            FROM (SELECT s2.id, count(wh.household_id) AS n FROM water_schemes s2
                  LEFT JOIN water_scheme_households wh ON wh.scheme_id = s2.id GROUP BY s2.id) c
            WHERE c.id = s.id
        """)
        )
        self.summary.counts["water schemes"] = len(rows)

    # ------------------------------------------------------------------ truth
    def truth(self) -> None:
        rows = [
            dict(
                kind="planted_effect",
                key=k,
                value=float(v),
                detail={
                    "unit": "VND per person per month",
                    "applies": "from the first survey round at least 60 days after joining",
                    "seed": self.o.seed,
                    "households": self.o.households,
                },
            )
            for k, v in PLANTED_EFFECTS.items()
        ]
        rows += [
            dict(kind="poverty_rate_target", key=str(y), value=v, detail={"achieved": self.summary.poverty_rate.get(y)})
            for y, v in TARGET_POVERTY_RATE.items()
        ]
        rows += [
            dict(
                kind="near_poor_rate_target",
                key=str(y),
                value=v,
                detail={"achieved": self.summary.near_poor_rate.get(y)},
            )
            for y, v in TARGET_NEAR_POOR_RATE.items()
        ]
        rows += [
            dict(kind="year_income_shift", key=str(y), value=float(v), detail=None) for y, v in self.year_shift.items()
        ]
        rows += [
            dict(kind="planted_duplicate_household", key=d["duplicate"], value=None, detail=d) for d in self.dup_truth
        ]
        rows += [
            dict(kind="planted_double_enrolment", key=str(d["household_id"]), value=None, detail=d) for d in self.double
        ]
        rows.append(
            dict(
                kind="demo_options",
                key="options",
                value=None,
                detail={"households": self.o.households, "seed": self.o.seed, "province": self.o.province},
            )
        )
        self.s.execute(insert(DemoTruth), rows)


def calibrate_year(
    raw: np.ndarray,
    thresholds: dict[str, np.ndarray],
    std: dict,
    urban: np.ndarray,
    poor_target: float,
    near_poor_target: float,
) -> tuple[float, dict[str, np.ndarray], tuple[float, float]]:
    """One survey year on both published paths: the income shift that puts the poor and near-poor
    (income at or under the line, whatever the deprivations) at their summed share, then the level of
    deprivation that makes the poor (at or under the line with enough deprivations, or under the
    absolute line) their share; both by bisection, as ``classify_households`` will classify them.
    ``thresholds``: per indicator, the level above which each household is deprived.
    Returns the shift, the deprivation columns and the (poor, near-poor) shares reached."""
    line = np.where(urban, std["lines"]["urban"][1], std["lines"]["rural"][1])
    ab = std["lines"]["rural"][0]
    absolute = np.where(urban, std["lines"]["urban"][0], ab) if ab is not None else None
    lo, hi = -3_000_000.0, 6_000_000.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if (np.maximum(150_000, raw + mid) <= line).mean() > poor_target + near_poor_target:
            lo = mid
        else:
            hi = mid
    shift = (lo + hi) / 2
    inc = np.maximum(150_000, raw + shift)
    under = inc <= line
    very_poor = inc <= absolute if absolute is not None else np.zeros(len(inc), dtype=bool)
    names = list(std["indicators"])
    # only the households under the line decide the poor share: count their deprivations alone
    sub = [thresholds[name][under] for name in names]
    sub_very_poor = very_poor[under]

    def poor_share(level: float) -> float:
        count = np.zeros(len(sub_very_poor), dtype=np.int16)
        for thr in sub:
            count += thr < level
        return float(((count >= std["min_deprivations"]) | sub_very_poor).sum()) / len(inc)

    lo, hi = -10.0, 10.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if poor_share(mid) > poor_target:
            hi = mid
        else:
            lo = mid
    level = np.float32((lo + hi) / 2)
    cols = {name: thr < level for name, thr in thresholds.items()}
    count = sum(cols[c].astype(np.int16) for c in names)
    poor = (under & (count >= std["min_deprivations"])) | very_poor
    return shift, cols, (float(poor.mean()), float((under & ~poor).mean()))


def _surveyed_on(year: int) -> date:
    """Reference date of a round: the periodic review ends by mid-December."""
    return date(year, 11, 15)


def _to_lonlat(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    t = Transformer.from_crs(3405, 4326, always_xy=True)
    lon, lat = t.transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)


#: one user per role, scoped to different areas: (name, role, display name, areas)
#: areas: province code, or the 2025 communes that hold these legacy districts' first communes
DEMO_ACCOUNTS = (
    ("admin", "admin", "Quản trị viên", ("province",)),
    ("planner", "planner", "Cán bộ kế hoạch Bình Gia", ("Bình Gia", 4)),
    ("extension", "extension_worker", "Khuyến nông viên Văn Quan", ("Văn Quan", 2)),
    ("evaluator", "evaluator", "Cán bộ đánh giá", ("province",)),
)


def demo_forms(session: Session) -> int:
    """The shipped field forms (forms/*.xlsx); unchanged ones are left as they are."""
    from ingest.forms import load_forms

    return sum(1 for o in load_forms(session) if o.status == "added")


def demo_password(seed: int, name: str) -> str:
    """Deterministic for a seed, so `make demo` can print the logins again later."""
    import hashlib

    return f"{name}-" + hashlib.sha256(f"sinhke-demo-{seed}-{name}".encode()).hexdigest()[:10]


def _demo_area_codes(session: Session, spec: tuple) -> list[str]:
    if spec[0] == "province":
        province = select(AdminUnit.code).where(AdminUnit.level == "province", AdminUnit.boundary == "current")
        return list(session.scalars(province))[:1]
    district, count = spec
    rows = (
        session.execute(
            text("""
        SELECT DISTINCT n.code FROM admin_units d
        JOIN admin_units o ON o.parent_id = d.id
        JOIN admin_crosswalk x ON x.old_unit_id = o.id AND x.is_default
        JOIN admin_units n ON n.id = x.new_unit_id
        WHERE d.level = 'district' AND d.name LIKE '%' || :district ORDER BY n.code LIMIT :n
    """),
            {"district": district, "n": count},
        )
        .scalars()
        .all()
    )
    return list(rows)


def demo_users(session: Session, seed: int | None = None, *, only_missing: bool = False) -> None:
    """Create (or reset) the demo's users: passwords from the seed, areas as listed.
    ``only_missing`` leaves existing accounts (and changed passwords) alone."""
    from spatial.accounts import assign_areas, create_user, get_user, set_password

    if seed is None:
        row = session.scalar(select(DemoTruth).where(DemoTruth.kind == "demo_options"))
        if row is None:
            return
        seed = int((row.detail or {})["seed"])
    for name, role, display, spec in DEMO_ACCOUNTS:
        codes = _demo_area_codes(session, spec)
        password = demo_password(seed, name)
        if session.scalar(select(User.id).where(User.name == name)) is None:
            create_user(session, name, role, password=password, areas=codes, display_name=display)
        elif only_missing:
            continue
        else:
            user = get_user(session, name)
            user.role, user.display_name, user.disabled_at = role, display, None
            set_password(session, user, password)
            assign_areas(session, user, codes)


def describe_logins(session: Session) -> str:
    from spatial.accounts import user_areas

    seed_row = session.scalar(select(DemoTruth).where(DemoTruth.kind == "demo_options"))
    if seed_row is None:
        return ""
    seed = int((seed_row.detail or {})["seed"])
    lines = ["Demo logins (sign in at /login on the demo server):"]
    for name, role, _display, _spec in DEMO_ACCOUNTS:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            continue
        areas = ", ".join(a.name for a in user_areas(session, user.id))
        lines.append(f"  {name:<10} {demo_password(seed, name):<22} {role:<17} {areas}")
    return "\n".join(lines) + "\n"


def planted_effects(session: Session) -> dict[str, float]:
    rows = session.scalars(select(DemoTruth).where(DemoTruth.kind == "planted_effect"))
    return {row.key: row.value for row in rows if row.value is not None}


def describe(summary: DemoSummary) -> str:
    """What a person reads after `sinhke demo`."""
    out = io.StringIO()
    out.write(f"Lạng Sơn demo loaded in {summary.seconds:.1f} s\n")
    for k, v in summary.counts.items():
        out.write(f"  {k:<22} {v:>10,}\n")
    out.write("Provincial poverty rate of the rounds (% of households, calibrated):\n")
    for y, r in summary.poverty_rate.items():
        out.write(f"  {y}: {r:5.2f} %  (target {TARGET_POVERTY_RATE[y]} %)\n")
    out.write("Provincial near-poor rate of the rounds (% of households, calibrated):\n")
    for y, r in summary.near_poor_rate.items():
        out.write(f"  {y}: {r:5.2f} %  (target {TARGET_NEAR_POOR_RATE[y]} %)\n")
    out.write("Planted effect of participation on income (VND per person per month):\n")
    for k, v in summary.planted_effects.items():
        out.write(f"  {k:<20} +{v:,}\n")
    out.write("Commune polygons are approximations (real centroids and boxes, not real borders).\n")
    out.write(summary.logins)
    return out.getvalue()
