"""Scoped reads at a million households: households keyed by their zoom-24 Web Mercator tile, the
scope functions parallel safe, the scope policies' "sees everything" test evaluated once a query,
and an index of the households a layer shows

Revision ID: 0031
Revises: 0030

Under row-level security PostgreSQL uses a condition as an index condition only when its operators
are ``LEAKPROOF``; PostGIS's ``&&`` is not, so a household tile picked its rows by the box of
migration 0025 (``geom_lon``/``geom_lat`` BETWEEN …). That is a two-column btree: a z14 tile read
every entry of its longitude strip across the whole province (2 ms for 417 households at a
million), and a z8 tile then ran ``ST_Intersects`` and two ``ST_Transform`` on each of its 476,000
rows.

``households.tile_key`` (stored, generated from ``geom``) is the Morton code (bits of x and y
interleaved) of the zoom-24 tile holding the point, x and y as in the XYZ / WebMercatorQuad scheme
(``sinhke_tile_key(lon, lat)``; latitudes beyond ±85.0511° are held at the edge). A tile (z, x, y)
with z ≤ 24 is then exactly the key range ``[m(x, y) << 2(24 − z), (m(x, y) + 1) << 2(24 − z))``:
bigint comparisons, leakproof, one index range holding only the tile's households, each in exactly
one tile. A cell of the households' count grid (64 × 64 a tile, so the tiles of zoom z + 6) is the
key shifted right by 2(24 − z − 6), and ``sinhke_tile_key_x``/``_y`` give that cell's column and row
back: the grid needs no projection per household.

The scope helpers the policies call were ``PARALLEL UNSAFE`` by default, so no scoped query ran in
parallel (a z8 household tile: 0.9 s alone against 0.6 s with two workers). They only read tables
and the transaction's settings, which PostgreSQL hands to its parallel workers; they are marked
``PARALLEL SAFE``.

The policies that were ``sinhke_unit_visible(unit)`` alone now say ``(SELECT sinhke_scope_all()) OR
sinhke_unit_visible(unit)``, and those of households, their placements and their fall-back risk
test ``(SELECT sinhke_scope_all())`` where they called ``sinhke_scope_all()``: the same rows (the
functions begin with that test), but an uncorrelated subquery is an init plan, run once a query,
so a caller who sees everything pays a parameter test per row instead of a function call (and a
settings lookup). A household tile names each household's commune and village: those two lookups
per household took 23 ms of a 2,732-household tile under the policies against 9 ms as the table
owner, 9.5 ms now; an items page at offset 500,000 tested the policy on each row it skipped.

``ix_households_shown_id`` indexes the ids of the households a layer shows (not deleted, placed),
so an items page skips its offset in an index-only scan: 274 ms at offset 500,000 (a parallel
sequential scan and a sort) → 49 ms with the init plan.
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

#: (shift, mask) steps that spread the 24 bits of a tile column or row over the even bits of 48
_SPREAD = (
    (16, 0x0000FFFF0000FFFF),
    (8, 0x00FF00FF00FF00FF),
    (4, 0x0F0F0F0F0F0F0F0F),
    (2, 0x3333333333333333),
    (1, 0x5555555555555555),
)


def _spread(var: str) -> str:
    return "\n".join(f"  {var} := ({var} | ({var} << {shift})) & {mask};" for shift, mask in _SPREAD)


def _compact(var: str) -> str:
    """The inverse of _spread: the even bits of ``var`` gathered into its low 24 bits."""
    backwards = _SPREAD[::-1]
    steps = [f"  {var} := {var} & {backwards[0][1]};"]
    for (shift, _mask), (_shift, mask) in zip(backwards[:-1], backwards[1:], strict=True):
        steps.append(f"  {var} := ({var} | ({var} >> {shift})) & {mask};")
    steps.append(f"  {var} := ({var} | ({var} >> 16)) & 16777215;")
    return "\n".join(steps)


TILE_KEY = f"""
CREATE FUNCTION sinhke_tile_key(lon double precision, lat double precision) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  n constant double precision := 16777216;  -- 2^24 tiles a side at zoom 24
  phi double precision := radians(least(greatest(lat, -85.0511287798066), 85.0511287798066));
  x bigint := least(greatest(floor((lon + 180.0) / 360.0 * n), 0), n - 1);
  y bigint := least(greatest(floor((1.0 - asinh(tan(phi)) / pi()) / 2.0 * n), 0), n - 1);
BEGIN
{_spread("x")}
{_spread("y")}
  RETURN x | (y << 1);
