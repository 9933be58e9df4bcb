"""Labels for the codes and stored English texts pages show: roles, hazards, units, technologies,
duplicate reasons, poverty-standard notes, deprivation indicators, audited tables and their fields.

The data keep their codes (and the jobs their English reasons); the pages say them in the reader's
language. A value with no label is shown as stored.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_babel import get_locale, gettext, lazy_gettext

from spatial import Message, word_message

_ = lazy_gettext

ROLE_LABELS = {
    "admin": _("Administrator"),
    "planner": _("Planner"),
    "extension_worker": _("Extension worker"),
    "evaluator": _("Evaluator"),
}

HAZARD_LABELS = {
    "flood_depth": _("Flood depth"),
    "drought_index": _("Drought index (SPEI)"),
    "landslide": _("Landslide susceptibility"),
    "rainfall": _("Rainfall"),
    "other": _("Other hazard"),
}

EPOCH_LABELS = {"baseline": _("baseline")}

#: raster units; metres and millimetres are the same in both languages
UNIT_LABELS = {"sd": _("standard deviations"), "class": _("class"), "m": "m", "mm": "mm"}

#: water-scheme technologies as the demo and imports store them
TECHNOLOGY_LABELS = {
    "gravity-fed piped": _("gravity-fed piped"),
    "drilled well with pump": _("drilled well with pump"),
    "spring capture": _("spring capture"),
    "rainwater tank cluster": _("rainwater tank cluster"),
}

#: the deprivation indicators of the multidimensional poverty standards
DEPRIVATION_LABELS = {
    "d_employment": _("employment"),
    "d_dependants": _("dependants"),
    "d_nutrition": _("nutrition"),
    "d_health_insurance": _("health insurance"),
    "d_adult_education": _("adult education"),
    "d_child_school": _("school attendance of children"),
    "d_housing_quality": _("housing quality"),
    "d_floor_area": _("floor area per person"),
    "d_water": _("domestic water"),
    "d_latrine": _("hygienic latrine"),
    "d_telecom": _("telecommunication services"),
    "d_info_assets": _("information assets"),
}

#: the notes migration 0002 ships with each standard (an admin's own notes are shown as written)
STANDARD_NOTES = {
    "2016-2020": (
        "Still used for the 2021 review. Poor: income at or below the absolute line, or "
        "at or below the income line with at least 3 deprivations. Of its 10 indicators, "
        "access to health services is not in the survey rounds and is not counted.",
        _(
            "Still used for the 2021 review. Poor: income at or below the absolute line, or at or below the "
            "income line with at least 3 deprivations. Of its 10 indicators, access to health services is not "
            "in the survey rounds and is not counted."
        ),
    ),
    "2022-2025": (
        "Poor: income at or below the line and at least 3 of 12 deprivations; near-poor: "
        "income at or below the line and fewer than 3. Assumed to stay in force for 2026, "
        "until Decree 351/2025 applies from 2027.",
        _(
            "Poor: income at or below the line and at least 3 of 12 deprivations; near-poor: income at or below "
            "the line and fewer than 3. Assumed to stay in force for 2026, until Decree 351/2025 applies from 2027."
        ),
    ),
    "2026-2030": (
        "Poor lines (2.2 m rural, 2.8 m urban, at least 3 deprivations) are from the "
        "decree. Near-poor thresholds and the new indicators (digital services, household "
        "waste) are not yet confirmed or collected: provisional, editable by admins.",
        _(
            "Poor lines (2.2 m rural, 2.8 m urban, at least 3 deprivations) are from the decree. Near-poor "
            "thresholds and the new indicators (digital services, household waste) are not yet confirmed or "
            "collected: provisional, editable by admins."
        ),
    ),
}

_SAME_HEAD = re.compile(r"^same head of household in the same village within (\d+) m$")
_TWO_MODELS = re.compile(r"^in two (.+) models at once: (.+)$")
_GROUPS = {"large-livestock loan": _("large-livestock loan")}


def duplicate_reason(reason: str) -> str:
    """A reason the duplicates job stored (English, with figures) in the reader's language."""
    if reason == "same ID-card number":
        return gettext("same ID-card number")
    if m := _SAME_HEAD.match(reason):
        return gettext("same head of household in the same village within %(m)s m", m=m.group(1))
    if m := _TWO_MODELS.match(reason):
        group = str(_GROUPS.get(m.group(1), m.group(1)))
        return gettext("in two %(group)s models at once: %(models)s", group=group, models=m.group(2))
    return reason


