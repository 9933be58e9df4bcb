"""Migrations: empty → head → base → head, one head, and the models match the migrations."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from spatial import cluster, migrate
from spatial.db import engine_for
from spatial.migrate import include_object
from spatial.models import Base


def test_one_head(base_settings):
    assert len(migrate.heads(base_settings)) == 1


def test_empty_to_head_and_back(base_settings):
    settings = base_settings.with_database("sinhke_test_migrations")
    cluster.ensure_database(settings, "sinhke_test_migrations", fresh=True)
    engine = engine_for(settings)
    assert migrate.current_revision(engine) is None

    head = migrate.heads(settings)[0]
    migrate.upgrade(settings)
    assert migrate.current_revision(engine) == head
    tables = set(inspect(engine).get_table_names())
    assert {
        "admin_units",
        "admin_crosswalk",
        "households",
        "survey_rounds",
        "poverty_standards",
        "livelihood_models",
        "model_participants",
        "infrastructure_works",
        "water_schemes",
        "water_scheme_households",
        "villages",
        "visits",
        "job_runs",
    } <= tables
    with engine.connect() as conn:
        # every geometry column has SRID 4326 and a GiST index
        geoms = conn.execute(
            text("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = 'public'")
        ).all()
        assert geoms and all(srid == 4326 for _, _, srid in geoms)
        for table, column, _ in geoms:
            has_gist = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = :t "
                    "AND indexdef ILIKE '%USING gist%' AND indexdef LIKE '%(' || :c || ')%'"
                ),
                {"t": table, "c": column},
            )
            assert has_gist == 1, f"{table}.{column} has no GiST index"
        assert conn.scalar(text("SELECT count(*) FROM poverty_standards")) == 3

    migrate.downgrade(settings, "base")
    assert migrate.current_revision(engine) is None
    assert "households" not in inspect(engine).get_table_names()
    migrate.upgrade(settings)
    assert migrate.current_revision(engine) == head

    # the models and the migrations describe the same schema
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    engine.dispose()
