"""Writes the shipped XLSForms (one .xlsx per form) from the tables below.

M&E officers edit the .xlsx files directly, as they do for ODK or Kobo; this script is how
the shipped versions were made, kept so that they are reproducible and reviewable as text.
Run it from the repository root: ``.venv/bin/python forms/build_forms.py``; the bytes are
deterministic (fixed timestamps), so an unchanged table gives an unchanged file.

Constraints and relevance use the small subset of XLSForm expressions that sinhke
validates identically on the device and the server (see ``spatial/forms.py``).
"""

from __future__ import annotations

import io
import os
import zipfile
from datetime import datetime
from pathlib import Path

# the same bytes whether or not lxml is installed (openpyxl writes through it when it is)
os.environ.setdefault("OPENPYXL_LXML", "False")

import openpyxl  # noqa: E402

HERE = Path(__file__).resolve().parent
VI, EN = "Tiếng Việt (vi)", "English (en)"
SURVEY_COLUMNS = ["type", "name", f"label::{VI}", f"label::{EN}", f"hint::{VI}", f"hint::{EN}", "required",
                  "constraint", f"constraint_message::{VI}", f"constraint_message::{EN}", "relevant",
                  "appearance", "warning", f"warning_message::{VI}", f"warning_message::{EN}"]
CHOICE_COLUMNS = ["list_name", "name", f"label::{VI}", f"label::{EN}"]
SETTINGS_COLUMNS = ["form_id", "version", "form_title", "form_title_en", "default_language",
                    "target", "target_types"]
FIXED_TIME = datetime(2025, 12, 1)

TAGS = "regex(., '^[A-Za-z0-9-]+( [A-Za-z0-9-]+)*$')"
TAGS_MSG = ("Các số tai cách nhau bằng một dấu cách (chữ, số, gạch ngang)",
            "Ear tags separated by single spaces (letters, digits, hyphens)")
HOUSEHOLD = "regex(., '^[A-Za-z0-9-]+$')"
HOUSEHOLD_MSG = ("Mã hộ chỉ gồm chữ, số và gạch ngang", "A household code has letters, digits and hyphens only")
NOT_NEGATIVE = (". >= 0", "Không được âm", "Cannot be negative")


def q(type_, name, vi, en, *, required=False, constraint=None, relevant=None, hint=None, appearance=None,
      warning=None):
    """One survey row; constraint and warning are (expression, message vi, message en): a
    constraint refuses the answer, a warning asks the worker to confirm it."""
    c = constraint or (None, None, None)
    h = hint or (None, None)
    w = warning or (None, None, None)
    return [type_, name, vi, en, h[0], h[1], "yes" if required else None, c[0], c[1], c[2], relevant,
            appearance, w[0], w[1], w[2]]


def usually(lo: int | float, hi: int | float, vi_unit: str, en_unit: str) -> tuple[str, str, str]:
    """A soft range: answers outside it are saved only once the worker confirms them."""
    return (f". >= {lo} and . <= {hi}", f"Thường từ {lo:,} đến {hi:,} {vi_unit}: kiểm tra lại".replace(",", "."),
            f"Usually {lo:,} to {hi:,} {en_unit}: please check")


#: the household answered from the model's participating households (searchable, offline)
PARTICIPANTS = "participants"


def upto(n: int | float, vi_unit: str, en_unit: str) -> tuple[str, str, str]:
    return (f". >= 0 and . <= {n}", f"Từ 0 đến {n} {vi_unit}", f"From 0 to {n} {en_unit}")


YES_NO = [("yes_no", "yes", "Có", "Yes"), ("yes_no", "no", "Không", "No")]
STATUS = [("status", "functional", "Hoạt động bình thường", "Functional"),
          ("status", "partially_functional", "Hoạt động một phần (cần sửa chữa)",
           "Partially functional (needs repair)"),
          ("status", "not_functional", "Không hoạt động", "Not functional")]

