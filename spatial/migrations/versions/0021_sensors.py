"""Sensors after OGC SensorThings: devices, datastreams, observations partitioned by month, corrections

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 23:57:03.110899

A device (``sensor_things``) is placed in a 2025 commune like a model or a scheme (asset kind
``device`` in ``asset_units``, 0012's triggers); its datastreams, observations, corrections,
aggregates and gaps follow it through EXISTS under the device's policy. Observations are
partitioned by calendar month (UTC) of their phenomenon time; ``sinhke_sensor_partition(month)``
creates a month's partition (definer rights: an ingest running as the application role may need
a past month for a logger's backlog). Device tokens are readable only through
``sinhke_device_token(digest)``.
"""

from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"
_DEVICE_VISIBLE = "EXISTS (SELECT 1 FROM sinhke_visible_assets('device') a WHERE a = sensor_things.id)"
_DEVICE_UNPLACED = (
    "NOT EXISTS (SELECT 1 FROM asset_units au WHERE au.asset_kind = 'device' AND au.asset_id = sensor_things.id)"
)
_BY_STREAM = "sinhke_scope_all() OR EXISTS (SELECT 1 FROM sensor_datastreams d WHERE d.id = {table}.datastream_id)"
#: table -> (USING, WITH CHECK): a device where it is placed (0012's asset scope); what belongs to a
#: datastream is seen with the datastream, a datastream with its device (the nested policies decide)
SCOPES = {
    "sensor_things": (
        f"sinhke_scope_all() OR {_DEVICE_VISIBLE} OR ({_DEVICE_UNPLACED} "
        "AND sinhke_asset_placeable(sensor_things.geom, sensor_things.commune_id))",
        "sinhke_asset_placeable(sensor_things.geom, sensor_things.commune_id)",
    ),
    "sensor_datastreams": (
        "sinhke_scope_all() OR EXISTS (SELECT 1 FROM sensor_things t WHERE t.id = sensor_datastreams.thing_id)",
    )
    * 2,
    **{
        table: (_BY_STREAM.format(table=table),) * 2
        for table in ("sensor_observations", "sensor_corrections", "sensor_aggregates", "sensor_gaps")
    },
    "sensor_scheme_status": (
        "sinhke_scope_all() OR EXISTS (SELECT 1 FROM sinhke_visible_assets('water_scheme') a "
        "WHERE a = sensor_scheme_status.scheme_id)",
    )
    * 2,
    "sensor_rain_alerts": ("sinhke_unit_visible(commune_id)",) * 2,
    # events are seen in their commune; a user's settings and deliveries by that user (and admins)
    "notification_events": ("sinhke_unit_visible(commune_id)",) * 2,
    "notification_settings": ("sinhke_scope_all() OR user_id = sinhke_user_id()",) * 2,
    "notification_deliveries": ("sinhke_scope_all() OR user_id = sinhke_user_id()",) * 2,
}
AUDITED = ("sensor_things", "sensor_datastreams", "sensor_sensors", "notification_settings")
#: 0012's re-placement of every asset, then with devices
_PLACE_ALL = """
    CREATE OR REPLACE FUNCTION sinhke_place_assets() RETURNS bigint
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE placed bigint;
    BEGIN
      WITH assets AS (
        SELECT 'model' AS kind, id, geom, commune_id FROM livelihood_models
        UNION ALL SELECT 'work', id, geom, commune_id FROM infrastructure_works
        UNION ALL SELECT 'water_scheme', id, geom, commune_id FROM water_schemes{devices}),
      written AS (
        INSERT INTO asset_units (asset_kind, asset_id, commune_id, method)
        SELECT a.kind, a.id, p.commune_id, p.method FROM assets a, sinhke_place_asset(a.geom, a.commune_id) p
        ON CONFLICT (asset_kind, asset_id) DO UPDATE SET commune_id = EXCLUDED.commune_id, method = EXCLUDED.method
        WHERE (asset_units.commune_id, asset_units.method) IS DISTINCT FROM (EXCLUDED.commune_id, EXCLUDED.method)
        RETURNING 1)
      SELECT count(*) INTO placed FROM written;
      RETURN placed;
    END $$;
"""


