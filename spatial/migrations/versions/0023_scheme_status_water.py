"""A water scheme's status feeds the domestic-water indicator of the households it serves

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 02:55:00.000000

- ``water_schemes.status_reason``: why the scheme has its status (the ``scheme_functionality``
  job writes the meters' and visit reports' reasons there; NULL for a status recorded by hand).
- ``poverty_classifications.water_reason``: set when a survey round's domestic-water indicator
  counts as deprived although the survey said otherwise, because every scheme serving the
  household is not functional (the household's latest round only; see ``jobs.classify``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"
#: the caller may manage the device: a session that is not the application role (the CLI, jobs: the
#: owner, who may write the table anyway), an unscoped one, or a device in the caller's communes
_MAY_MANAGE = (
    f"current_setting('role') <> '{APP_ROLE}' OR sinhke_scope_all() "
    "OR EXISTS (SELECT 1 FROM sinhke_visible_assets('device') a WHERE a = thing)"
)


def upgrade() -> None:
    op.add_column("water_schemes", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column("poverty_classifications", sa.Column("water_reason", sa.Text(), nullable=True))
    op.execute(f"""
    CREATE FUNCTION sinhke_issue_device_token(thing int, digest text, shown text) RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
      IF NOT ({_MAY_MANAGE}) THEN
        RAISE EXCEPTION 'device % is not in your communes', thing USING ERRCODE = 'insufficient_privilege';
      END IF;
      INSERT INTO sensor_device_tokens (thing_id, token_hash, prefix) VALUES (thing, digest, shown);
    END $$;
    CREATE FUNCTION sinhke_revoke_device_tokens(thing int) RETURNS int
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE n int;
    BEGIN
      IF NOT ({_MAY_MANAGE}) THEN
        RAISE EXCEPTION 'device % is not in your communes', thing USING ERRCODE = 'insufficient_privilege';
      END IF;
      UPDATE sensor_device_tokens SET revoked_at = now() WHERE thing_id = thing AND revoked_at IS NULL;
      GET DIAGNOSTICS n = ROW_COUNT;
      RETURN n;
    END $$;
    GRANT EXECUTE ON FUNCTION sinhke_issue_device_token(int, text, text) TO {APP_ROLE};
    GRANT EXECUTE ON FUNCTION sinhke_revoke_device_tokens(int) TO {APP_ROLE};
    """)


def downgrade() -> None:
    op.execute("DROP FUNCTION sinhke_revoke_device_tokens(int)")
    op.execute("DROP FUNCTION sinhke_issue_device_token(int, text, text)")
    op.drop_column("poverty_classifications", "water_reason")
    op.drop_column("water_schemes", "status_reason")