FORMS: dict[str, dict] = {
    "cow_bank": {
        "title": ("Thăm hộ nuôi bò / trâu luân chuyển", "Cow bank / buffalo loan visit"),
        "target": ("livelihood_model", "cow_bank buffalo_loan"),
        "survey": [
            q("text", "household_code", "Mã hộ được thăm", "Household visited", required=True,
              constraint=(HOUSEHOLD, *HOUSEHOLD_MSG), appearance=PARTICIPANTS),
            q("text", "animal_tags_present", "Số tai các con đang có ở hộ", "Ear tags of the animals present",
              constraint=(TAGS, *TAGS_MSG), hint=("Cách nhau bằng dấu cách", "Separated by spaces")),
            q("integer", "births_female", "Số bê/nghé cái sinh từ lần thăm trước",
              "Female calves born since last visit", required=True, constraint=upto(10, "con", "calves"),
              warning=usually(0, 2, "con", "calves")),
            q("integer", "births_male", "Số bê/nghé đực sinh từ lần thăm trước", "Male calves born since last visit",
              required=True, constraint=upto(10, "con", "calves"), warning=usually(0, 2, "con", "calves")),
            q("text", "birth_tags", "Số tai bê/nghé mới sinh", "Ear tags of the newborn calves",
              constraint=(TAGS, *TAGS_MSG)),
            q("integer", "deaths", "Số con chết từ lần thăm trước", "Animals died since last visit",
              required=True, constraint=upto(20, "con", "animals"), warning=usually(0, 3, "con", "animals")),
            q("select_one death_cause", "death_cause", "Nguyên nhân chết", "Cause of death", required=True,
              relevant="${deaths} > 0"),
            q("text", "dead_tags", "Số tai các con chết", "Ear tags of the dead animals",
              constraint=(TAGS, *TAGS_MSG), relevant="${deaths} > 0"),
            q("select_multiple vaccination", "vaccinations", "Đã tiêm phòng", "Vaccinations given", required=True),
            q("select_one yes_no", "pass_on_done", "Đã bàn giao (luân chuyển) bê/nghé?",
              "Pass-on done?", required=True),
            q("text", "pass_on_tag", "Số tai con được bàn giao", "Ear tag of the animal passed on", required=True,
              constraint=(TAGS, *TAGS_MSG), relevant="${pass_on_done} = 'yes'"),
            q("text", "pass_on_to_household", "Mã hộ nhận bàn giao", "Household receiving the pass-on",
              required=True, constraint=(HOUSEHOLD, *HOUSEHOLD_MSG), relevant="${pass_on_done} = 'yes'",
              appearance=PARTICIPANTS),
            q("select_one condition", "condition", "Thể trạng đàn", "Condition of the animals", required=True),
            q("text", "notes", "Ghi chú", "Notes"),
        ],
        "choices": [
            ("death_cause", "disease", "Dịch bệnh", "Disease"),
            ("death_cause", "disaster", "Thiên tai", "Natural disaster"),
            ("death_cause", "accident", "Tai nạn", "Accident"),
            ("death_cause", "negligence", "Chăm sóc kém", "Negligence"),
            ("death_cause", "other", "Khác", "Other"),
            ("vaccination", "fmd", "Lở mồm long móng", "Foot-and-mouth disease"),
            ("vaccination", "lumpy_skin", "Viêm da nổi cục", "Lumpy skin disease"),
            ("vaccination", "haemorrhagic_septicaemia", "Tụ huyết trùng", "Haemorrhagic septicaemia"),
            ("vaccination", "none", "Chưa tiêm", "None"),
            *YES_NO,
            ("condition", "good", "Tốt", "Good"),
            ("condition", "fair", "Trung bình", "Fair"),
            ("condition", "poor", "Kém", "Poor"),
        ],
    },
    "free_range_chicken": {
        "title": ("Thăm mô hình gà thả vườn", "Free-range chicken visit"),
        "target": ("livelihood_model", "free_range_chicken"),
        "survey": [
            q("text", "household_code", "Mã hộ được thăm", "Household visited", required=True,
              constraint=(HOUSEHOLD, *HOUSEHOLD_MSG), appearance=PARTICIPANTS),
            q("integer", "flock_size", "Số gà hiện có", "Birds in the flock now", required=True,
              constraint=upto(5000, "con", "birds"), warning=usually(10, 2000, "con", "birds")),
            q("integer", "deaths", "Số gà chết từ lần thăm trước", "Birds died since last visit", required=True,
              constraint=upto(5000, "con", "birds")),
            q("select_one death_cause", "death_cause", "Nguyên nhân chết chủ yếu", "Main cause of death",
              required=True, relevant="${deaths} > 0"),
            q("integer", "sold", "Số gà đã bán từ lần thăm trước", "Birds sold since last visit", required=True,
              constraint=upto(5000, "con", "birds")),
            q("integer", "sales_vnd", "Tiền bán gà (đồng)", "Sales income (VND)", required=True,
              constraint=(*NOT_NEGATIVE,), relevant="${sold} > 0",
              warning=usually(20000, 500000000, "đồng", "VND")),
            q("select_multiple vaccination", "vaccinations", "Đã tiêm phòng", "Vaccinations given", required=True),
            q("select_one yes_no", "disease_outbreak", "Có dịch bệnh trong đàn?", "Disease outbreak in the flock?",
              required=True),
            q("text", "disease_signs", "Triệu chứng quan sát được", "Signs observed", required=True,
              relevant="${disease_outbreak} = 'yes'"),
            q("select_one feed", "feed", "Thức ăn chủ yếu", "Main feed"),
            q("text", "notes", "Ghi chú", "Notes"),
        ],
        "choices": [
            ("death_cause", "disease", "Dịch bệnh", "Disease"),
            ("death_cause", "predator", "Thú dữ, chuột, rắn", "Predators"),
            ("death_cause", "weather", "Rét, nắng nóng", "Cold or heat"),
            ("death_cause", "other", "Khác", "Other"),
            ("vaccination", "newcastle", "Newcastle (gà rù)", "Newcastle disease"),
            ("vaccination", "gumboro", "Gumboro", "Gumboro"),
            ("vaccination", "fowl_pox", "Đậu gà", "Fowl pox"),
            ("vaccination", "avian_influenza", "Cúm gia cầm", "Avian influenza"),
            ("vaccination", "fowl_cholera", "Tụ huyết trùng gà", "Fowl cholera"),
            ("vaccination", "none", "Chưa tiêm", "None"),
            *YES_NO,
            ("feed", "own_grain", "Ngô, thóc nhà", "Own grain"),
            ("feed", "commercial", "Cám công nghiệp", "Commercial feed"),
            ("feed", "mixed", "Kết hợp", "Mixed"),
        ],
    },
    "medicinal_plant": {
        "title": ("Thăm mô hình trồng dược liệu", "Medicinal plant visit"),
        "target": ("livelihood_model", "medicinal_plant"),
        "survey": [
            q("text", "household_code", "Mã hộ được thăm", "Household visited", required=True,
              constraint=(HOUSEHOLD, *HOUSEHOLD_MSG), appearance=PARTICIPANTS),
            q("select_one species", "species", "Loài cây", "Species", required=True),
            q("decimal", "area_m2", "Diện tích đang trồng (m²)", "Area planted (m²)", required=True,
              constraint=upto(100000, "m²", "m²")),
            q("select_one stage", "stage", "Giai đoạn sinh trưởng", "Growth stage", required=True),
            q("select_one yes_no", "harvested", "Đã thu hoạch từ lần thăm trước?", "Harvested since last visit?",
              required=True),
            q("decimal", "harvest_kg", "Sản lượng thu hoạch (kg)", "Harvest (kg)", required=True,
              constraint=upto(100000, "kg", "kg"), relevant="${harvested} = 'yes'"),
            q("integer", "price_vnd_per_kg", "Giá bán (đồng/kg)", "Price (VND per kg)", required=True,
              constraint=upto(10000000, "đồng", "VND"), relevant="${harvested} = 'yes'",
              warning=usually(5000, 3000000, "đồng/kg", "VND per kg")),
            q("text", "buyer", "Người/đơn vị thu mua", "Buyer", relevant="${harvested} = 'yes'"),
            q("select_one yes_no", "pests", "Có sâu bệnh?", "Pests or disease?", required=True),
            q("text", "notes", "Ghi chú", "Notes"),
        ],
        "choices": [
            ("species", "ba_kich", "Ba kích", "Morinda (ba kích)"),
            ("species", "ha_thu_o", "Hà thủ ô", "Fo-ti (hà thủ ô)"),
            ("species", "giao_co_lam", "Giảo cổ lam", "Jiaogulan (giảo cổ lam)"),
            ("species", "hoi", "Hồi", "Star anise (hồi)"),
            ("species", "que", "Quế", "Cinnamon (quế)"),
            ("species", "khoi_nhung", "Khôi nhung", "Ardisia (khôi nhung)"),
            ("species", "other", "Khác", "Other"),
            ("stage", "planted", "Mới trồng", "Newly planted"),
            ("stage", "growing", "Đang sinh trưởng", "Growing"),
            ("stage", "flowering", "Ra hoa", "Flowering"),
            ("stage", "harvest", "Thu hoạch", "Harvest"),
            ("stage", "fallow", "Bỏ hoá", "Fallow"),
            *YES_NO,
        ],
    },
    "general": {
        "title": ("Thăm mô hình sinh kế (chung)", "Livelihood model visit (general)"),
        "target": ("livelihood_model", "*"),
        "survey": [
            q("text", "household_code", "Mã hộ được thăm (nếu có)", "Household visited (if any)",
              constraint=(HOUSEHOLD, *HOUSEHOLD_MSG), appearance=PARTICIPANTS),
            q("integer", "participants_present", "Số hộ tham gia gặp được", "Participating households met",
              required=True, constraint=upto(500, "hộ", "households")),
            q("select_one progress", "progress", "Tiến độ mô hình", "Progress of the model", required=True),
            q("text", "problems", "Khó khăn gặp phải", "Problems met", required=True,
              relevant="${progress} != 'on_track'"),
            q("integer", "income_vnd", "Thu nhập từ mô hình kỳ này (đồng)", "Income from the model this period (VND)",
              constraint=(*NOT_NEGATIVE,), warning=usually(0, 200000000, "đồng", "VND")),
            q("date", "next_visit_on", "Ngày thăm lại dự kiến", "Next visit planned on"),
            q("text", "notes", "Ghi chú", "Notes"),
        ],
        "choices": [
            ("progress", "on_track", "Đúng tiến độ", "On track"),
            ("progress", "delayed", "Chậm", "Delayed"),
            ("progress", "stopped", "Ngừng", "Stopped"),
        ],
    },
    "infrastructure_work": {
        "title": ("Kiểm tra công trình hạ tầng", "Infrastructure work inspection"),
        "target": ("infrastructure_work", "*"),
        "survey": [
            q("select_one stage", "construction_stage", "Giai đoạn", "Stage", required=True),
            q("integer", "progress_pct", "Khối lượng hoàn thành (%)", "Work done (%)", required=True,
              constraint=upto(100, "%", "%"), relevant="${construction_stage} = 'under_construction'"),
            q("select_one status", "status", "Tình trạng hoạt động", "Functional status", required=True,
              relevant="${construction_stage} = 'completed'"),
            q("select_one damage", "damage", "Hư hỏng", "Damage", required=True,
              relevant="${construction_stage} = 'completed'"),
            q("select_one yes_no", "repair_needed", "Cần sửa chữa?", "Repair needed?", required=True),
            q("integer", "repair_cost_vnd", "Ước tính chi phí sửa chữa (đồng)", "Estimated repair cost (VND)",
              constraint=(*NOT_NEGATIVE,), relevant="${repair_needed} = 'yes'"),
            q("select_one yes_no", "maintained", "Có tổ duy tu, bảo dưỡng?", "Is there a maintenance group?",
              required=True),
            q("text", "notes", "Ghi chú", "Notes"),
        ],
        "choices": [
            ("stage", "not_started", "Chưa khởi công", "Not started"),
            ("stage", "under_construction", "Đang thi công", "Under construction"),
            ("stage", "completed", "Đã hoàn thành", "Completed"),
            *STATUS,
            ("damage", "none", "Không", "None"),
            ("damage", "minor", "Nhẹ", "Minor"),
            ("damage", "major", "Nặng", "Major"),
            *YES_NO,
        ],
    },
    "water_scheme": {
        "title": ("Kiểm tra công trình cấp nước", "Water scheme check"),
        "target": ("water_scheme", "*"),
        "survey": [
            q("select_one status", "status", "Tình trạng hoạt động", "Functional status", required=True),
            q("select_one cause", "breakdown_cause", "Nguyên nhân hư hỏng", "Cause of the breakdown", required=True,
              relevant="${status} != 'functional'"),
            q("integer", "days_not_working", "Số ngày không cấp nước (30 ngày qua)",
              "Days without water (last 30 days)", required=True, constraint=upto(30, "ngày", "days"),
              relevant="${status} != 'functional'"),
            q("decimal", "hours_per_day", "Số giờ cấp nước mỗi ngày", "Hours of supply per day", required=True,
              constraint=upto(24, "giờ", "hours"), relevant="${status} != 'not_functional'"),
            q("integer", "households_using", "Số hộ đang dùng nước", "Households using the water", required=True,
              constraint=upto(5000, "hộ", "households")),
            q("select_one yes_no", "quality_problem", "Nước đục, có mùi hoặc vị lạ?", "Turbid, smelly or odd-tasting?",
              required=True),
            q("select_one yes_no", "tariff_collected", "Có thu tiền nước?", "Is a water tariff collected?",
              required=True),
            q("select_one yes_no", "repair_needed", "Cần sửa chữa?", "Repair needed?", required=True),
            q("text", "notes", "Ghi chú", "Notes"),
        ],
        "choices": [
            *STATUS,
            ("cause", "pipe_damage", "Vỡ, hỏng đường ống", "Pipe damage"),
            ("cause", "source_dried", "Nguồn nước cạn", "Source dried up"),
            ("cause", "intake_blocked", "Đập đầu mối bị bồi lấp", "Intake blocked"),
            ("cause", "pump_failure", "Hỏng máy bơm", "Pump failure"),
            ("cause", "tank_damage", "Hỏng bể chứa", "Tank damage"),
            ("cause", "other", "Khác", "Other"),
            *YES_NO,
        ],
    },
}
VERSION = "2025120201"


def workbook(form_id: str, spec: dict) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(SURVEY_COLUMNS)
    for row in spec["survey"]:
        survey.append(row)
    choices = wb.create_sheet("choices")
    choices.append(CHOICE_COLUMNS)
    for row in spec["choices"]:
        choices.append(list(row))
    settings = wb.create_sheet("settings")
    settings.append(SETTINGS_COLUMNS)
    settings.append([form_id, VERSION, *spec["title"], VI, *spec["target"]])
    for sheet in (survey, choices, settings):
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width + 2))
    wb.properties.creator = "sinhke"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    return wb


def deterministic_xlsx(wb: openpyxl.Workbook) -> bytes:
    """The workbook's bytes with fixed zip timestamps and document dates."""
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                text = data.decode()
                for tag in ("dcterms:created", "dcterms:modified"):
                    start = text.index(f"<{tag}")
                    end = text.index(f"</{tag}>", start)
                    text = text[:text.index(">", start) + 1] + stamp + text[end:]
                data = text.encode()
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    return out.getvalue()


def main() -> None:
    for form_id, spec in FORMS.items():
        path = HERE / f"{form_id}.xlsx"
        path.write_bytes(deterministic_xlsx(workbook(form_id, spec)))
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