#: the "not found" details of the domain layer that pages can show, and their translations
_NOT_FOUND = (
    (re.compile(r"^no livelihood model '(?P<code>[^']*)'$"), _("There is no livelihood model %(code)s.")),
    (re.compile(r"^\w+: no livelihood model '(?P<code>[^']*)'$"), _("There is no livelihood model %(code)s.")),
    (
        re.compile(r"^no (?P<boundaries>current|legacy) administrative unit '(?P<code>[^']*)'$"),
        _("There is no administrative unit %(code)s on these boundaries."),
    ),
    (re.compile(r"^no user named '(?P<name>[^']*)'$"), _("There is no user named %(name)s.")),
    (re.compile(r"^no raster (?P<id>\d+) in the catalogue$"), _("There is no raster %(id)s in the catalogue.")),
    (re.compile(r"^no poverty standard '(?P<code>[^']*)'$"), _("There is no poverty standard %(code)s.")),
    (re.compile(r"^no duplicate candidate (?P<id>\d+)$"), _("There is no duplicate candidate %(id)s.")),
    (re.compile(r"^no collection '(?P<id>[^']*)' \(.*\)$"), _("There is no collection %(id)s.")),
    (re.compile(r"^no feature '(?P<id>[^']*)' in (?P<collection>\w+)$"), _("There is no feature %(id)s here.")),
    (re.compile(r"^no visit '(?P<id>[^']*)'$"), _("There is no visit %(id)s.")),
    (
        re.compile(r"^no form '(?P<form>[^']*)' version '(?P<version>[^']*)'$"),
        _("There is no form %(form)s, version %(version)s."),
    ),
)


def error_detail(message: str) -> str:
    """A domain error's detail for a page: translated where it is a known "not found", else as raised."""
    for pattern, text in _NOT_FOUND:
        if m := pattern.match(message):
            return str(text) % m.groupdict()
    return message


def message_text(text: Any, args: dict[str, Any] | None = None) -> str:
    """A text from below the web layer in the reader's language: a :class:`spatial.Message`, or
    one as stored in JSON (``{"text", "msgid", "args", "texts"}``), or a plain marked message (its
    text is its msgid). A message's own wording in the reader's language (``texts``, e.g. a form's
    constraint message) comes first; a message the catalogue lacks, or whose translation does not
    take the stored values, is shown in English as written."""
    if text is None:
        return ""
    own: dict[str, Any] = {}
    if isinstance(text, Message):
        english, msgid, values, own = str(text), text.msgid, text.args, text.texts
    elif isinstance(text, dict):
        english, msgid, values = str(text.get("text", "")), str(text.get("msgid") or ""), text.get("args") or {}
        own = text.get("texts") or {}
    else:
        english, msgid, values = str(text), str(text), args or {}
    if own and (worded := own.get(str(get_locale()))):
        return str(worded)
    if not msgid:
        return english
    translated = gettext(msgid)
    if not values:
        return translated
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):
        return english


def messages_text(messages: list[dict[str, Any]] | None, english: str | None = None) -> str:
    """Stored messages (a job's reasons, ``spatial.Message.stored``) in the reader's language, joined
    with "; ", their decimals written the locale's way (0,5 bar); ``english`` (the text stored beside
    them) when there are none, as a row written before they were kept."""
    from webapp.numbers import number

    if not messages:
        return english or ""
    return "; ".join(word_message(m, gettext, number) for m in messages)


def problem_reason(problem: dict[str, Any]) -> str:
    """An import problem's reason (stored as ``reason``, ``msgid``, ``args``, ``texts``) in the
    reader's language."""
    reason = problem.get("reason") or ""
    return message_text(
        {
            "text": reason,
            "msgid": problem.get("msgid") or reason,
            "args": problem.get("args"),
            "texts": problem.get("texts"),
        }
    )


def standard_notes(code: str, notes: str | None) -> str:
    """A poverty standard's notes: the shipped text translated, an admin's own as written."""
    shipped = STANDARD_NOTES.get(code)
    if shipped and notes == shipped[0]:
        return str(shipped[1])
    return notes or ""


_EVERY_MINUTES = re.compile(r"^\*/(\d+)$")


def schedule_label(job: Any) -> str:
    """A job's schedule for people: its daily time, "every 30 minutes", else its cron fields."""
    minute = _EVERY_MINUTES.match(job.cron.get("minute", ""))
    if minute and set(job.cron) == {"minute"}:
        return gettext("every %(n)s minutes", n=minute.group(1))
    return str(job.schedule)


