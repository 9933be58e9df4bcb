"""Fixtures on a real PostGIS: the private cluster (or SINHKE_DATABASE_URL), test databases.

- ``demo_settings``: database ``sinhke_test`` with a small Lạng Sơn demo loaded and every
  job run once (session-wide, committed);
- ``empty_settings``: database ``sinhke_test_empty``, migrated, no data;
- ``connection``: one connection to the demo inside a transaction rolled back after the test;
  ``db`` and every request of ``app`` / ``client`` / ``anonymous`` run on it;
- ``db`` / ``empty_db``: a Session on those inside a transaction rolled back after the test;
- ``committed_app`` / ``live_server``: the app on the committed demo, for other threads and processes.

tests/README.md says which fixture to take when.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import Connection, event, text
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.serving import make_server

from spatial import cluster, migrate
from spatial.db import engine_for
from spatial.models import LivelihoodModel
from spatial.settings import Settings

DEMO_HOUSEHOLDS = 1500
DEMO_SEED = 7
# the small test demo has about 23 households per commune: a lower minimum sample lets some
# communes get their own estimate (the map's effect choropleth), and still leaves many below it
os.environ.setdefault("SINHKE_EVAL_MIN_TREATED", "10")
os.environ.setdefault("SINHKE_EVAL_MIN_CONTROL", "10")
# openpyxl writes through lxml when it is installed (OWSLib, a test client, brings it), and the
# bytes then differ from the committed forms: the tests write as the forms were built
os.environ.setdefault("OPENPYXL_LXML", "False")


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    # rasters the tests ingest go to a temporary folder, never the developer's var/rasters,
    # also from CLI commands and subprocesses that read their settings from the environment
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SINHKE_RASTER_DIR", str(tmp_path_factory.mktemp("rasters")))
        settings = Settings.from_env()
        if settings.uses_private_cluster:
            cluster.PrivateCluster(settings).start()
        yield settings


def _fresh(base: Settings, name: str) -> Settings:
    settings = base.with_database(name)
    cluster.ensure_database(settings, name, fresh=True)
    migrate.upgrade(settings)
    return settings


@pytest.fixture(scope="session")
def empty_settings(base_settings: Settings) -> Settings:
    return _fresh(base_settings, "sinhke_test_empty")


@pytest.fixture(scope="session")
def demo_settings(base_settings: Settings) -> Settings:
    from ingest.demo import DemoOptions, load_demo
    from jobs.runner import run_job
    from spatial.db import transaction

    settings = _fresh(base_settings, "sinhke_test")
    with transaction(settings) as session:
        load_demo(session, DemoOptions(households=DEMO_HOUSEHOLDS, seed=DEMO_SEED), settings=settings)
    # the jobs whose results tests read, in the registry's order; the sensor jobs too, so the sensor
    # pages show the demo's real statuses, gaps and alerts (not notify: it would make the demo's
    # events before a test's own notification settings can see them)
    for job in (
        "sensor_partitions",
        "scheme_functionality",
        "place_households",
        "classify_households",
        "area_indicators",
        "income_change",
        "exposure",
        "fallback_risk",
        "evaluate_models",
        "model_status",
        "targets_progress",
        "sensor_aggregates",
        "sensor_gaps",
        "rainfall_alerts",
    ):
        outcome = run_job(settings, job)
        assert outcome.status == "succeeded", outcome
    return settings


@contextmanager
def _rolled_back(settings: Settings) -> Iterator[Connection]:
    connection = engine_for(settings).connect()
    outer = connection.begin()
    try:
        yield connection
    finally:
        outer.rollback()
        connection.close()


def _session_on(connection: Connection) -> Session:
    """A session whose commit releases a savepoint of the connection's outer transaction."""
    return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def connection(demo_settings: Settings) -> Iterator[Connection]:
    with _rolled_back(demo_settings) as conn:
        yield conn


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    session = _session_on(connection)
    yield session
    session.close()


@pytest.fixture
def empty_db(empty_settings: Settings) -> Iterator[Session]:
    with _rolled_back(empty_settings) as conn:
        session = _session_on(conn)
        yield session
        session.close()


