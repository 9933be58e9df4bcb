"""The layers a file can be imported into, one :class:`~ingest.tabular.TableImporter` each.

Layer names are those of ``/api/layers/…``. Each declares its fields with the headers a
provincial office writes (Vietnamese with or without diacritics, English), its natural key
(household code, model code, work code …) and its geometry. See ``README.md`` for the columns
of each layer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ingest.headers import fold
from ingest.importing import ImportReport, register
from ingest.tabular import COMMUNE_ALIASES, VILLAGE_ALIASES, Field, TableImporter
from spatial import N_, Message
from spatial.models import CURRENT_VALID_FROM, DEPRIVATION_COLUMNS
from spatial.placement import place_households, replace_placement


def choices(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """stored value -> what people write, as the folded lookup :class:`Field` reads."""
    return {fold(alias): stored for stored, aliases in table.items() for alias in (stored, *aliases)}


CODE = ("mã", "ma", "code", "số hiệu", "so hieu", "id")
NAME = ("tên", "ten", "name")


STATUS = ("trạng thái", "trang thai", "tình trạng", "tình trạng hoạt động")


def status_field(values: dict[str, str]) -> Field:
    return Field("status", "choice", required=True, choices=values, aliases=STATUS)


def commune_field() -> Field:
    return Field("commune", "text", required=True, aliases=COMMUNE_ALIASES, max_length=120, column="")


@register
class HouseholdImporter(TableImporter):
    layer = "households"
    title = "Households"
    table = "households"
    commune_date_field = "registered_on"
    has_village = True
    fields = (
        Field(
            "code",
            required=True,
            max_length=30,
            aliases=("mã hộ", "ma ho", "household code", "household", "mã hộ gia đình", *CODE),
        ),
        Field(
            "head_name",
            required=True,
            max_length=120,
            aliases=(
                "họ và tên chủ hộ",
                "họ tên chủ hộ",
                "chủ hộ",
                "ten chu ho",
                "head",
                "head of household",
                "họ và tên",
            ),
        ),
        commune_field(),
        Field("village", aliases=VILLAGE_ALIASES, max_length=120, column=""),
        Field(
            "id_card_number",
            max_length=12,
            aliases=("số cccd", "cccd", "cmnd", "số cmnd", "căn cước", "id card", "so cccd"),
        ),
        Field("ethnicity", max_length=40, aliases=("dân tộc", "dan toc", "ethnic group")),
        Field(
            "members",
            "int",
            required=True,
            minimum=1,
            maximum=99,
            aliases=("số nhân khẩu", "nhân khẩu", "số khẩu", "so nhan khau", "số thành viên", "household size", "size"),
        ),
        Field(
            "registered_on",
            "date",
            required=True,
            aliases=("ngày đăng ký", "ngay dang ky", "registered", "registration date"),
        ),
    )

    def _upsert(self, session: Session, stg: str, report: ImportReport) -> None:
        super()._upsert(session, stg, report)
        # placements follow the point and the commune: re-place what this import moved
        moved = (
            session.execute(
                text(f"""SELECT h.id FROM households h JOIN {stg} s ON s.code = h.code
                     WHERE h.updated_at = now()""")
            )
            .scalars()
            .all()
        )
        if moved:
            replace_placement(session, list(moved))
            place_households(session, list(moved))


@register
class VillageImporter(TableImporter):
    layer = "villages"
    title = "Villages"
    table = "villages"
    fields = (
        Field("code", required=True, max_length=20, aliases=("mã thôn", "ma thon", "mã bản", "village code", *CODE)),
        Field(
            "name",
            required=True,
            max_length=120,
            aliases=("tên thôn", "tên thôn/bản", "thôn/bản", "ten thon", "village", *NAME),
        ),
        commune_field(),
    )


MODEL_TYPES = choices(
    {
        "cow_bank": ("ngân hàng bò", "bò", "nuôi bò", "bò sinh sản", "cow bank", "cow"),
        "buffalo_loan": ("trâu", "cho vay trâu", "ngân hàng trâu", "nuôi trâu", "buffalo", "buffalo loan"),
        "free_range_chicken": ("gà", "gà thả vườn", "nuôi gà", "chicken", "free range chicken"),
        "medicinal_plant": ("dược liệu", "cây dược liệu", "trồng dược liệu", "medicinal plants", "medicinal plant"),
    }
)
ASSET_STATUSES = {
    "planned": ("kế hoạch", "dự kiến", "chưa triển khai", "planned"),
    "completed": ("hoàn thành", "đã hoàn thành", "completed", "done"),
    "suspended": ("tạm dừng", "dừng", "suspended"),
}
MODEL_STATUSES = choices({**ASSET_STATUSES, "active": ("đang thực hiện", "hoạt động", "đang hoạt động", "active")})
WORK_STATUSES = choices(
    {**ASSET_STATUSES, "under_construction": ("đang thi công", "đang xây dựng", "under construction")}
)
WORK_TYPES = choices(
    {
        "road": ("đường", "đường giao thông", "giao thông", "road"),
        "bridge": ("cầu", "bridge"),
        "school": ("trường", "trường học", "school"),
        "clinic": ("trạm y tế", "y tế", "clinic"),
        "irrigation": ("thủy lợi", "thuỷ lợi", "kênh mương", "irrigation"),
        "market": ("chợ", "market"),
    }
)
WATER_STATUSES = choices(
    {
        "functional": ("hoạt động", "hoạt động bình thường", "bền vững", "tốt", "functional"),
        "partially_functional": (
            "cần sửa chữa",
            "hoạt động một phần",
            "tương đối bền vững",
            "kém bền vững",
            "partially functional",
        ),
        "not_functional": ("không hoạt động", "hỏng", "ngừng hoạt động", "not functional"),
    }
)
FUNDING = ("dự án", "du an", "nguồn vốn", "funding project", "project")
BUDGET = ("kinh phí", "tổng kinh phí", "kinh phi", "vốn phân bổ", "budget", "budget vnd")
DISBURSED = ("giải ngân", "đã giải ngân", "giai ngan", "disbursed", "disbursed vnd")


@register
class LivelihoodModelImporter(TableImporter):
    layer = "livelihood_models"
    title = "Livelihood models"
    table = "livelihood_models"
    geometry = "any"
    geometry_required = True
    commune_date_field = "start_date"
    scope_layer = "model"
    fields = (
        Field("code", required=True, max_length=30, aliases=("mã mô hình", "ma mo hinh", "model code", *CODE)),
        Field("name", required=True, max_length=200, aliases=("tên mô hình", "ten mo hinh", "model", *NAME)),
        Field(
            "model_type",
            "choice",
            required=True,
            choices=MODEL_TYPES,
            aliases=("loại mô hình", "loai mo hinh", "loại", "type"),
        ),
        commune_field(),
        Field(
            "start_date",
            "date",
            required=True,
            aliases=("ngày bắt đầu", "ngay bat dau", "bắt đầu", "start", "start date"),
        ),
        Field("funding_project", required=True, max_length=200, aliases=FUNDING),
        Field("funding_subproject", max_length=200, aliases=("tiểu dự án", "tieu du an", "subproject", "sub-project")),
        Field("budget_allocated_vnd", "money", required=True, aliases=BUDGET + ("vốn được phân bổ",)),
        Field("budget_disbursed_vnd", "money", default=0, aliases=DISBURSED),
        Field(
            "value_chain_partner",
            max_length=200,
            aliases=("đối tác", "doanh nghiệp liên kết", "liên kết", "value chain partner", "partner"),
        ),
        status_field(MODEL_STATUSES),
    )

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        allocated, disbursed = values.get("budget_allocated_vnd"), values.get("budget_disbursed_vnd")
        if allocated is not None and disbursed is not None and disbursed > allocated:
            return [
                (
                    "budget_disbursed_vnd",
                    disbursed,
                    Message(N_("more than the allocated {amount}"), amount=f"{allocated:,}"),
                )
            ]
        return []


@register
class InfrastructureWorkImporter(TableImporter):
    layer = "infrastructure_works"
    title = "Infrastructure works"
    table = "infrastructure_works"
    geometry = "any"
    geometry_required = True
    commune_date_field = "start_date"
    scope_layer = "work"
    fields = (
        Field("code", required=True, max_length=30, aliases=("mã công trình", "ma cong trinh", "work code", *CODE)),
        Field("name", required=True, max_length=200, aliases=("tên công trình", "ten cong trinh", "work", *NAME)),
        Field(
            "work_type",
            "choice",
            required=True,
            choices=WORK_TYPES,
            aliases=("loại công trình", "loai cong trinh", "loại", "type"),
        ),
        status_field(WORK_STATUSES),
        commune_field(),
        Field("start_date", "date", aliases=("ngày khởi công", "khởi công", "ngay khoi cong", "start", "start date")),
        Field(
            "completion_date",
            "date",
            aliases=("ngày hoàn thành", "hoàn thành", "ngay hoan thanh", "completion date", "completed on"),
        ),
        Field("budget_vnd", "money", required=True, aliases=BUDGET),
        Field("disbursed_vnd", "money", default=0, aliases=DISBURSED),
        Field("funding_project", max_length=200, aliases=FUNDING),
    )

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        out: list[tuple[str, Any, str]] = []
        if (
            values.get("disbursed_vnd") is not None
            and values.get("budget_vnd") is not None
            and values["disbursed_vnd"] > values["budget_vnd"]
        ):
            out.append(
                (
                    "disbursed_vnd",
                    values["disbursed_vnd"],
                    Message(N_("more than the budget {amount}"), amount=f"{values['budget_vnd']:,}"),
                )
            )
        if (
            values.get("start_date")
            and values.get("completion_date")
            and values["completion_date"] < values["start_date"]
        ):
            out.append(("completion_date", values["completion_date"], N_("before the start date")))
        return out


@register
class WaterSchemeImporter(TableImporter):
    """Water schemes, and the households each serves (a column of household codes)."""

    layer = "water_schemes"
    title = "Water schemes"
    table = "water_schemes"
    geometry = "point"
    geometry_required = True
    scope_layer = "water_scheme"
    fields = (
        Field(
            "code",
            required=True,
            max_length=30,
            aliases=("mã công trình", "mã công trình nước", "ma cong trinh", "scheme code", *CODE),
        ),
        Field("name", required=True, max_length=200, aliases=("tên công trình", "ten cong trinh", "scheme", *NAME)),
        commune_field(),
        Field(
            "technology",
            required=True,
            max_length=40,
            aliases=("loại hình", "công nghệ", "loai hinh", "cong nghe", "water technology"),
        ),
        Field(
            "capacity_m3_day",
            "float",
            minimum=0,
            aliases=("công suất", "cong suat", "công suất m3/ngày", "capacity", "capacity m3 day"),
        ),
        Field(
            "install_year",
            "year",
            aliases=("năm xây dựng", "nam xay dung", "năm lắp đặt", "install year", "year built"),
        ),
        status_field(WATER_STATUSES),
        Field(
            "status_reported_on", "date", aliases=("ngày báo cáo", "ngay bao cao", "report date", "status reported on")
        ),
        Field("budget_vnd", "money", aliases=BUDGET),
        Field(
            "households",
            "codes",
            column="",
            aliases=(
                "hộ được cấp nước",
                "hộ sử dụng",
                "các hộ",
                "ho duoc cap nuoc",
                "households served",
                "served households",
            ),
        ),
    )

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        self.reject_where(
            session,
            f"""SELECT s.row_no, c FROM {stg} s, unnest(s.households) c
                WHERE NOT EXISTS (SELECT 1 FROM households h WHERE h.code = c) ORDER BY s.row_no""",
            {},
            "households",
            N_("no household with code {value} (or not in your area)"),
            report,
        )

    def after_write(self, session: Session, stg: str, report: ImportReport) -> None:
        linked = session.execute(
            text(f"""
            WITH links AS (
              INSERT INTO water_scheme_households (scheme_id, household_id)
              SELECT w.id, h.id FROM {stg} s JOIN water_schemes w ON w.code = s.code,
                     unnest(s.households) c JOIN households h ON h.code = c
              ON CONFLICT DO NOTHING RETURNING 1)
            SELECT count(*) FROM links""")
        ).scalar_one()
        if linked:
            report.notes.append(Message(N_("{n} household connections added to the schemes"), n=linked))


@register
class SurveyRoundImporter(TableImporter):
    """One household in one annual review (key: household code and year); the fast path is the
    same COPY into staging as every layer, then one upsert."""

    layer = "survey_rounds"
    title = "Survey rounds"
    table = "survey_rounds"
    geometry = None
    has_commune = False
    key = ("household", "year")
    fields = (
        Field(
            "household",
            required=True,
            max_length=30,
            column="",
            aliases=("mã hộ", "ma ho", "household code", "household_code"),
        ),
        Field("year", "year", required=True, aliases=("năm", "nam", "năm rà soát", "year")),
        Field(
            "surveyed_on",
            "date",
            required=True,
            aliases=("ngày điều tra", "ngày rà soát", "ngay dieu tra", "surveyed", "survey date"),
        ),
        Field(
            "members",
            "int",
            required=True,
            minimum=1,
            maximum=99,
            aliases=("số nhân khẩu", "nhân khẩu", "so nhan khau", "household size"),
        ),
        Field(
            "income_per_person_month",
            "money",
            required=True,
            aliases=(
                "thu nhập bình quân",
                "thu nhập bình quân đầu người",
                "thu nhap binh quan",
                "thu nhập bình quân/người/tháng",
                "thu nhập bình quân người tháng",
                "income",
                "income per person month",
            ),
        ),
        *(Field(c, "bool", default=False, aliases=(c[2:].replace("_", " "),)) for c in DEPRIVATION_COLUMNS),
        Field("source", max_length=80, aliases=("nguồn", "nguon", "source")),
    )

    def defaults(self, report: ImportReport) -> dict[str, Any]:
        return {"source": report.filename[:80]}

    def extra_stage_columns(self) -> list[str]:
        return ["household_id integer"]

    def written_columns(self) -> dict[str, str]:
        cols = super().written_columns()
        cols["household_id"] = "household_id"
        return cols

    def conflict_target(self) -> tuple[str, ...]:
        return ("household_id", "year")

    def fast_joins(self, raw: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        return [f"LEFT JOIN households fh ON fh.code = {raw['household']}"], {"household_id": "fh.id"}

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        session.execute(
            text(
                f"UPDATE {stg} s SET household_id = h.id FROM households h "
                "WHERE s.household_id IS NULL AND h.code = s.household"
            )
        )
        self.reject_where(
            session,
            f"SELECT row_no, household FROM {stg} WHERE household_id IS NULL ORDER BY row_no",
            {},
            "household",
            N_("no household with this code (or not in your area)"),
            report,
        )


@register
class ParticipantImporter(TableImporter):
    """Households in livelihood models (key: model code and household code); a pass-on recipient
    names the household it received from, in the same model (its generation follows)."""

    layer = "participants"
    title = "Model participants"
    table = "model_participants"
    geometry = None
    has_commune = False
    key = ("model", "household")
    fields = (
        Field("model", required=True, max_length=30, column="", aliases=("mã mô hình", "ma mo hinh", "model code")),
        Field("household", required=True, max_length=30, column="", aliases=("mã hộ", "ma ho", "household code")),
        Field("joined_on", "date", required=True, aliases=("ngày tham gia", "ngay tham gia", "joined", "joined on")),
        Field("left_on", "date", aliases=("ngày rời", "ngày ra khỏi", "ngay roi", "left", "left on")),
        Field(
            "received_from",
            max_length=30,
            column="",
            aliases=("nhận từ hộ", "nhận bàn giao từ hộ", "nhan tu ho", "received from", "received from household"),
        ),
    )

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        if values.get("left_on") and values.get("joined_on") and values["left_on"] < values["joined_on"]:
            return [("left_on", values["left_on"], N_("before the date the household joined"))]
        if values.get("received_from") and values["received_from"] == values.get("household"):
            return [("received_from", values["received_from"], N_("a household cannot receive from itself"))]
        return []

    def extra_stage_columns(self) -> list[str]:
        return ["model_id integer", "household_id integer", "received_from_id integer", "generation smallint"]

    def written_columns(self) -> dict[str, str]:
        cols = super().written_columns()
        cols.update(
            model_id="model_id",
            household_id="household_id",
            received_from_id="received_from_id",
            generation="generation",
        )
        return cols

    def conflict_target(self) -> tuple[str, ...]:
        return ("model_id", "household_id")

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        session.execute(text(f"UPDATE {stg} s SET model_id = m.id FROM livelihood_models m WHERE m.code = s.model"))
        session.execute(text(f"UPDATE {stg} s SET household_id = h.id FROM households h WHERE h.code = s.household"))
        for column, field_name, reason in (
            ("model_id", "model", N_("no livelihood model with this code (or not in your area)")),
            ("household_id", "household", N_("no household with this code (or not in your area)")),
        ):
            self.reject_where(
                session,
                f"SELECT row_no, {field_name} FROM {stg} WHERE {column} IS NULL ORDER BY row_no",
                {},
                field_name,
                reason,
                report,
            )
        # the giver: a participant of the same model, stored already or elsewhere in this file
        session.execute(
            text(f"""UPDATE {stg} s SET received_from_id = p.id, generation = p.generation + 1
                     FROM model_participants p JOIN households h ON h.id = p.household_id
                     WHERE s.received_from IS NOT NULL AND p.model_id = s.model_id AND h.code = s.received_from""")
        )
        session.execute(text(f"UPDATE {stg} SET generation = 1 WHERE received_from IS NULL"))
        self.reject_where(
            session,
            f"""SELECT row_no, received_from FROM {stg} s WHERE received_from IS NOT NULL AND received_from_id IS NULL
                AND NOT EXISTS (SELECT 1 FROM {stg} g WHERE g.model_id = s.model_id
                                AND g.household = s.received_from) ORDER BY row_no""",
            {},
            "received_from",
            N_("no participant of this model with household code {value}, stored or in this file"),
            report,
        )

    def _upsert(self, session: Session, stg: str, report: ImportReport) -> None:
        # givers listed in the same file: insert generation by generation
        pending = session.execute(
            text(f"SELECT count(*) FROM {stg} WHERE received_from IS NOT NULL AND received_from_id IS NULL")
        ).scalar_one()
        if not pending:
            super()._upsert(session, stg, report)
            return
        waiting = f"{stg}_waiting"
        session.execute(text(f"DROP TABLE IF EXISTS {waiting}"))
        session.execute(
            text(
                f"CREATE TEMP TABLE {waiting} ON COMMIT DROP AS SELECT * FROM {stg} "
                "WHERE received_from IS NOT NULL AND received_from_id IS NULL"
            )
        )
        session.execute(text(f"DELETE FROM {stg} WHERE received_from IS NOT NULL AND received_from_id IS NULL"))
        totals = [0, 0, 0]
        while True:
            super()._upsert(session, stg, report)
            totals = [totals[0] + report.inserted, totals[1] + report.updated, totals[2] + report.unchanged]
            session.execute(text(f"TRUNCATE {stg}"))
            moved = session.execute(
                text(f"""WITH ready AS (
                           DELETE FROM {waiting} w USING model_participants p, households h
                           WHERE h.id = p.household_id AND p.model_id = w.model_id AND h.code = w.received_from
                           RETURNING w.*, p.id AS giver, p.generation AS giver_generation)
                         INSERT INTO {stg} SELECT {", ".join(self._stage_all())} FROM ready RETURNING 1""")
            ).all()
            if not moved:
                break
        report.inserted, report.updated, report.unchanged = totals
        self.reject_where(
            session,
            f"SELECT row_no, received_from FROM {waiting} ORDER BY row_no",
            {},
            "received_from",
            N_("a pass-on chain that returns to itself: household {value} cannot have received first"),
            report,
        )

    def _stage_all(self) -> list[str]:
        names = ["row_no"] + [f.name for f in self.fields] + ["model_id", "household_id"]
        return names + ["giver", "giver_generation + 1"]


UNIT_LEVELS = choices(
    {
        "province": ("tỉnh", "thành phố trực thuộc trung ương", "cấp tỉnh", "province"),
        "district": ("huyện", "quận", "thị xã", "cấp huyện", "district"),
        "commune": ("xã", "phường", "thị trấn", "đặc khu", "cấp xã", "commune", "ward"),
    }
)
URBAN_TYPES = {"phuong", "thi tran", "quan", "thanh pho", "thi xa"}


@register
class AdminUnitImporter(TableImporter):
    """Administrative units with their validity (key: level, code and first valid day): a 2025
    commune that reuses an old code is a new unit, not an edit of the old one. Admins only."""

    layer = "admin_units"
    title = "Administrative units"
    table = "admin_units"
    roles = ("admin",)
    geometry = "multipolygon"
    geometry_required = True
    check_in_province = False
    has_commune = False
    key = ("level", "code", "valid_from")
    fields = (
        Field("level", "choice", required=True, choices=UNIT_LEVELS, aliases=("cấp", "cap", "level")),
        Field("code", required=True, max_length=10, aliases=("mã", "mã đơn vị", "ma don vi", "code", "unit code")),
        Field("name", required=True, max_length=120, aliases=("tên", "tên đơn vị", "ten don vi", "name")),
        Field("unit_type", required=True, max_length=20, aliases=("loại", "loại đơn vị", "loai don vi", "unit type")),
        Field("area_type", "choice", choices=choices({"rural": ("nông thôn",), "urban": ("thành thị", "đô thị")})),
        Field("boundary", "choice", choices=choices({"legacy": ("cũ", "trước 2025"), "current": ("mới", "hiện hành")})),
        Field("parent", max_length=10, column="", aliases=("mã cấp trên", "ma cap tren", "parent", "parent code")),
        Field("valid_from", "date", required=True, aliases=("hiệu lực từ", "hieu luc tu", "valid from", "from")),
        Field("valid_to", "date", aliases=("hiệu lực đến", "hieu luc den", "valid to", "to")),
        Field("source", max_length=200, aliases=("nguồn", "nguon", "source")),
    )

    def check_row(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        if values.get("valid_to") and values["valid_to"] < values["valid_from"]:
            return [("valid_to", values["valid_to"], N_("before the first valid day"))]
        if values.get("area_type") is None:
            values["area_type"] = "urban" if fold(values["unit_type"]) in URBAN_TYPES else "rural"
        if values.get("boundary") is None:
            values["boundary"] = "current" if values["valid_from"] >= CURRENT_VALID_FROM else "legacy"
        return []

    def defaults(self, report: ImportReport) -> dict[str, Any]:
        return {"source": report.filename[:200]}

    def extra_stage_columns(self) -> list[str]:
        return ["centroid geometry"]

    def written_columns(self) -> dict[str, str]:
        cols = super().written_columns()
        cols["centroid"] = "centroid"
        return cols

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        session.execute(text(f"UPDATE {stg} SET centroid = ST_PointOnSurface(geom)"))

    def after_write(self, session: Session, stg: str, report: ImportReport) -> None:
        # parents may come in the same file: resolved once every unit of it is written
        session.execute(
            text(f"""UPDATE admin_units u SET parent_id = (
                       SELECT p.id FROM admin_units p WHERE p.code = s.parent AND p.level <> s.level
                         AND p.valid_from <= coalesce(s.valid_to, 'infinity'::date)
                         AND (p.valid_to IS NULL OR p.valid_to >= s.valid_from)
                       ORDER BY (p.level = 'district') DESC, (p.valid_from <= s.valid_from) DESC, p.id LIMIT 1)
                     FROM {stg} s WHERE u.level = s.level AND u.code = s.code AND u.valid_from = s.valid_from
                       AND s.parent IS NOT NULL""")
        )
        self.reject_where(
            session,
            f"""SELECT s.row_no, s.parent FROM {stg} s JOIN admin_units u ON u.level = s.level AND u.code = s.code
                AND u.valid_from = s.valid_from WHERE s.parent IS NOT NULL AND u.parent_id IS NULL ORDER BY s.row_no""",
            {},
            "parent",
            N_("no unit above with code {value} valid while this one is"),
            report,
        )


@register
class CrosswalkImporter(TableImporter):
    """The old→new crosswalk of the 2025 reorganisation: a legacy commune, the 2025 commune that
    took (part of) it, and the share by area (and by households, if known)."""

    layer = "admin_crosswalk"
    title = "Old→new commune crosswalk"
    table = "admin_crosswalk"
    roles = ("admin",)
    geometry = None
    has_commune = False
    key = ("old", "new")
    fields = (
        Field(
            "old", required=True, max_length=10, column="", aliases=("mã xã cũ", "ma xa cu", "old code", "old commune")
        ),
        Field(
            "new",
            required=True,
            max_length=10,
            column="",
            aliases=("mã xã mới", "ma xa moi", "new code", "new commune"),
        ),
        Field(
            "weight_area",
            "float",
            required=True,
            minimum=0,
            maximum=1,
            aliases=("tỷ lệ diện tích", "ty le dien tich", "area share"),
        ),
        Field("weight_households", "float", minimum=0, maximum=1, aliases=("tỷ lệ hộ", "ty le ho", "household share")),
        Field("is_default", "bool", default=False, aliases=("mặc định", "mac dinh", "default")),
    )

    def extra_stage_columns(self) -> list[str]:
        return ["old_unit_id integer", "new_unit_id integer"]

    def written_columns(self) -> dict[str, str]:
        cols = super().written_columns()
        cols.update(old_unit_id="old_unit_id", new_unit_id="new_unit_id")
        return cols

    def conflict_target(self) -> tuple[str, ...]:
        return ("old_unit_id", "new_unit_id")

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        for column, field_name, boundary, reason in (
            ("old_unit_id", "old", "legacy", N_("no legacy commune with code {value}")),
            ("new_unit_id", "new", "current", N_("no 2025 commune with code {value}")),
        ):
            session.execute(
                text(f"""UPDATE {stg} s SET {column} = u.id FROM admin_units u
                         WHERE u.level = 'commune' AND u.boundary = '{boundary}' AND u.code = s.{field_name}""")
            )
            self.reject_where(
                session,
                f"SELECT row_no, {field_name} FROM {stg} WHERE {column} IS NULL ORDER BY row_no",
                {},
                field_name,
                reason,
                report,
            )
        self.reject_where(
            session,
            f"""SELECT min(row_no), old FROM {stg} GROUP BY old HAVING sum(weight_area) > 1.0001 ORDER BY 1""",
            {},
            "weight_area",
            N_("the area shares of old commune {value} add up to more than 1"),
            report,
        )


__all__ = [
    "AdminUnitImporter",
    "CrosswalkImporter",
    "HouseholdImporter",
    "ParticipantImporter",
    "InfrastructureWorkImporter",
    "LivelihoodModelImporter",
    "SurveyRoundImporter",
    "VillageImporter",
    "WaterSchemeImporter",
]