def upgrade() -> None:
    op.create_table(
        "sensor_aggregates",
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=4), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("min", sa.Double(), nullable=False),
        sa.Column("max", sa.Double(), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("sum", sa.Double(), nullable=False),
        sa.CheckConstraint("period IN ('hour','day')", name=op.f("ck_sensor_aggregates_period")),
        sa.PrimaryKeyConstraint("datastream_id", "period", "period_start", name=op.f("pk_sensor_aggregates")),
    )
    op.create_table(
        "sensor_gaps",
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("gap_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gap_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("datastream_id", "gap_start", name=op.f("pk_sensor_gaps")),
    )
    op.create_table(
        "sensor_observations",
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("phenomenon_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("result_time", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("channel", sa.String(length=4), nullable=False),
        sa.CheckConstraint("channel IN ('http','csv','mqtt','demo')", name=op.f("ck_sensor_observations_channel")),
        sa.PrimaryKeyConstraint("datastream_id", "phenomenon_time", name=op.f("pk_sensor_observations")),
        postgresql_partition_by="RANGE (phenomenon_time)",
    )
    op.create_table(
        "sensor_observed_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_observed_properties")),
        sa.UniqueConstraint("quantity", name="uq_sensor_observed_properties_quantity"),
    )
    op.create_table(
        "sensor_sensors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("encoding_type", sa.String(length=80), server_default="text/plain", nullable=False),
        sa.Column("metadata", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_sensors")),
        sa.UniqueConstraint("name", name="uq_sensor_sensors_name"),
    )
    op.create_table(
        "sensor_rain_alerts",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("computed_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rain_24h_mm", sa.Double(), nullable=False),
        sa.Column("rain_72h_mm", sa.Double(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("susceptibility", sa.SmallInteger(), nullable=True),
        sa.Column("risk_level", sa.SmallInteger(), nullable=False),
        sa.Column("method", sa.String(length=7), nullable=False),
        sa.Column("gauges", sa.SmallInteger(), nullable=False),
        sa.Column("models", sa.Integer(), server_default="0", nullable=False),
        sa.Column("schemes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("method IN ('nearest','idw')", name=op.f("ck_sensor_rain_alerts_method")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_sensor_rain_alerts_commune_id_admin_units")
        ),
        sa.PrimaryKeyConstraint("commune_id", "computed_for", name=op.f("pk_sensor_rain_alerts")),
    )
    op.create_table(
        "sensor_scheme_status",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reasons", sa.ARRAY(sa.String(length=40)), server_default="{}", nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("households_served", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "status IN ('functional','partially_functional','not_functional')",
            name=op.f("ck_sensor_scheme_status_status"),
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"],
            ["water_schemes.id"],
            name=op.f("fk_sensor_scheme_status_scheme_id_water_schemes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scheme_id", "assessed_on", name=op.f("pk_sensor_scheme_status")),
    )
    op.create_geospatial_table(
        "sensor_things",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
        sa.CheckConstraint(
            "(kind = 'water_scheme') = (scheme_id IS NOT NULL) AND (kind = 'model_site') = (model_id IS NOT NULL)",
            name=op.f("ck_sensor_things_attached"),
        ),
        sa.CheckConstraint("kind IN ('water_scheme','station','model_site')", name=op.f("ck_sensor_things_kind")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_sensor_things_commune_id_admin_units")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["livelihood_models.id"], name=op.f("fk_sensor_things_model_id_livelihood_models")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["water_schemes.id"], name=op.f("fk_sensor_things_scheme_id_water_schemes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_things")),
        sa.UniqueConstraint("code", name="uq_sensor_things_code"),
    )
    op.create_index(op.f("ix_sensor_things_commune_id"), "sensor_things", ["commune_id"], unique=False)
    op.create_geospatial_index(
        "ix_sensor_things_geom", "sensor_things", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_sensor_things_model_id"), "sensor_things", ["model_id"], unique=False)
    op.create_index(op.f("ix_sensor_things_scheme_id"), "sensor_things", ["scheme_id"], unique=False)
    op.create_table(
        "sensor_datastreams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thing_id", sa.Integer(), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.Column("observed_property_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("unit_name", sa.String(length=60), nullable=False),
        sa.Column("unit_symbol", sa.String(length=20), nullable=False),
        sa.Column("expected_interval_s", sa.Integer(), nullable=False),
        sa.Column("valid_min", sa.Float(), nullable=False),
        sa.Column("valid_max", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
        sa.CheckConstraint(
            "quantity IN ('flow','pressure','tank_level','chlorine','rainfall','river_level','temperature')",
            name=op.f("ck_sensor_datastreams_quantity"),
        ),
        sa.CheckConstraint("expected_interval_s > 0", name=op.f("ck_sensor_datastreams_expected_interval")),
        sa.CheckConstraint("valid_min < valid_max", name=op.f("ck_sensor_datastreams_valid_range")),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["sensor_observed_properties.id"],
            name=op.f("fk_sensor_datastreams_observed_property_id_sensor_observed_properties"),
        ),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["sensor_sensors.id"], name=op.f("fk_sensor_datastreams_sensor_id_sensor_sensors")
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"], ["sensor_things.id"], name=op.f("fk_sensor_datastreams_thing_id_sensor_things")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_datastreams")),
        sa.UniqueConstraint("thing_id", "name", name="uq_sensor_datastreams_thing_id"),
    )
    op.create_index(op.f("ix_sensor_datastreams_thing_id"), "sensor_datastreams", ["thing_id"], unique=False)
    op.create_table(
        "sensor_device_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thing_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["thing_id"], ["sensor_things.id"], name=op.f("fk_sensor_device_tokens_thing_id_sensor_things")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_device_tokens")),
        sa.UniqueConstraint("token_hash", name="uq_sensor_device_tokens_token_hash"),
    )
    op.create_index(op.f("ix_sensor_device_tokens_thing_id"), "sensor_device_tokens", ["thing_id"], unique=False)
    op.create_table(
        "sensor_corrections",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("phenomenon_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_value", sa.Double(), nullable=False),
        sa.Column("new_value", sa.Double(), nullable=False),
        sa.Column("channel", sa.String(length=4), nullable=False),
        sa.Column("corrected_by", sa.String(length=80), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["datastream_id"],
            ["sensor_datastreams.id"],
            name=op.f("fk_sensor_corrections_datastream_id_sensor_datastreams"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_corrections")),
    )
    op.create_index(
        "ix_sensor_corrections_stream_time", "sensor_corrections", ["datastream_id", "phenomenon_time"], unique=False
    )
    op.create_table(
        "notification_events",
        sa.Column("event_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('rain_alert','scheme_down')", name=op.f("ck_notification_events_kind")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_notification_events_commune_id_admin_units")
        ),
        sa.PrimaryKeyConstraint("event_key", name=op.f("pk_notification_events")),
    )
    op.create_index(op.f("ix_notification_events_commune_id"), "notification_events", ["commune_id"], unique=False)
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("kinds", sa.ARRAY(sa.String(length=20)), server_default="{rain_alert,scheme_down}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(length=80), server_default="system", nullable=False),
        sa.Column("updated_by", sa.String(length=80), server_default="system", nullable=False),
        sa.CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name=op.f("ck_notification_settings_reachable")),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_units.id"], name=op.f("fk_notification_settings_commune_id_admin_units")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_settings_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_settings")),
        sa.UniqueConstraint("user_id", "commune_id", name="uq_notification_settings_user_id"),
    )
    op.create_index(op.f("ix_notification_settings_user_id"), "notification_settings", ["user_id"], unique=False)
    op.create_table(
        "notification_deliveries",
        sa.Column("event_key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=7), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("channel IN ('email','webhook')", name=op.f("ck_notification_deliveries_channel")),
        sa.ForeignKeyConstraint(
            ["event_key"],
            ["notification_events.event_key"],
            name=op.f("fk_notification_deliveries_event_key_notification_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_deliveries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_key", "user_id", "channel", name=op.f("pk_notification_deliveries")),
    )
    _security_upgrade()


def downgrade() -> None:
    _security_downgrade()
    op.drop_table("notification_deliveries")
    op.drop_index(op.f("ix_notification_settings_user_id"), table_name="notification_settings")
    op.drop_table("notification_settings")
    op.drop_index(op.f("ix_notification_events_commune_id"), table_name="notification_events")
    op.drop_table("notification_events")
    op.drop_index("ix_sensor_corrections_stream_time", table_name="sensor_corrections")
    op.drop_table("sensor_corrections")
    op.drop_index(op.f("ix_sensor_device_tokens_thing_id"), table_name="sensor_device_tokens")
    op.drop_table("sensor_device_tokens")
    op.drop_index(op.f("ix_sensor_datastreams_thing_id"), table_name="sensor_datastreams")
    op.drop_table("sensor_datastreams")
    op.drop_index(op.f("ix_sensor_things_scheme_id"), table_name="sensor_things")
    op.drop_index(op.f("ix_sensor_things_model_id"), table_name="sensor_things")
    op.drop_geospatial_index(
        "ix_sensor_things_geom", table_name="sensor_things", postgresql_using="gist", column_name="geom"
    )
    op.drop_index(op.f("ix_sensor_things_commune_id"), table_name="sensor_things")
    op.drop_geospatial_table("sensor_things")
    op.drop_table("sensor_scheme_status")
    op.drop_table("sensor_rain_alerts")
    op.drop_table("sensor_sensors")
    op.drop_table("sensor_observed_properties")
    op.drop_table("sensor_observations")
    op.drop_table("sensor_gaps")
    op.drop_table("sensor_aggregates")


def _security_upgrade() -> None:
    op.execute("ALTER TABLE asset_units DROP CONSTRAINT ck_asset_units_asset_kind")
    op.execute(
        "ALTER TABLE asset_units ADD CONSTRAINT ck_asset_units_asset_kind "
        "CHECK (asset_kind IN ('model','work','water_scheme','device'))"
    )
    op.execute(
        _PLACE_ALL.format(devices="\n        UNION ALL SELECT 'device', id, geom, commune_id FROM sensor_things")
    )
    op.execute(
        "CREATE TRIGGER sensor_things_place AFTER INSERT OR UPDATE OF geom, commune_id OR DELETE ON sensor_things "
        "FOR EACH ROW EXECUTE FUNCTION sinhke_place_asset_row('device')"
    )
    for table in AUDITED:
        op.execute(
            f"CREATE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sinhke_audit('id')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_touch BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION sinhke_touch()"
        )
    for table, (using, check) in SCOPES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_scope ON {table} TO {APP_ROLE} USING ({using}) WITH CHECK ({check})")
    for table in (*SCOPES, "sensor_sensors", "sensor_observed_properties"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    # a device's tokens are checked by digest through a definer function, never read by the app
    op.execute(f"REVOKE ALL ON sensor_device_tokens FROM {APP_ROLE}")
    op.execute("""
    CREATE FUNCTION sinhke_device_token(digest text, OUT thing_id int, OUT code text, OUT revoked boolean)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT t.id, t.code, k.revoked_at IS NOT NULL OR t.deleted_at IS NOT NULL
      FROM sensor_device_tokens k JOIN sensor_things t ON t.id = k.thing_id WHERE k.token_hash = digest $$;
    """)
    # a stored reading is never overwritten silently: the value it had is kept beside the new one
    op.execute("""
    CREATE FUNCTION sinhke_sensor_correction() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO sensor_corrections (datastream_id, phenomenon_time, old_value, new_value, channel, corrected_by)
      VALUES (NEW.datastream_id, NEW.phenomenon_time, OLD.value, NEW.value, NEW.channel, sinhke_actor());
      RETURN NULL;
    END $$;
    CREATE TRIGGER sensor_observations_corrected AFTER UPDATE OF value ON sensor_observations
      FOR EACH ROW WHEN (OLD.value IS DISTINCT FROM NEW.value) EXECUTE FUNCTION sinhke_sensor_correction();
    """)
    # one calendar month (UTC) of observations; created if missing, its name returned
    op.execute("""
    CREATE FUNCTION sinhke_sensor_partition(month date) RETURNS text
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
      first date := date_trunc('month', month)::date;
      name text := format('sensor_observations_%s', to_char(first, 'YYYY_MM'));
    BEGIN
      IF to_regclass(name) IS NULL THEN
        -- two ingests creating the same month: the second waits for the first, then finds it
        PERFORM pg_advisory_xact_lock(hashtext(name));
      END IF;
      IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF sensor_observations '
                       'FOR VALUES FROM (%L) TO (%L)', name,
                       (first::timestamp AT TIME ZONE 'UTC'), ((first + interval '1 month') AT TIME ZONE 'UTC'));
      END IF;
      RETURN name;
    END $$;
    """)
    op.execute(f"GRANT EXECUTE ON FUNCTION sinhke_sensor_partition(date) TO {APP_ROLE}")
    op.execute("SELECT sinhke_sensor_partition((now() AT TIME ZONE 'UTC')::date)")
    op.execute("""
    INSERT INTO sensor_observed_properties (quantity, name, definition, description) VALUES
      ('flow', 'Flow rate', 'http://vocabs.lter-europe.net/EnvThes/21185', 'Volume of water through the meter per hour'),
      ('pressure', 'Water pressure', 'http://vocabs.lter-europe.net/EnvThes/30006', 'Pressure in the distribution main'),
      ('tank_level', 'Tank level', 'http://qudt.org/vocab/quantitykind/Level', 'Fill of the storage tank'),
      ('chlorine', 'Residual chlorine', 'http://vocab.nerc.ac.uk/collection/P01/current/CHLRZZXX/', 'Free chlorine at the tap end'),
      ('rainfall', 'Rainfall', 'http://vocabs.lter-europe.net/EnvThes/21581', 'Precipitation depth in the interval'),
      ('river_level', 'River level', 'http://vocabs.lter-europe.net/EnvThes/20431', 'Water level above the gauge datum'),
      ('temperature', 'Air temperature', 'http://vocabs.lter-europe.net/EnvThes/22035', 'Air temperature')
    """)


def _security_downgrade() -> None:
    for table in SCOPES:
        op.execute(f"DROP POLICY {table}_scope ON {table}")
    op.execute("DROP TRIGGER sensor_observations_corrected ON sensor_observations")
    op.execute("DROP FUNCTION sinhke_sensor_correction()")
    op.execute("DROP FUNCTION sinhke_sensor_partition(date)")
    op.execute("DROP FUNCTION sinhke_device_token(text)")
    op.execute("DROP TRIGGER sensor_things_place ON sensor_things")
    op.execute("DELETE FROM asset_units WHERE asset_kind = 'device'")
    op.execute(_PLACE_ALL.format(devices=""))
    op.execute("ALTER TABLE asset_units DROP CONSTRAINT ck_asset_units_asset_kind")
    op.execute(
        "ALTER TABLE asset_units ADD CONSTRAINT ck_asset_units_asset_kind "
        "CHECK (asset_kind IN ('model','work','water_scheme'))"
    )
