"""Labels for the codes and stored English texts pages show: roles, hazards, units, technologies,
duplicate reasons, poverty-standard notes, deprivation indicators, audited tables and their fields.

The data keep their codes (and the jobs their English reasons); the pages say them in the reader's
language. A value with no label is shown as stored.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_babel import gettext, lazy_gettext

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


def standard_notes(code: str, notes: str | None) -> str:
    """A poverty standard's notes: the shipped text translated, an admin's own as written."""
    shipped = STANDARD_NOTES.get(code)
    if shipped and notes == shipped[0]:
        return str(shipped[1])
    return notes or ""


def label(table: dict[str, Any], value: Any) -> str:
    """The label of ``value`` in ``table``, or the value itself."""
    if value is None:
        return ""
    return str(table.get(value, value))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=lambda v: label(ROLE_LABELS, v),
        hazard_label=lambda v: label(HAZARD_LABELS, v),
        epoch_label=lambda v: label(EPOCH_LABELS, v),
        unit_label=lambda v: label(UNIT_LABELS, v),
        technology_label=lambda v: label(TECHNOLOGY_LABELS, v),
        deprivation_label=lambda v: label(DEPRIVATION_LABELS, v),
        duplicate_reason=duplicate_reason,
        error_detail=error_detail,
        standard_notes=standard_notes,
        technology_labels=lambda: {k: str(v) for k, v in TECHNOLOGY_LABELS.items()},
    )
