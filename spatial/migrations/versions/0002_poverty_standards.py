"""Poverty standards as data: 2016–2020, 2022–2025 and the provisional 2026–2030.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ALL_12 = [
    "d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
    "d_child_school", "d_housing_quality", "d_floor_area", "d_water", "d_latrine", "d_telecom",
    "d_info_assets",
]

STANDARDS = [
    {
        "code": "2016-2020",
        "name": "Chuẩn nghèo tiếp cận đa chiều 2016–2020",
        "legal_basis": "Quyết định 59/2015/QĐ-TTg",
        "first_year": 2016,
        "last_year": 2021,
        "min_deprivations": 3,
        # of its 10 indicators, 'access to health services' is not collected in our rounds
        "indicators": [
            "d_health_insurance", "d_adult_education", "d_child_school", "d_housing_quality",
            "d_floor_area", "d_water", "d_latrine", "d_telecom", "d_info_assets",
        ],
        "provisional": False,
        "notes": "Still used for the 2021 review. Poor: income at or below the absolute line, or "
        "at or below the income line with at least 3 deprivations. Of its 10 indicators, "
        "access to health services is not in the survey rounds and is not counted.",
        "lines": {"rural": (700_000, 1_000_000), "urban": (900_000, 1_300_000)},
    },
    {
        "code": "2022-2025",
        "name": "Chuẩn nghèo đa chiều giai đoạn 2022–2025",
        "legal_basis": "Nghị định 07/2021/NĐ-CP",
        "first_year": 2022,
        "last_year": 2026,
        "min_deprivations": 3,
        "indicators": ALL_12,
        "provisional": False,
        "notes": "Poor: income at or below the line and at least 3 of 12 deprivations; near-poor: "
        "income at or below the line and fewer than 3. Assumed to stay in force for 2026, "
        "until Decree 351/2025 applies from 2027.",
        "lines": {"rural": (None, 1_500_000), "urban": (None, 2_000_000)},
    },
    {
        "code": "2026-2030",
        "name": "Chuẩn nghèo đa chiều giai đoạn 2026–2030",
        "legal_basis": "Nghị định 351/2025/NĐ-CP",
        "first_year": 2027,
        "last_year": 2030,
        "min_deprivations": 3,
        # information assets dropped; digital services and waste treatment are not yet surveyed
        "indicators": [c for c in ALL_12 if c != "d_info_assets"],
        "provisional": True,
        "notes": "Poor lines (2.2 m rural, 2.8 m urban, at least 3 deprivations) are from the "
        "decree. Near-poor thresholds and the new indicators (digital services, household "
        "waste) are not yet confirmed or collected: provisional, editable by admins.",
        "lines": {"rural": (None, 2_200_000), "urban": (None, 2_800_000)},
    },
]


def upgrade() -> None:
    standards = sa.table(
        "poverty_standards",
        sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String),
        sa.column("legal_basis", sa.String), sa.column("first_year", sa.SmallInteger),
        sa.column("last_year", sa.SmallInteger), sa.column("min_deprivations", sa.SmallInteger),
        sa.column("indicators", JSONB), sa.column("provisional", sa.Boolean),
        sa.column("notes", sa.Text), sa.column("created_by", sa.String), sa.column("updated_by", sa.String),
    )
    lines = sa.table(
        "poverty_lines",
        sa.column("standard_id", sa.Integer), sa.column("area_type", sa.String),
        sa.column("absolute_line", sa.BigInteger), sa.column("income_line", sa.BigInteger),
        sa.column("created_by", sa.String), sa.column("updated_by", sa.String),
    )
    conn = op.get_bind()
    for std in STANDARDS:
        values = {k: v for k, v in std.items() if k != "lines"}
        std_id = conn.execute(
            standards.insert().values(**values, created_by="migration", updated_by="migration")
            .returning(standards.c.id)
        ).scalar_one()
        for area_type, (absolute, income) in std["lines"].items():  # type: ignore[attr-defined]
            conn.execute(lines.insert().values(
                standard_id=std_id, area_type=area_type, absolute_line=absolute, income_line=income,
                created_by="migration", updated_by="migration",
            ))
    op.create_check_constraint(
        "years_ordered", "poverty_standards", "first_year <= last_year"
    )


def downgrade() -> None:
    op.drop_constraint("years_ordered", "poverty_standards", type_="check")
    op.execute("DELETE FROM poverty_lines")
    op.execute("DELETE FROM poverty_standards")
