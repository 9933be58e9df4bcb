"""The sinhke CLI: clear messages, never a traceback, for wrong input."""

import re

from click.testing import CliRunner

from webapp.cli import main


def _run(settings, *args):
    return CliRunner().invoke(
        main, list(args), obj=settings, catch_exceptions=False, env={"SINHKE_DATABASE_URL": _url(settings)}
    )


def _url(settings):
    from spatial.cluster import database_url

    return database_url(settings)


def test_second_demo_is_refused_with_a_message(demo_settings):
    r = _run(demo_settings, "demo", "--households", "200")
    assert r.exit_code == 1
    assert "already holds administrative units" in r.output and "--reset" in r.output
    assert "Traceback" not in r.output


def test_demo_if_empty_leaves_data(demo_settings):
    r = _run(demo_settings, "demo", "--if-empty")
    assert r.exit_code == 0 and "already loaded" in r.output


def test_unknown_job(demo_settings):
    r = _run(demo_settings, "jobs", "run", "nope")
    assert r.exit_code == 1 and "unknown job 'nope'" in r.output


def test_jobs_list_and_db_status(demo_settings):
    r = _run(demo_settings, "jobs", "list")
    assert r.exit_code == 0
    for name in ("place_households", "classify_households", "area_indicators"):
        assert name in r.output
    r = _run(demo_settings, "db", "status")
    assert r.exit_code == 0 and "PostGIS 3." in r.output and "run `sinhke db migrate`" not in r.output
    current, head = re.search(r"migration (\d{4}) \(head (\d{4})\)", r.output).groups()
    assert current == head


def test_bad_household_count(demo_settings):
    r = _run(demo_settings, "demo", "--households", "5")
    assert r.exit_code == 2 and "5 is not in the range" in r.output


def _run_input(settings, stdin, *args):
    return CliRunner().invoke(
        main, list(args), obj=settings, input=stdin, catch_exceptions=False, env={"SINHKE_DATABASE_URL": _url(settings)}
    )


def test_users_commands(demo_settings, accounts, committed_app):
    app = committed_app  # the CLI commits on its own connection, and must not wait for a test transaction
    r = _run_input(
        demo_settings,
        "a long enough pass\n",
        "users",
        "add",
        "cli_worker",
        "--role",
        "extension_worker",
        "--area",
        accounts.commune_a,
        "--password-stdin",
    )
    assert r.exit_code == 0, r.output
    assert "added cli_worker (extension_worker;" in r.output and accounts.commune_a in r.output
    r = _run(demo_settings, "users", "add", "cli_worker", "--role", "planner")
    assert r.exit_code == 1 and "exists already" in r.output
    r = _run(demo_settings, "users", "add", "cli_other", "--role", "planner", "--area", "99999")
    assert r.exit_code == 1 and "no province or commune with code '99999'" in r.output
    r = _run(demo_settings, "users", "add", "cli_gen", "--role", "evaluator", "--area", "20")
    assert r.exit_code == 0 and "password: " in r.output  # generated and shown once
    r = _run(demo_settings, "users", "list")
    assert "cli_worker" in r.output and "extension_worker" in r.output
    r = _run(demo_settings, "users", "assign", "cli_worker", "--area", accounts.commune_b)
    assert r.exit_code == 0 and accounts.commune_b in r.output
    token = _run(demo_settings, "users", "token", "cli_worker").output.strip()
    assert token.startswith("shk_")
    me = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["role"] == "extension_worker" and [a["code"] for a in me["areas"]] == [accounts.commune_b]
    r = _run_input(demo_settings, "short\n", "users", "passwd", "cli_worker", "--password-stdin")
    assert r.exit_code == 1 and "at least 10 characters" in r.output
    r = _run_input(demo_settings, "another long pass\n", "users", "passwd", "cli_worker", "--password-stdin")
    assert r.exit_code == 0
    r = _run(demo_settings, "users", "disable", "cli_worker")
    assert r.exit_code == 0
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    r = _run(demo_settings, "users", "disable", "nobody_here")
    assert r.exit_code == 1 and "no user named 'nobody_here'" in r.output
    r = _run(demo_settings, "users", "add", "bad", "--role", "king")
    assert r.exit_code == 2 and "'king' is not one of" in r.output


def test_every_group_reports_known_errors_in_one_line():
    """Each group, also one invoked on its own, turns SinhkeError into one line; none forgets the class."""
    import click

    from webapp.cli.base import SinhkeGroup

    def groups(group):
        yield group
        for command in group.commands.values():
            if isinstance(command, click.Group):
                yield from groups(command)

    assert all(isinstance(g, SinhkeGroup) for g in groups(main)), [g.name for g in groups(main)]
    sub = main.commands["jobs"].group("t-sub")(lambda: None)
    assert isinstance(sub, SinhkeGroup)
    try:
        r = CliRunner().invoke(main.commands["jobs"], ["run", "nope"])
    finally:
        main.commands["jobs"].commands.pop("t-sub")
    assert r.exit_code == 1 and r.stderr.startswith("error: unknown job 'nope'; known jobs: ")
    from jobs.registry import JOBS

    assert r.stderr.count("\n") == 1 and all(job.name in r.stderr for job in JOBS)
    assert "Traceback" not in r.output


def test_an_unreachable_database_is_one_line():
    r = CliRunner(env={"SINHKE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}).invoke(
        main, ["users", "list"]
    )
    assert r.exit_code == 1
    assert re.fullmatch(r"error: the database is not reachable \(.+\)\. Start it with `sinhke db up`\.\n", r.stderr)
