"""XLSForms uploaded from /admin/forms (issue #16 item 11): checked with the report of ``sinhke forms load``,
every version kept with its file."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest

from ingest.forms import FORMS_DIR, FormLoadError, parse_xlsform
from tests.conftest import client_for


def _changed_general(tmp_path: Path, version: str, label: str, name: str = "general.xlsx") -> Path:
    """The shipped general form with a new version and one label changed (or broken, below)."""
    wb = openpyxl.load_workbook(FORMS_DIR / "general.xlsx")
    settings = wb["settings"]
    settings.cell(row=2, column=[c.value for c in settings[1]].index("version") + 1, value=version)
    wb["survey"].cell(row=2, column=4, value=label)
    path = tmp_path / name
    wb.save(path)
    return path


def _upload(client, path: Path):  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO(path.read_bytes()), path.name)}
    return client.post("/admin/forms", data=data, content_type="multipart/form-data")


def test_upload_adds_a_version_and_keeps_the_older_ones(app, accounts, db, tmp_path):  # type: ignore[no-untyped-def]
    admin = client_for(app, accounts, "admin")
    shipped_version = parse_xlsform(FORMS_DIR / "general.xlsx").version  # the version the repository ships
    same = _upload(admin, FORMS_DIR / "general.xlsx")
    assert same.status_code == 303 and "status=unchanged" in same.headers["Location"]

    changed = _changed_general(tmp_path, "2099010101", "Household visited (if any, by code)")
    r = _upload(admin, changed)
    assert r.status_code == 303 and "status=added" in r.headers["Location"], r.get_data(as_text=True)
    page = admin.get(r.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert "general version 2099010101 loaded" in page
    assert re.search(r'data-form="general" data-version="2099010101" class="form-current"', page)
    assert re.search(rf'data-form="general" data-version="{shipped_version}" class="form-older"', page)
    from spatial.field import current_forms

    assert {f["form"]: f["version"] for f in current_forms(db)}["general"] == "2099010101"
    with admin.get("/admin/forms/general/2099010101.xlsx") as kept:  # closes the file it streamed
        assert kept.status_code == 200 and kept.data == changed.read_bytes()
    with admin.get(f"/admin/forms/general/{shipped_version}.xlsx") as shipped:
        assert shipped.status_code == 200 and shipped.data == (FORMS_DIR / "general.xlsx").read_bytes()

    again = _changed_general(tmp_path, "2099010101", "Another label under the same version", "general2.xlsx")
    refused = _upload(admin, again)
    assert refused.status_code == 400
    assert "give the changed form a new version" in refused.get_data(as_text=True)


@pytest.mark.parametrize("broken", ["type", "not_xlsx"])
def test_a_bad_form_is_refused_with_the_clis_report(app, accounts, tmp_path, broken):  # type: ignore[no-untyped-def]
    admin = client_for(app, accounts, "admin")
    if broken == "type":
        path = _changed_general(tmp_path, "2099010102", "x")
        wb = openpyxl.load_workbook(path)
        wb["survey"].cell(row=2, column=1, value="geoshape_of_nothing")
        wb.save(path)
    else:
        path = tmp_path / "notes.xlsx"
        path.write_bytes(b"not a workbook")
    with pytest.raises(FormLoadError) as cli:
        parse_xlsform(path)  # what `sinhke forms load` reports
    r = _upload(admin, path)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'id="form-report"' in html
    assert str(cli.value).replace("'", "&#39;").replace('"', "&#34;") in html


def test_forms_page_is_for_admins(app, accounts, tmp_path):  # type: ignore[no-untyped-def]
    planner = client_for(app, accounts, "planner")
    assert planner.get("/admin/forms").status_code == 403
    assert _upload(planner, FORMS_DIR / "general.xlsx").status_code == 403
    admin = client_for(app, accounts, "admin")
    assert admin.post("/admin/forms", data={}, content_type="multipart/form-data").status_code == 400
    text_file = tmp_path / "form.csv"
    text_file.write_text("type,name")
    assert _upload(admin, text_file).status_code == 400
    assert admin.get("/admin/forms/general/nope.xlsx").status_code == 404