def label(table: dict[str, Any], value: Any) -> str:
    """The label of ``value`` in ``table``, or the value itself."""
    if value is None:
        return ""
    return str(table.get(value, value))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=lambda v: label(ROLE_LABELS, v),
        status_label=lambda v: label(STATUS_LABELS, v),
        hazard_label=lambda v: label(HAZARD_LABELS, v),
        epoch_label=lambda v: label(EPOCH_LABELS, v),
        unit_label=lambda v: label(UNIT_LABELS, v),
        technology_label=lambda v: label(TECHNOLOGY_LABELS, v),
        deprivation_label=lambda v: label(DEPRIVATION_LABELS, v),
        duplicate_reason=duplicate_reason,
        error_detail=error_detail,
        message_text=message_text,
        messages_text=messages_text,
        problem_reason=problem_reason,
        schedule_label=schedule_label,
        table_label=table_label,
        import_layer_label=lambda v: label(IMPORT_LAYER_LABELS, v),
        audit_value=audit_value,
        TABLE_LABELS=TABLE_LABELS,
        INDICATOR_LABELS=INDICATOR_LABELS,
        AREA_VIEWS=AREA_VIEWS,
        indicator_label=lambda v: label(INDICATOR_LABELS, v),
        indicator_value=indicator_value,
        type_label=lambda v: label(TYPE_LABELS, v),
        target_label=lambda v: label(TARGET_LABELS, v),
        field_label=field_label,
        action_label=lambda v: label(ACTION_LABELS, v),
        standard_notes=standard_notes,
        technology_labels=lambda: {k: str(v) for k, v in TECHNOLOGY_LABELS.items()},
    )


#: every audited table (migrations attach ``sinhke_audit``) as people call it; a test holds the two together
TABLE_LABELS = {
    "users": _("Users"),
    "user_areas": _("Users' areas"),
    "api_tokens": _("API tokens"),
    "households": _("Households"),
    "survey_rounds": _("Survey rounds"),
    "villages": _("Villages"),
    "livelihood_models": _("Livelihood models"),
    "model_participants": _("Model participants"),
    "infrastructure_works": _("Infrastructure works"),
    "water_schemes": _("Water schemes"),
    "water_scheme_households": _("Households served by water schemes"),
    "poverty_standards": _("Poverty standards"),
    "poverty_lines": _("Poverty lines"),
    "price_deflators": _("Price deflators"),
    "duplicate_candidates": _("Duplicate beneficiaries"),
    "rasters": _("Climate-risk rasters"),
    "exposure_thresholds": _("Exposure thresholds"),
    "form_definitions": _("Field forms"),
    "visits": _("Field visits"),
    "visit_schedules": _("Visit schedules"),
    "ledger_visits": _("Visits applied to the pass-on ledger"),
    "animals": _("Animals"),
    "animal_holdings": _("Animal holdings"),
    "animal_events": _("Animal events"),
    "pass_on_obligations": _("Pass-on obligations"),
    "pass_on_rules": _("Pass-on rules"),
    "visit_reviews": _("Visit reviews"),
    "programmes": _("Programmes"),
    "programme_parts": _("Programme projects and sub-projects"),
    "targets": _("Targets"),
    "allocations": _("Allocations and disbursements"),
    "roads": _("Roads"),
    "sensor_things": _("Sensor devices"),
    "sensor_sensors": _("Sensor types"),
    "sensor_datastreams": _("Sensor datastreams"),
    "notification_settings": _("Notification settings"),
}

#: what `sinhke import LAYER` imports into, as the upload page names it (a table's own label otherwise)
IMPORT_LAYER_LABELS = {
    **TABLE_LABELS,
    "participants": TABLE_LABELS["model_participants"],
    "admin_units": _("Administrative units"),
    "admin_crosswalk": _("Administrative units, old to new"),
    "raster": TABLE_LABELS["rasters"],
}

ACTION_LABELS = {"insert": _("added"), "update": _("changed"), "delete": _("removed"), "import": _("imported")}

