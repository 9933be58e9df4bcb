"""Migrations: empty → head → base → head, one head, and the models match the migrations."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

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


def _revision(name: str):
    """A migration module (its file name begins with a digit: not importable by name)."""
    path = Path(migrate.__file__).parent / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_0030_gives_rows_written_before_it_the_messages_the_job_writes_now(db):
    """The demo's statuses (tests/conftest.py ran the sensor jobs) have their messages; without them,
    as before 0030, the backfill reads them back from the English text, and every wording of
    ``jobs.sensors.assess`` (any reason, any numbers) reads back into its own messages."""
    from jobs.sensors import FunctionalityRules, assess

    revision = _revision("0030_scheme_status_messages")
    rules = FunctionalityRules(no_flow_days=5, pressure_min_bar=1.5, pressure_max_bar=4, tank_empty_pct=7.5)
    row = SimpleNamespace(
        flow_n=10, peak=0, pressure_n=20, outside=17, tank_n=3, highest=1, visit_status="not_functional"
    )
    status, _reasons, detail = assess(row, rules)
    assert status == "not_functional" and len(detail) == 4
    assert revision.messages("; ".join(detail)) == [m.stored() for m in detail]
    assert revision.messages("checked by hand") == [{"text": "checked by hand", "msgid": "", "args": {}}]

    written = "SELECT scheme_id, assessed_on, detail, detail_messages FROM sensor_scheme_status ORDER BY 1, 2"
    recorded = "SELECT id, status_reason, status_reason_messages FROM water_schemes ORDER BY id"
    before = (db.execute(text(written)).all(), db.execute(text(recorded)).all())
    assert any(r.detail_messages for r in before[0]) and any(r.status_reason_messages for r in before[1])
    audited = db.scalar(text("SELECT count(*) FROM audit_log"))
    db.execute(text("UPDATE sensor_scheme_status SET detail_messages = '[]'"))
    db.execute(text("SET LOCAL sinhke.audit = 'off'; UPDATE water_schemes SET status_reason_messages = NULL"))
    db.execute(text("SET LOCAL sinhke.audit = 'on'"))
    revision.backfill(db.connection())
    assert (db.execute(text(written)).all(), db.execute(text(recorded)).all()) == before
    assert db.scalar(text("SELECT count(*) FROM audit_log")) == audited