def request_sessions(connection: Connection) -> Callable[[], Session]:
    """Sessions for the requests of one test, all on its connection.

    A released savepoint keeps what ``SET LOCAL`` set (the role, the caller's scope) until the
    outer transaction ends: when a request's transaction ends it is reset, so the next request,
    and ``db``, start unscoped as a request does in production.
    """

    def unscope(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None:
            return  # a savepoint of the request's own (sync_batch), not the request's transaction
        connection.execute(text("RESET ROLE"))
        connection.execute(
            text(
                "SELECT set_config('sinhke.user_id', '', true), set_config('sinhke.scope_all', '', true), "
                "set_config('sinhke.actor', '', true)"
            )
        )

    def make() -> Session:
        session = _session_on(connection)
        event.listen(session, "after_transaction_end", unscope)
        return session

    return make


def _testing(app: Flask) -> Flask:
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def _app_on_the_test_connection(demo_settings: Settings) -> tuple[Flask, dict[str, Callable[[], Session]]]:
    """One app for the session (building one costs more than most tests) whose requests take
    their sessions from whatever ``app`` put in the dict for the running test."""
    from webapp import create_app

    sessions: dict[str, Callable[[], Session]] = {}
    return _testing(create_app(demo_settings, session_factory=lambda: sessions["current"]())), sessions


@pytest.fixture
def app(
    _app_on_the_test_connection: tuple[Flask, dict[str, Callable[[], Session]]], connection: Connection
) -> Iterator[Flask]:
    """The app with every request on the test's connection: what the test's requests change is
    rolled back after it, and ``db`` sees it meanwhile."""
    app, sessions = _app_on_the_test_connection
    sessions["current"] = request_sessions(connection)
    yield app
    del sessions["current"]


@pytest.fixture(scope="session")
def committed_app(demo_settings: Settings) -> Flask:
    """The app on the committed demo: for a live server (other threads) and for tests whose
    requests meet a CLI command, a job or a subprocess on their own connections."""
    from webapp import create_app

    return _testing(create_app(demo_settings))


PASSWORD = "correct horse battery"
ROLES = ("admin", "planner", "extension_worker", "evaluator")


@dataclass(frozen=True)
class Accounts:
    """Test users: one per role scoped to commune A (admin: everything); tokens by role."""

    commune_a: str
    commune_b: str
    tokens: dict[str, str]
    password: str = PASSWORD

    def name(self, role: str) -> str:
        return f"t_{role}"


@pytest.fixture(scope="session")
def accounts(demo_settings: Settings) -> Accounts:
    from spatial.accounts import create_user, issue_token
    from spatial.db import transaction

    with transaction(demo_settings) as s:
        # the two 2025 communes with most households
        a, b = (
            s.execute(
                text("""
            SELECT u.code FROM household_units hu JOIN admin_units u ON u.id = hu.commune_id
            WHERE hu.boundary = 'current' GROUP BY u.code ORDER BY count(*) DESC, u.code LIMIT 2
        """)
            )
            .scalars()
            .all()
        )
        tokens = {}
        for role in ROLES:
            user = create_user(s, f"t_{role}", role, password=PASSWORD, areas=["20"] if role == "admin" else [a])
            tokens[role] = issue_token(s, user)
    return Accounts(commune_a=a, commune_b=b, tokens=tokens)


@pytest.fixture
def anonymous(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def client(app, accounts):  # type: ignore[no-untyped-def]
    """A client acting as the test admin through its API token."""
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.tokens['admin']}"
    return c


def client_for(app, accounts: Accounts, role: str):  # type: ignore[no-untyped-def]
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.tokens[role]}"
    return c


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def live_server(committed_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, committed_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def model_in_commune(
    session: Session,
    commune_code: str,
    code: str,
    model_type: str,
    name: str,
    *,
    start_date: date,
    budget_vnd: int,
    households: int,
    participants: int | None = None,
):  # type: ignore[no-untyped-def]
    """A test livelihood model at the centre of a 2025 commune, and ``households`` of the commune's
    households (the first ``participants`` of them, all by default, joined on the start date).

    Returns (model, households); made in the caller's session (``db``: rolled back after the test).
    """
    from sqlalchemy import select, text

    from spatial.models import Household, HouseholdUnit, ModelParticipant

    commune, centroid = session.execute(
        text("SELECT id, centroid FROM admin_units WHERE code = :c AND boundary = 'current' AND level = 'commune'"),
        {"c": commune_code},
    ).one()
    homes = session.scalars(
        select(Household)
        .join(HouseholdUnit, HouseholdUnit.household_id == Household.id)
        .where(HouseholdUnit.boundary == "current", HouseholdUnit.commune_id == commune)
        .order_by(Household.id)
        .limit(households)
    ).all()
    model = LivelihoodModel(
        code=code,
        model_type=model_type,
        name=name,
        geom=centroid,
        commune_id=commune,
        start_date=start_date,
        funding_project="Dự án 2",
        budget_allocated_vnd=budget_vnd,
        status="active",
    )
    session.add(model)
    session.flush()
    for h in homes[: participants if participants is not None else len(homes)]:
        session.add(ModelParticipant(model_id=model.id, household_id=h.id, joined_on=start_date))
    session.flush()
    return model, list(homes)


@pytest.fixture
def cow_bank(db: Session) -> tuple[LivelihoodModel, list[int]]:
    """The first demo cow bank on the default pass-on rule (its own rule row removed in ``db``), and the
    ids of its participating households in the order they joined.

    Returns (model, household ids)."""
    from sqlalchemy import select

    from spatial.models import ModelParticipant, PassOnRule

    model = db.scalar(
        select(LivelihoodModel).where(LivelihoodModel.model_type == "cow_bank").order_by(LivelihoodModel.id).limit(1)
    )
    db.execute(PassOnRule.__table__.delete().where(PassOnRule.model_id == model.id))
    homes = db.scalars(
        select(ModelParticipant.household_id).where(ModelParticipant.model_id == model.id).order_by(ModelParticipant.id)
    ).all()
    return model, list(homes)
