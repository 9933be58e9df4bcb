"""`sinhke forms load|list`: versions only on change, readable errors, never a traceback."""

import openpyxl
import pytest
from click.testing import CliRunner

from ingest.forms import FORMS_DIR
from spatial import cluster, migrate
from spatial.cluster import database_url
from webapp.cli import main


@pytest.fixture(scope="module")
def forms_settings(base_settings):
    settings = base_settings.with_database("sinhke_test_forms")
    cluster.ensure_database(settings, "sinhke_test_forms", fresh=True)
    migrate.upgrade(settings)
    return settings


def _run(settings, *args):
    return CliRunner().invoke(
        main, list(args), obj=settings, catch_exceptions=False, env={"SINHKE_DATABASE_URL": database_url(settings)}
    )


def test_forms_load_and_list(forms_settings):
    first = _run(forms_settings, "forms", "load")
    assert first.exit_code == 0, first.output
    lines = first.output.strip().splitlines()
    assert len(lines) == 6 and all(" added " in line for line in lines)
    again = _run(forms_settings, "forms", "load", str(FORMS_DIR))
    assert again.exit_code == 0 and again.output.count(" unchanged ") == 6
    listed = _run(forms_settings, "forms", "list")
    assert "cow_bank" in listed.output and "livelihood_model:cow_bank buffalo_loan" in listed.output
    assert "Kiểm tra công trình cấp nước" in listed.output


def test_a_bad_form_is_one_readable_line(forms_settings, tmp_path):
    wb = openpyxl.load_workbook(FORMS_DIR / "water_scheme.xlsx")
    wb["survey"]["A3"] = "geopoint"
    wb.save(tmp_path / "water_scheme.xlsx")
    r = _run(forms_settings, "forms", "load", str(tmp_path))
    assert r.exit_code == 1
    assert r.output.startswith("error: water_scheme.xlsx: sheet 'survey', row 3, column A (type): ")
    assert "Traceback" not in r.output
    r = _run(forms_settings, "forms", "load", str(tmp_path / "nothing-here"))
    assert r.exit_code == 2  # click: the directory does not exist
