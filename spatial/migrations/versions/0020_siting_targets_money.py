"""Planners: saved siting scenarios, the programme's structure, targets and money, and their progress

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 00:10:00.000000

- ``siting_scenarios``: a named siting run (its parameters and its result), seen by every user
  whose communes include all of the scenario's communes. Stamped (created/updated by and at) but
  not audited: a scenario is a computation's record, written once and deleted softly; its result
  (every household covered) would only bloat the audit trail.
- ``programmes`` and ``programme_parts``: the 2021-2025 programme's projects and sub-projects
  (Decision 90/QD-TTg, 2022) and the 2026-2035 programme as a second version, as rows. Reference
  data: every role reads it, administrators edit it; audited.
- ``targets`` (area x year x indicator [x project]) and ``allocations`` (part x area x year x
  source: allocated and disbursed VND): edited by administrators and by planners within their
  communes; audited; scoped by the area.
- ``target_progress`` and ``disbursement_progress``: results of the ``targets_progress`` job,
  scoped by the area.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"
INDICATORS = ("poverty_rate_reduction", "households_supported", "works_completed", "households_with_water")
SOURCES = ("central", "local", "credit", "mobilised")
TARGET_STATUSES = ("met", "on_track", "lagging", "no_target", "no_data")
DISBURSEMENT_STATUSES = ("no_allocation", "on_track", "low")
#: a scenario is visible when every one of its communes is
SCENARIO_SCOPE = (
    "sinhke_scope_all() OR (cardinality(commune_ids) > 0 AND NOT EXISTS "
    "(SELECT 1 FROM unnest(commune_ids) AS c(id) WHERE NOT sinhke_unit_visible(c.id)))"
)
AREA_SCOPE = "sinhke_unit_visible(unit_id)"

#: the 2021-2025 programme, Decision 90/QD-TTg (2022): (code, Vietnamese name, English name)
PROGRAMME_2021 = (
    (
        "1",
        "Hỗ trợ đầu tư phát triển hạ tầng kinh tế - xã hội các huyện nghèo, các xã đặc biệt khó khăn vùng bãi ngang, ven biển và hải đảo",
        "Infrastructure in poor districts and especially difficult coastal and island communes",
    ),
    ("2", "Đa dạng hóa sinh kế, phát triển mô hình giảm nghèo", "Diversified livelihoods and poverty-reduction models"),
    ("3", "Hỗ trợ phát triển sản xuất, cải thiện dinh dưỡng", "Production support and nutrition"),
    ("3.1", "Hỗ trợ phát triển sản xuất trong lĩnh vực nông nghiệp", "Production support in agriculture"),
    ("3.2", "Cải thiện dinh dưỡng", "Nutrition"),
    ("4", "Phát triển giáo dục nghề nghiệp, việc làm bền vững", "Vocational training and sustainable jobs"),
    (
        "4.1",
        "Phát triển giáo dục nghề nghiệp vùng nghèo, vùng khó khăn",
        "Vocational training in poor and difficult areas",
    ),
    ("4.2", "Hỗ trợ người lao động đi làm việc ở nước ngoài theo hợp đồng", "Support for contract work abroad"),
    ("4.3", "Hỗ trợ việc làm bền vững", "Sustainable jobs"),
    (
        "5",
        "Hỗ trợ nhà ở cho hộ nghèo, hộ cận nghèo trên địa bàn các huyện nghèo",
        "Housing for poor and near-poor households in poor districts",
    ),
    ("6", "Truyền thông và giảm nghèo về thông tin", "Communication and reducing information poverty"),
    ("6.1", "Giảm nghèo về thông tin", "Reducing information poverty"),
    ("6.2", "Truyền thông về giảm nghèo đa chiều", "Communication on multidimensional poverty reduction"),
    ("7", "Nâng cao năng lực và giám sát, đánh giá Chương trình", "Capacity building, monitoring and evaluation"),
    ("7.1", "Nâng cao năng lực thực hiện Chương trình", "Capacity building"),
    ("7.2", "Giám sát, đánh giá", "Monitoring and evaluation"),
)
#: (G) the merged 2026-2035 programme: its components are not yet published in a text we have
#: checked; these provisional ones follow the same fields, and administrators edit them
PROGRAMME_2026 = (
    ("1", "Hạ tầng kinh tế - xã hội (tạm thời)", "Socio-economic infrastructure (provisional)"),
    ("2", "Sinh kế, sản xuất và mô hình giảm nghèo (tạm thời)", "Livelihoods, production and models (provisional)"),
    ("3", "Giáo dục nghề nghiệp và việc làm (tạm thời)", "Vocational training and jobs (provisional)"),
    ("4", "Nhà ở và nước sinh hoạt (tạm thời)", "Housing and domestic water (provisional)"),
    (
        "5",
        "Truyền thông, năng lực, giám sát và đánh giá (tạm thời)",
        "Communication, capacity, monitoring (provisional)",
    ),
)


def _edited() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
    ]


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "siting_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("facility", sa.String(length=20), nullable=False),
        sa.Column("commune_ids", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="succeeded", nullable=False),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("greedy_objective", sa.Float(), nullable=True),
        sa.Column("optimal", sa.Boolean(), nullable=True),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_edited(),
        sa.CheckConstraint("status IN ('running','succeeded','failed')", name=op.f("ck_siting_scenarios_status")),
        sa.CheckConstraint("cardinality(commune_ids) > 0", name=op.f("ck_siting_scenarios_communes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_siting_scenarios")),
    )
    op.create_index("ix_siting_scenarios_commune_ids", "siting_scenarios", ["commune_ids"], postgresql_using="gin")

    op.create_table(
        "programmes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("start_year", sa.SmallInteger(), nullable=False),
        sa.Column("end_year", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        *_edited(),
        sa.CheckConstraint("end_year >= start_year", name=op.f("ck_programmes_years")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("code", name=op.f("uq_programmes_code")),
    )
    op.create_table(
        "programme_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        *_edited(),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_programme_parts_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["programme_parts.id"], name=op.f("fk_programme_parts_parent_id_programme_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_parts")),
        sa.UniqueConstraint("programme_id", "code", name=op.f("uq_programme_parts_programme_id")),
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("indicator", sa.String(length=30), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("baseline_year", sa.SmallInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *_edited(),
        sa.CheckConstraint(_in("indicator", INDICATORS), name=op.f("ck_targets_indicator")),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_targets_year")),
        sa.CheckConstraint("baseline_year IS NULL OR baseline_year < year", name=op.f("ck_targets_baseline")),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_units.id"], name=op.f("fk_targets_unit_id_admin_units")),
        sa.ForeignKeyConstraint(["part_id"], ["programme_parts.id"], name=op.f("fk_targets_part_id_programme_parts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
    )
    op.execute("CREATE UNIQUE INDEX uq_targets_key ON targets (unit_id, year, indicator, coalesce(part_id, 0))")
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("allocated_vnd", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_vnd", sa.BigInteger(), server_default="0", nullable=False),
        *_edited(),
        sa.CheckConstraint(_in("source", SOURCES), name=op.f("ck_allocations_source")),
        sa.CheckConstraint("allocated_vnd >= 0", name=op.f("ck_allocations_allocated")),
        sa.CheckConstraint("disbursed_vnd >= 0", name=op.f("ck_allocations_disbursed")),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_allocations_year")),
        sa.ForeignKeyConstraint(
            ["part_id"], ["programme_parts.id"], name=op.f("fk_allocations_part_id_programme_parts")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_units.id"], name=op.f("fk_allocations_unit_id_admin_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        sa.UniqueConstraint("part_id", "unit_id", "year", "source", name=op.f("uq_allocations_part_id")),
    )
    op.create_index(op.f("ix_allocations_unit_id"), "allocations", ["unit_id"])
    op.create_table(
        "target_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("indicator", sa.String(length=30), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("achieved", sa.Float(), nullable=True),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(_in("status", TARGET_STATUSES), name=op.f("ck_target_progress_status")),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["admin_units.id"], name=op.f("fk_target_progress_unit_id_admin_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["part_id"],
            ["programme_parts.id"],
            name=op.f("fk_target_progress_part_id_programme_parts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_progress")),
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_target_progress_key ON target_progress (unit_id, year, indicator, coalesce(part_id, 0))"
    )
    op.create_table(
        "disbursement_progress",
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("allocated_vnd", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_vnd", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=13), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(_in("status", DISBURSEMENT_STATUSES), name=op.f("ck_disbursement_progress_status")),
        sa.ForeignKeyConstraint(
            ["part_id"],
            ["programme_parts.id"],
            name=op.f("fk_disbursement_progress_part_id_programme_parts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["admin_units.id"],
            name=op.f("fk_disbursement_progress_unit_id_admin_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("part_id", "unit_id", "year", name=op.f("pk_disbursement_progress")),
    )

    programmes = sa.table(
        "programmes",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("name_en", sa.String),
        sa.column("start_year", sa.Integer),
        sa.column("end_year", sa.Integer),
        sa.column("source", sa.Text),
    )
    op.bulk_insert(
        programmes,
        [
            {
                "id": 1,
                "code": "2021-2025",
                "start_year": 2021,
                "end_year": 2025,
                "source": "Quyết định 90/QĐ-TTg (2022)",
                "name": "Chương trình mục tiêu quốc gia giảm nghèo bền vững giai đoạn 2021-2025",
                "name_en": "National Target Program on Sustainable Poverty Reduction 2021-2025",
            },
            {
                "id": 2,
                "code": "2026-2035",
                "start_year": 2026,
                "end_year": 2035,
                "source": "(G) provisional structure: edit when the programme's decision is published",
                "name": "Chương trình mục tiêu quốc gia giai đoạn 2026-2035 (hợp nhất)",
                "name_en": "National Target Program 2026-2035 (merged)",
            },
        ],
    )
    op.execute("SELECT setval('programmes_id_seq', 2)")
    for programme_id, parts in ((1, PROGRAMME_2021), (2, PROGRAMME_2026)):
        for code, name, name_en in parts:
            parent = code.split(".")[0] if "." in code else None
            op.execute(
                sa.text(
                    "INSERT INTO programme_parts (programme_id, parent_id, code, name, name_en) VALUES "
                    "(:p, (SELECT id FROM programme_parts WHERE programme_id = :p AND code = :parent), :c, :n, :e)"
                ).bindparams(p=programme_id, parent=parent, c=code, n=name, e=name_en)
            )

    tables = (
        "siting_scenarios",
        "programmes",
        "programme_parts",
        "targets",
        "allocations",
        "target_progress",
        "disbursement_progress",
    )
    for table in tables:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for table in ("siting_scenarios", "programmes", "programme_parts", "targets", "allocations"):
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO {APP_ROLE}")
        op.execute(
            f"CREATE TRIGGER {table}_touch BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sinhke_touch()"
        )
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE target_progress_id_seq TO {APP_ROLE}")
    for table in ("programmes", "programme_parts", "targets", "allocations"):
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sinhke_audit('id')"
        )
    op.execute(
        f"CREATE POLICY siting_scenarios_scope ON siting_scenarios TO {APP_ROLE} "
        f"USING ({SCENARIO_SCOPE}) WITH CHECK ({SCENARIO_SCOPE})"
    )
    for table in ("programmes", "programme_parts"):
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT TO {APP_ROLE} USING (true)")
        op.execute(
            f"CREATE POLICY {table}_write ON {table} TO {APP_ROLE} "
            "USING (sinhke_is_admin()) WITH CHECK (sinhke_is_admin())"
        )
    for table in ("targets", "allocations", "target_progress", "disbursement_progress"):
        op.execute(
            f"CREATE POLICY {table}_scope ON {table} TO {APP_ROLE} USING ({AREA_SCOPE}) WITH CHECK ({AREA_SCOPE})"
        )


def downgrade() -> None:
    for table in (
        "disbursement_progress",
        "target_progress",
        "allocations",
        "targets",
        "programme_parts",
        "programmes",
        "siting_scenarios",
    ):
        op.drop_table(table)  # its policies and triggers go with it