END $f$;
"""
#: a key's (or a key prefix's) tile column and row: its even and its odd bits
TILE_KEY_PARTS = f"""
CREATE FUNCTION sinhke_tile_key_x(key bigint) RETURNS bigint
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
BEGIN
{_compact("key")}
  RETURN key;
END $f$;
CREATE FUNCTION sinhke_tile_key_y(key bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$ SELECT sinhke_tile_key_x(key >> 1) $f$;
"""

#: read-only helpers of the scope policies and the pages' scope (they read tables and settings)
PARALLEL_SAFE = (
    "sinhke_actor()",
    "sinhke_scope_all()",
    "sinhke_user_id()",
    "sinhke_household_visible(integer)",
    "sinhke_round_visible(integer)",
    "sinhke_unit_visible(integer)",
    "sinhke_visible_assets(text)",
    "sinhke_is_admin()",
    "sinhke_in_province(geometry)",
    "sinhke_scope_key()",
    "sinhke_target_exists(text, text)",
)


#: (table, policy, the unit column its policy checks): the policies that were sinhke_unit_visible alone
UNIT_POLICIES = (
    ("admin_crosswalk", "admin_crosswalk_scope", "new_unit_id"),
    ("admin_units", "admin_units_scope", "id"),
    ("allocations", "allocations_scope", "unit_id"),
    ("area_exposure", "area_exposure_scope", "unit_id"),
    ("area_income_change", "area_income_change_scope", "unit_id"),
    ("area_indicators", "area_indicators_scope", "unit_id"),
    ("disbursement_progress", "disbursement_progress_scope", "unit_id"),
    ("model_evaluations", "model_evaluations_scope", "unit_id"),
    ("notification_events", "notification_events_scope", "commune_id"),
    ("sensor_rain_alerts", "sensor_rain_alerts_scope", "commune_id"),
    ("target_progress", "target_progress_scope", "unit_id"),
    ("targets", "targets_scope", "unit_id"),
    ("villages", "villages_scope", "commune_id"),
)


def _unit_policies(check: str) -> None:
    for table, policy, column in UNIT_POLICIES:
        condition = check.format(column=column)
        op.execute(f"ALTER POLICY {policy} ON {table} USING ({condition}) WITH CHECK ({condition})")


#: the household policies as the earlier migrations left them: (table, policy, USING, WITH CHECK)
HOUSEHOLD_POLICIES = (
    (
        "households",
        "households_scope",
        "{all} OR sinhke_household_visible(id)",
        "{all} OR sinhke_household_visible(id) OR sinhke_asset_placeable(geom, commune_id)",
    ),
    (
        "household_units",
        "household_units_scope",
        "{all} OR sinhke_household_visible(household_id)",
        "{all} OR sinhke_household_visible(household_id)",
    ),
    (
        "fallback_risk",
        "fallback_risk_scope",
        "{all} OR sinhke_household_visible(household_id)",
        "{all} OR sinhke_household_visible(household_id)",
    ),
)


def _household_policies(everything: str) -> None:
    for table, policy, using, check in HOUSEHOLD_POLICIES:
        op.execute(
            f"ALTER POLICY {policy} ON {table} USING ({using.format(all=everything)}) "
            f"WITH CHECK ({check.format(all=everything)})"
        )


def upgrade() -> None:
    op.execute(TILE_KEY)
    op.execute(TILE_KEY_PARTS)
    op.execute(
        "ALTER TABLE households ADD COLUMN tile_key bigint "
        "GENERATED ALWAYS AS (sinhke_tile_key(ST_X(geom), ST_Y(geom))) STORED"
    )
    op.execute("CREATE INDEX ix_households_tile_key ON households (tile_key)")
    for signature in PARALLEL_SAFE:
        op.execute(f"ALTER FUNCTION {signature} PARALLEL SAFE")
    _unit_policies("(SELECT sinhke_scope_all()) OR sinhke_unit_visible({column})")
    _household_policies("(SELECT sinhke_scope_all())")
    op.execute("CREATE INDEX ix_households_shown_id ON households (id) WHERE deleted_at IS NULL AND geom IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_households_shown_id")
    _household_policies("sinhke_scope_all()")
    _unit_policies("sinhke_unit_visible({column})")
    for signature in PARALLEL_SAFE:
        op.execute(f"ALTER FUNCTION {signature} PARALLEL UNSAFE")
    op.execute("DROP INDEX ix_households_tile_key")
    op.execute("ALTER TABLE households DROP COLUMN tile_key")
    op.execute("DROP FUNCTION sinhke_tile_key_y(bigint)")
    op.execute("DROP FUNCTION sinhke_tile_key_x(bigint)")
    op.execute("DROP FUNCTION sinhke_tile_key(double precision, double precision)")