#: the audited columns as people call them (a column without a label shows its name)
FIELD_LABELS = {
    "id": _("Record"),
    "code": _("Code"),
    "name": _("Name"),
    "display_name": _("Display name"),
    "role": _("Role"),
    "disabled_at": _("Disabled at"),
    "session_version": _("Sign-in sessions (ended when it changes)"),
    "password_hash": _("Password"),
    "token_hash": _("Token"),
    "prefix": _("Token prefix"),
    "revoked_at": _("Revoked at"),
    "last_used_at": _("Last used at"),
    "user_id": _("User"),
    "unit_id": _("Area"),
    "status": _("Status"),
    "status_reason": _("Why (status)"),
    "status_reason_messages": _("Why (status)"),
    "status_reported_on": _("Status reported on"),
    "decision": _("Decision"),
    "decided_by": _("Decided by"),
    "decided_at": _("Decided at"),
    "reasons": _("Why"),
    "kind": _("Kind"),
    "current": _("Still found by the job"),
    "first_year": _("First year"),
    "last_year": _("Last year"),
    "min_deprivations": _("Poor with at least this many deprivations"),
    "income_line": _("Income line"),
    "absolute_line": _("Absolute line"),
    "area_type": _("Area"),
    "provisional": _("Provisional"),
    "notes": _("Notes"),
    "note": _("Note"),
    "legal_basis": _("Legal basis"),
    "indicators": _("Indicators counted"),
    "standard_id": _("Poverty standard"),
    "year": _("Year"),
    "index": _("Index"),
    "source": _("Source"),
    "licence": _("Licence"),
    "hazard": _("Hazard"),
    "unit": _("Unit"),
    "return_period": _("Return period (years)"),
    "scenario": _("Scenario"),
    "epoch": _("Epoch"),
    "filename": _("File"),
    "retired_at": _("Retired at"),
    "retired_by": _("Retired by"),
    "replaced_by_id": _("Replaced by raster"),
    "op": _("Comparison"),
    "value": _("Value"),
    "label": _("Label"),
    "form_id": _("Form"),
    "version": _("Version"),
    "form_version": _("Form version"),
    "title_vi": _("Title (Vietnamese)"),
    "title_en": _("Title (English)"),
    "target": _("For"),
    "target_types": _("Types"),
    "source_name": _("File"),
    "definition": _("Form definition"),
    "definition_sha256": _("Fingerprint of the definition"),
    "source_sha256": _("Fingerprint of the file"),
    "checksum": _("Fingerprint of the file"),
    "head_name": _("Head of household"),
    "id_card_number": _("ID-card number"),
    "ethnicity": _("Ethnicity"),
    "members": _("Members"),
    "village_id": _("Village"),
    "commune_id": _("Commune"),
    "geom": _("Location"),
    "bounds": _("Extent"),
    "service_area": _("Service area"),
    "deleted_at": _("Deleted at"),
    "model_type": _("Model type"),
    "work_type": _("Work type"),
    "start_date": _("Start date"),
    "completion_date": _("Completion date"),
    "budget_allocated_vnd": _("Budget allocated"),
    "budget_disbursed_vnd": _("Disbursed"),
    "budget_vnd": _("Budget"),
    "technology": _("Technology"),
    "capacity_m3_day": _("Capacity"),
    "install_year": _("Installed in"),
    "household_id": _("Household"),
    "model_id": _("Livelihood model"),
    "joined_on": _("Joined on"),
    "left_on": _("Left on"),
    "visited_at": _("Visited at"),
    "answers": _("Answers"),
    "accuracy_m": _("GPS accuracy (m)"),
    "submitted_by": _("Submitted by"),
    "interval_days": _("Visit every (days)"),
    "due_by": _("Due by"),
    "due_from": _("Due from"),
    "tag": _("Ear tag"),
    "sex": _("Sex"),
    "birth_date": _("Birth date"),
    "species": _("Species"),
    "occurred_on": _("Date"),
    "cause": _("Cause"),
    "income_per_person_month": _("Income per person per month"),
    "surveyed_on": _("Surveyed on"),
}


#: the values of the ``status`` columns of the audited tables (each value means the same in every
#: table that has it): works, models, schemes, households, pass-ons, animals, reviews, runs; the
#: pages name statuses through it (``status_label``), the audit trail too
STATUS_LABELS = {
    "planned": _("Planned"),
    "active": _("Active"),
    "under_construction": _("Under construction"),
    "completed": _("Completed"),
    "suspended": _("Suspended"),
    "functional": _("functional"),
    "partially_functional": _("partially functional"),
    "not_functional": _("not functional"),
    "poor": _("Poor"),
    "near_poor": _("Near-poor"),
    "not_poor": _("Not poor"),
    "owed": _("owed"),
    "due": _("due"),
    "overdue": _("overdue"),
    "delivered": _("delivered"),
    "defaulted": _("defaulted"),
    "animal_died": _("animal died"),
    "alive": _("alive"),
    "dead": _("dead"),
    "sold": _("sold"),
    "received": _("Received"),
    "approved": _("Approved"),
    "on_hold": _("On hold"),
    "rejected": _("Rejected"),
    "running": _("running"),
    "succeeded": _("succeeded"),
    "failed": _("failed"),
}


