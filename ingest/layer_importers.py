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
from spatial.models import DEPRIVATION_COLUMNS
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
            place_households(session)


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
            return [("budget_disbursed_vnd", disbursed, f"more than the allocated {allocated:,}")]
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
        out = []
        if (
            values.get("disbursed_vnd") is not None
            and values.get("budget_vnd") is not None
            and values["disbursed_vnd"] > values["budget_vnd"]
        ):
            out.append(("disbursed_vnd", values["disbursed_vnd"], f"more than the budget {values['budget_vnd']:,}"))
        if (
            values.get("start_date")
            and values.get("completion_date")
            and values["completion_date"] < values["start_date"]
        ):
            out.append(("completion_date", values["completion_date"], "before the start date"))
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
            "no household with code {value} (or not in your area)",
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
            report.notes.append(f"{linked} household connections added to the schemes")


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

    def resolve(self, session: Session, stg: str, report: ImportReport) -> None:
        session.execute(text(f"UPDATE {stg} s SET household_id = h.id FROM households h WHERE h.code = s.household"))
        self.reject_where(
            session,
            f"SELECT row_no, household FROM {stg} WHERE household_id IS NULL ORDER BY row_no",
            {},
            "household",
            "no household with this code (or not in your area)",
            report,
        )


__all__ = [
    "HouseholdImporter",
    "InfrastructureWorkImporter",
    "LivelihoodModelImporter",
    "SurveyRoundImporter",
    "VillageImporter",
    "WaterSchemeImporter",
]
