"""The sinhke CLI: clear messages, never a traceback, for wrong input."""

from click.testing import CliRunner

from webapp.cli import main


def _run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=settings, catch_exceptions=False,
                              env={"SINHKE_DATABASE_URL": _url(settings)})


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
    assert r.exit_code == 0 and "PostGIS 3." in r.output and "migration 0003" in r.output


def test_bad_household_count(demo_settings):
    r = _run(demo_settings, "demo", "--households", "5")
    assert r.exit_code == 2 and "5 is not in the range" in r.output