#: a visit's review statuses, as KoboToolbox has them, in order
REVIEW_STATUSES = ("received", "approved", "on_hold", "rejected")


def audit_value(name: str, value: Any) -> str:
    """A value of an audited field for people: labels for roles, statuses, types and hazards,
    yes/no, lists joined, '–' for none."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name == "role":
        return label(ROLE_LABELS, value)
    if name == "status" and isinstance(value, str):
        return label(STATUS_LABELS, value)
    if name in ("model_type", "work_type") and isinstance(value, str):
        return label(TYPE_LABELS, value)
    if name == "hazard":
        return label(HAZARD_LABELS, value)
    if name == "technology":
        return label(TECHNOLOGY_LABELS, value)
    if name.endswith("_messages") and isinstance(value, list):
        return messages_text(value)
    if name == "reasons" and isinstance(value, list):
        return "; ".join(duplicate_reason(str(v)) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def table_label(name: str) -> str:
    return label(TABLE_LABELS, name)


def field_label(name: str) -> str:
    return label(FIELD_LABELS, name)


#: the indicators of spatial.indicators.INDICATORS, as pages name them
INDICATOR_LABELS = {
    "poverty_rate": _("Poverty rate"),
    "near_poor_rate": _("Near-poverty rate"),
    "households": _("Households"),
    "poor": _("Poor households"),
    "near_poor": _("Near-poor households"),
    "mean_income": _("Mean income"),
    "median_income": _("Median income"),
    "mean_income_change": _("Mean income change"),
    "median_income_change": _("Median income change"),
    "mean_income_change_real": _("Mean income change, in real terms"),
    "escaped_poverty": _("Households that escaped poverty"),
    "escaped_poverty_rate": _("Share of poor households that escaped poverty"),
    "fell_back": _("Households that fell back into poverty"),
    "newly_poor": _("Newly poor households"),
    "near_poor_reduction_rate": _("Near-poor reduction rate"),
}
#: how an indicator's values read: a percentage, VND per person per month, or a count of households
INDICATOR_KINDS = {
    **dict.fromkeys(("poverty_rate", "near_poor_rate", "escaped_poverty_rate", "near_poor_reduction_rate"), "rate"),
    **dict.fromkeys(
        ("mean_income", "median_income", "mean_income_change", "median_income_change", "mean_income_change_real"),
        "money",
    ),
}
#: the views of the indicator pages: (level, boundaries) as one choice
AREA_VIEWS = {
    "commune:current": _("Communes (2025 boundaries)"),
    "province:current": _("Province (2025 boundaries)"),
    "commune:legacy": _("Communes (boundaries until 30 June 2025)"),
    "district:legacy": _("Districts (until 30 June 2025)"),
    "province:legacy": _("Province (boundaries until 30 June 2025)"),
}


def indicator_value(indicator: str, value: Any) -> str:
    """An indicator's value in the reader's locale: 12,34 %, 1.500.000 ₫, 1.234."""
    from webapp.numbers import money, number

    kind = INDICATOR_KINDS.get(indicator, "count")
    if value is None:
        return "–"
    if kind == "rate":
        return f"{number(value, 2)} %"
    if kind == "money":
        return money(value)
    return number(value)


#: model and work types (a form's "for"), ``*`` for any type of its target
TYPE_LABELS = {
    "cow_bank": _("Cow bank"),
    "buffalo_loan": _("Buffalo loan"),
    "free_range_chicken": _("Free-range chickens"),
    "medicinal_plant": _("Medicinal plants"),
    "road": _("Road"),
    "bridge": _("Bridge"),
    "school": _("School"),
    "clinic": _("Clinic"),
    "irrigation": _("Irrigation"),
    "market": _("Market"),
    "*": _("any type"),
}
TARGET_LABELS = {
    "livelihood_model": _("Livelihood model"),
    "infrastructure_work": _("Infrastructure work"),
    "water_scheme": _("Water scheme"),
}
