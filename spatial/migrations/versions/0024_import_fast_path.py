"""Imports: the days people write (the COPY fast path), and progress on the imports row

Revision ID: 0024
Revises: 0023

``import_date_forms``: every day from 1900 to 2100 as a provincial spreadsheet writes it
(``2024-03-05``, ``05/03/2024``, ``5/3/2024``) and the date it is. The import's COPY fast path
(``ingest/fastpath.py``) reads a date column with one hash join on it instead of taking each
cell apart; other forms are parsed in Python. Reference data of no area: no row-level security.

``imports`` gains what a long import shows while it runs (the upload page polls it): status
``running`` (and ``failed`` when its process died on an error), the phase (``queued``,
``reading``, ``checking``, ``writing``), rows read, rows estimated from the file's size, when
the progress was last written, and the error. The application role may update its own rows
(the policy of 0019 applies): the import's process writes its progress and, at the end, its report.
"""

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

APP_ROLE = "sinhke_app"


def upgrade() -> None:
    op.execute("CREATE TABLE import_date_forms (s text PRIMARY KEY, d date NOT NULL)")
    op.execute("""
    INSERT INTO import_date_forms (s, d)
    SELECT s, d::date FROM generate_series(date '1900-01-01', date '2100-12-31', interval '1 day') d,
      unnest(ARRAY[to_char(d, 'YYYY-MM-DD'), to_char(d, 'DD/MM/YYYY')]
             || CASE WHEN extract(day FROM d) < 10 OR extract(month FROM d) < 10
                     THEN ARRAY[to_char(d, 'FMDD/FMMM/YYYY')] ELSE ARRAY[]::text[] END) s
    """)
    op.execute("ANALYZE import_date_forms")
    op.execute(f"GRANT SELECT ON import_date_forms TO {APP_ROLE}")
    op.execute("ALTER TABLE imports DROP CONSTRAINT ck_imports_status")
    op.execute(
        "ALTER TABLE imports ADD CONSTRAINT ck_imports_status "
        "CHECK (status IN ('imported','refused','dry_run','running','failed'))"
    )
    op.execute(
        "ALTER TABLE imports ADD COLUMN phase varchar(10), ADD COLUMN rows_read integer NOT NULL DEFAULT 0, "
        "ADD COLUMN rows_estimated integer, ADD COLUMN progress_at timestamptz, ADD COLUMN error text"
    )
    op.execute(f"GRANT UPDATE ON imports TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE ON imports FROM {APP_ROLE}")
    op.execute("DELETE FROM imports WHERE status IN ('running', 'failed')")
    op.execute(
        "ALTER TABLE imports DROP COLUMN phase, DROP COLUMN rows_read, DROP COLUMN rows_estimated, "
        "DROP COLUMN progress_at, DROP COLUMN error"
    )
    op.execute("ALTER TABLE imports DROP CONSTRAINT ck_imports_status")
    op.execute(
        "ALTER TABLE imports ADD CONSTRAINT ck_imports_status CHECK (status IN ('imported','refused','dry_run'))"
    )
    op.execute("DROP TABLE import_date_forms")
