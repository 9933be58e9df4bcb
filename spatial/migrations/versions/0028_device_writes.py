"""A device's readings written by definer-rights functions that check its token

Revision ID: 0028
Revises: 0027

A device's batch (``POST /api/sensors/observations``, MQTT) ran three statements under row-level
security: the datastreams it names, whether any of their times are stored, and the INSERT. Each
was planned again per request with the nested policies of ``sensor_observations``,
``sensor_datastreams`` and ``sensor_things`` (2–4 ms of planning per statement against well under
a millisecond of work for a 1,000-row batch), most of a batch's time in PostgreSQL.

The device's token is what authorises it, not a person's scope, so the token decides here too:

- ``sinhke_device_streams(digest, ids)``: the live datastreams among ``ids`` with their device and
  valid range (those of other devices too, so the ingest can refuse a batch naming one); nothing
  for a digest that is not a live token.
- ``sinhke_device_write(digest, ds, t, v, channel)``: refuses (SQLSTATE 28000) unless the digest is
  a live token of a live device and every datastream in ``ds`` is that device's; then makes the
  months' partitions where missing (``sinhke_sensor_partition``), inserts the
  readings whose times are not stored (epoch seconds in ``t``) and gives a stored time with another
  value the new value (the corrections trigger keeps the old one), returning how many of each.
  When no stored reading of these streams lies in the batch's time span, a plain INSERT (no
  speculative insertion per row); a concurrent resend of the same batch falls back to
  ``ON CONFLICT`` in the block's own subtransaction.

PL/pgSQL keeps each statement's plan for the connection, so none is planned per request. A person
uploading a logger file still writes under their own scope, as before.
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

INPUT = "unnest(ds, t, v) AS i(ds, t, v)"


def upgrade() -> None:
    op.execute("""
    CREATE FUNCTION sinhke_device_streams(digest text, ids int[])
      RETURNS TABLE (id int, thing_id int, valid_min float8, valid_max float8)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
      SELECT d.id, d.thing_id, d.valid_min, d.valid_max
      FROM sensor_datastreams d JOIN sensor_things t ON t.id = d.thing_id
      WHERE d.id = ANY(ids) AND d.deleted_at IS NULL AND t.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM sensor_device_tokens k JOIN sensor_things kt ON kt.id = k.thing_id
                    WHERE k.token_hash = digest AND k.revoked_at IS NULL AND kt.deleted_at IS NULL) $$
    """)
    op.execute(f"""
    CREATE FUNCTION sinhke_device_write(digest text, ds int[], t float8[], v float8[], channel text,
                                        OUT inserted int, OUT corrected int)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
      device int;
      own int[];
      lo float8;
      hi float8;
    BEGIN
      SELECT k.thing_id INTO device FROM sensor_device_tokens k JOIN sensor_things th ON th.id = k.thing_id
      WHERE k.token_hash = digest AND k.revoked_at IS NULL AND th.deleted_at IS NULL;
      IF device IS NULL THEN
        RAISE EXCEPTION 'not a live device token' USING ERRCODE = '28000';
      END IF;
      SELECT coalesce(array_agg(d.id), '{{}}') INTO own FROM sensor_datastreams d
      WHERE d.thing_id = device AND d.deleted_at IS NULL;
      IF EXISTS (SELECT 1 FROM unnest(ds) AS x WHERE x <> ALL (own)) THEN
        RAISE EXCEPTION 'a datastream of this batch is not the device''s' USING ERRCODE = '28000';
      END IF;
      SELECT min(x), max(x) INTO lo, hi FROM unnest(t) AS x;
      IF date_trunc('month', to_timestamp(lo) AT TIME ZONE 'UTC') = date_trunc('month', to_timestamp(hi) AT TIME ZONE 'UTC') THEN
        PERFORM sinhke_sensor_partition((to_timestamp(lo) AT TIME ZONE 'UTC')::date);
      ELSE
        PERFORM sinhke_sensor_partition(m) FROM (
          SELECT DISTINCT (date_trunc('month', to_timestamp(x) AT TIME ZONE 'UTC'))::date AS m FROM unnest(t) AS x) s;
      END IF;
      inserted := NULL;
      IF NOT EXISTS (SELECT 1 FROM sensor_observations o
                     WHERE o.datastream_id = ANY(ds) AND o.phenomenon_time BETWEEN to_timestamp(lo) AND to_timestamp(hi)) THEN
        BEGIN
          INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
          SELECT i.ds, to_timestamp(i.t), i.v, channel FROM {INPUT};
          GET DIAGNOSTICS inserted = ROW_COUNT;
        EXCEPTION WHEN unique_violation THEN
          inserted := NULL;  -- the same times written meanwhile: as below
        END;
      END IF;
      IF inserted IS NULL THEN
        INSERT INTO sensor_observations (datastream_id, phenomenon_time, value, channel)
        SELECT i.ds, to_timestamp(i.t), i.v, channel FROM {INPUT}
        ON CONFLICT (datastream_id, phenomenon_time) DO NOTHING;
        GET DIAGNOSTICS inserted = ROW_COUNT;
      END IF;
      corrected := 0;
      IF inserted < cardinality(ds) THEN
        INSERT INTO sensor_observations AS o (datastream_id, phenomenon_time, value, channel)
        SELECT i.ds, to_timestamp(i.t), i.v, channel FROM {INPUT}
        ON CONFLICT (datastream_id, phenomenon_time) DO UPDATE
          SET value = EXCLUDED.value, channel = EXCLUDED.channel, result_time = now()
          WHERE o.value IS DISTINCT FROM EXCLUDED.value;
        GET DIAGNOSTICS corrected = ROW_COUNT;
      END IF;
    END $$
    """)
    for fn in (
        "sinhke_device_streams(text, int[])",
        "sinhke_device_write(text, int[], float8[], float8[], text)",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {fn} TO sinhke_app")


def downgrade() -> None:
    op.execute("DROP FUNCTION sinhke_device_write(text, int[], float8[], float8[], text)")
    op.execute("DROP FUNCTION sinhke_device_streams(text, int[])")
