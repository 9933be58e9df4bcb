"""Field forms: every shipped XLSForm parses, the expression subset holds, the Python and
JavaScript validators give the same verdicts, and loading versions forms only on change."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from ingest.forms import FORMS_DIR, FormLoadError, load_forms, parse_xlsform
from spatial.forms import ERROR_CODES, ExpressionError, answer_warnings, parse_condition, validate_answers
from spatial.models import WATER_STATUSES, FormDefinition

ROOT = Path(__file__).resolve().parents[2]
CASES = json.loads((ROOT / "tests" / "field_cases.json").read_text(encoding="utf-8"))["cases"]
VALIDATE_JS = ROOT / "webapp" / "static" / "field" / "validate.js"
SHIPPED = {"cow_bank", "free_range_chicken", "medicinal_plant", "general", "infrastructure_work", "water_scheme"}

#: the cow-bank ledger reads these names (a contract with its author)
COW_BANK_CONTRACT = {
    "household_code": "text",
    "animal_tags_present": "text",
    "births_female": "integer",
    "births_male": "integer",
    "birth_tags": "text",
    "deaths": "integer",
    "death_cause": "select_one",
    "dead_tags": "text",
    "vaccinations": "select_multiple",
    "pass_on_done": "select_one",
    "pass_on_tag": "text",
    "pass_on_to_household": "text",
    "condition": "select_one",
    "notes": "text",
}


@pytest.fixture(scope="module")
def definitions() -> dict[str, dict]:
    return {p.stem: parse_xlsform(p).definition for p in sorted(FORMS_DIR.glob("*.xlsx"))}


def _fields(definition: dict) -> dict[str, dict]:
    return {f["name"]: f for f in definition["fields"]}


def test_the_shipped_forms_are_there(definitions):
    assert set(definitions) == SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_shipped_xlsform_parses(name):
    parsed = parse_xlsform(FORMS_DIR / f"{name}.xlsx")
    d = parsed.definition
    assert parsed.form_id == d["form"] == name
    assert parsed.version and d["version"] == parsed.version
    assert d["title"]["vi"] != d["title"]["en"]  # both languages, really translated
    for field in d["fields"]:
        assert field["label"]["vi"] and field["label"]["en"], field["name"]
        for choice in field.get("choices", []):
            assert choice["label"]["vi"] and choice["label"]["en"], (field["name"], choice["name"])
        for key in ("constraint", "relevant"):
            if key in field:  # stored parsed, with the officer's text kept for messages
                assert field[key]["all"] == parse_condition(field[key]["expr"], key)
    assert any(f["required"] for f in d["fields"])


def test_cow_bank_fields_are_the_ledger_contract(definitions):
    fields = _fields(definitions["cow_bank"])
    assert {n: f["type"] for n, f in fields.items()} == COW_BANK_CONTRACT
    choices = {n: [c["name"] for c in f.get("choices", [])] for n, f in fields.items()}
    assert choices["death_cause"] == ["disease", "disaster", "accident", "negligence", "other"]
    assert choices["vaccinations"] == ["fmd", "lumpy_skin", "haemorrhagic_septicaemia", "none"]
    assert choices["pass_on_done"] == ["yes", "no"]
    assert choices["condition"] == ["good", "fair", "poor"]
    assert fields["household_code"]["required"] and not fields["birth_tags"]["required"]
    assert fields["death_cause"]["relevant"]["all"] == [{"op": ">", "ref": "deaths", "value": 0}]
    for name in ("pass_on_tag", "pass_on_to_household"):
        assert fields[name]["relevant"]["all"] == [{"op": "=", "ref": "pass_on_done", "value": "yes"}]
    for name in ("births_female", "births_male", "deaths"):
        assert {"op": ">=", "ref": ".", "value": 0} in fields[name]["constraint"]["all"]
    assert definitions["cow_bank"]["target_types"] == ["cow_bank", "buffalo_loan"]


def test_status_uses_the_water_point_vocabulary(definitions):
    for form in ("water_scheme", "infrastructure_work"):
        status = _fields(definitions[form])["status"]
        assert tuple(c["name"] for c in status["choices"]) == WATER_STATUSES
    assert definitions["water_scheme"]["target"] == "water_scheme"
    assert definitions["infrastructure_work"]["target"] == "infrastructure_work"
    assert definitions["general"]["target_types"] == ["*"]


def test_the_build_script_reproduces_the_committed_files():
    spec = importlib.util.spec_from_file_location("build_forms", FORMS_DIR / "build_forms.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for form_id, form in module.FORMS.items():
        built = module.deterministic_xlsx(module.workbook(form_id, form))
        assert built == (FORMS_DIR / f"{form_id}.xlsx").read_bytes(), f"{form_id}.xlsx differs from build_forms.py"


# ----------------------------------------------------------------------------- expressions
@pytest.mark.parametrize(
    ("expr", "kind", "parsed"),
    [
        (". >= 0", "constraint", [{"op": ">=", "ref": ".", "value": 0}]),
        (
            ". >= 0 and . <= 24.5",
            "constraint",
            [{"op": ">=", "ref": ".", "value": 0}, {"op": "<=", "ref": ".", "value": 24.5}],
        ),
        ("${deaths} > 0", "relevant", [{"op": ">", "ref": "deaths", "value": 0}]),
        ("${pass_on_done} = 'yes'", "relevant", [{"op": "=", "ref": "pass_on_done", "value": "yes"}]),
        ('${status} != "functional"', "relevant", [{"op": "!=", "ref": "status", "value": "functional"}]),
        ("selected(${vaccinations}, 'fmd')", "relevant", [{"op": "selected", "ref": "vaccinations", "value": "fmd"}]),
        ("regex(., '^[A-Z]+$')", "constraint", [{"op": "regex", "ref": ".", "value": "^[A-Z]+$"}]),
    ],
)
def test_expressions_inside_the_subset(expr, kind, parsed):
    assert parse_condition(expr, kind) == parsed


@pytest.mark.parametrize(
    ("expr", "kind", "reason"),
    [
        (". > 0 or . < 5", "constraint", "'and' only"),
        ("string-length(.) <= 20", "constraint", "outside the supported subset"),
        (". <= ${flock_size}", "constraint", "unexpected"),
        ("${deaths} > 0", "constraint", "own value"),
        (". > 0", "relevant", "${name}"),
        ("${stage} < 'b'", "relevant", "text compares with = or != only"),
        ("regex(${x}, 'a')", "relevant", "constraints only"),
        ("regex(., '(?i)abc')", "constraint", "no (?"),
        ("regex(., '\\p{L}+')", "constraint", "escape"),
        ("not(${a} = 1)", "relevant", "outside the supported subset"),
        (". >", "constraint", "ends early"),
        ("", "constraint", "empty"),
    ],
)
def test_expressions_outside_the_subset_are_refused(expr, kind, reason):
    with pytest.raises(
        ExpressionError, match=reason.replace("(", r"\(").replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")
    ):
        parse_condition(expr, kind)


# ----------------------------------------------------------------------------- validators
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_validator_verdicts(definitions, case):
    errors = validate_answers(definitions[case["form"]], case["answers"])
    assert [[e.field, e.code] for e in errors] == case["expect"]
    assert all(e.code in ERROR_CODES and e.message for e in errors)
    warnings = answer_warnings(definitions[case["form"]], case["answers"])
    assert [[w.field, w.code] for w in warnings] == case.get("warn", [])
    assert all(w.message for w in warnings)


def _py(definition: dict, answers: object) -> list[list[list[str]]]:
    """The server's verdict as the device script prints it: [errors, warnings]."""
    return [
        [[e.field, e.code, e.message] for e in validate_answers(definition, answers)],
        [[w.field, w.code, w.message] for w in answer_warnings(definition, answers)],
    ]


def _run_js(definitions: dict, cases: list[dict]) -> list[list[list[list[str]]]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the device validator (make install brings it)")
    script = (
        f"import {{ answerWarnings, validateAnswers }} from {json.dumps(VALIDATE_JS.as_uri())};\n"
        "let data = ''; process.stdin.on('data', (d) => { data += d; });\n"
        "process.stdin.on('end', () => { const { defs, cases } = JSON.parse(data);\n"
        "  const row = (e) => [e.field, e.code, e.message];\n"
        "  const out = cases.map((c) => [validateAnswers(defs[c.form], c.answers).map(row),"
        " answerWarnings(defs[c.form], c.answers).map(row)]);\n"
        "  process.stdout.write(JSON.stringify(out)); });\n"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps({"defs": definitions, "cases": cases}, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_device_and_server_validators_agree(definitions):
    js = _run_js(definitions, CASES)
    for case, (js_errors, js_warnings) in zip(CASES, js, strict=True):
        assert [e[:2] for e in js_errors] == case["expect"], case["name"]
        assert [w[:2] for w in js_warnings] == case.get("warn", []), case["name"]
        # same codes and the same messages
        assert [js_errors, js_warnings] == _py(definitions[case["form"]], case["answers"]), case["name"]


def test_validators_agree_on_generated_answers(definitions):
    """Beyond the written cases: every field of every form given values of every kind."""
    values = [
        None,
        "",
        "yes",
        "no",
        "functional",
        "2025-02-29",
        "2024-02-29",
        "LS-1 LS-2",
        "LS-1  LS-2",
        0,
        -1,
        1,
        2.5,
        5001,
        10**20,
        True,
        [],
        ["fmd"],
        ["fmd", "none"],
        ["x"],
        {"a": 1},
    ]
    cases = []
    for form, d in definitions.items():
        base = {f["name"]: None for f in d["fields"]}
        for field in d["fields"]:
            for v in values:
                cases.append({"form": form, "answers": {**base, field["name"]: v}})
    js = _run_js(definitions, cases)
    for case, verdict in zip(cases, js, strict=True):
        assert verdict == _py(definitions[case["form"]], case["answers"]), case


# ----------------------------------------------------------------------------- load errors
def _edited_copy(tmp_path: Path, name: str, sheet: str, cell: str, value: object) -> Path:
    path = tmp_path / f"{name}.xlsx"
    wb = openpyxl.load_workbook(FORMS_DIR / f"{name}.xlsx")
    wb[sheet][cell] = value
    wb.save(path)
    return path


def _cell_of(name: str, field: str, header: str) -> tuple[int, str]:
    ws = openpyxl.load_workbook(FORMS_DIR / f"{name}.xlsx")["survey"]
    columns = {c.value: c.column_letter for c in ws[1]}
    row = next(r[0].row for r in ws.iter_rows(min_row=2) if r[1].value == field)
    return row, columns[header]


def test_a_constraint_outside_the_subset_names_file_sheet_row_and_column(tmp_path):
    row, col = _cell_of("cow_bank", "deaths", "constraint")
    path = _edited_copy(tmp_path, "cow_bank", "survey", f"{col}{row}", ". >= 0 or . = -1")
    with pytest.raises(FormLoadError) as err:
        parse_xlsform(path)
    e = err.value
    assert (e.file, e.sheet, e.row, e.column) == ("cow_bank.xlsx", "survey", row, f"{col} (constraint)")
    assert "cow_bank.xlsx" in str(e) and f"row {row}" in str(e) and "'and' only" in str(e)


def test_pyxform_errors_keep_their_place(tmp_path):
    row, col = _cell_of("cow_bank", "death_cause", "relevant")
    path = _edited_copy(tmp_path, "cow_bank", "survey", f"{col}{row}", "${no_such_question} > 0")
    with pytest.raises(FormLoadError) as err:
        parse_xlsform(path)
    assert (err.value.sheet, err.value.row, err.value.column) == ("survey", row, f"{col} (relevant)")
    assert "no_such_question" in str(err.value)


def test_unsupported_question_types_and_mismatched_conditions_are_refused(tmp_path):
    row, col = _cell_of("general", "next_visit_on", "type")
    with pytest.raises(
        FormLoadError, match=r"general.xlsx: sheet 'survey', row \d+, column A \(type\): question type 'geopoint'"
    ):
        parse_xlsform(_edited_copy(tmp_path, "general", "survey", f"{col}{row}", "geopoint"))
    row, col = _cell_of("cow_bank", "death_cause", "relevant")
    with pytest.raises(FormLoadError, match="compares a number question with text"):
        parse_xlsform(_edited_copy(tmp_path, "cow_bank", "survey", f"{col}{row}", "${deaths} = 'many'"))


def test_settings_errors_point_at_the_settings_sheet(tmp_path):
    with pytest.raises(FormLoadError, match=r"sheet 'settings', row 2, column B \(version\): a version is required"):
        parse_xlsform(_edited_copy(tmp_path, "water_scheme", "settings", "B2", None))
    with pytest.raises(FormLoadError, match=r"column F \(target\): target must be one of"):
        parse_xlsform(_edited_copy(tmp_path, "water_scheme", "settings", "F2", "household"))


# ----------------------------------------------------------------------------- loading
def test_forms_load_as_new_versions_only_when_changed(empty_db, tmp_path):
    count = select(func.count()).select_from(FormDefinition)
    first = load_forms(empty_db, FORMS_DIR)
    assert sorted(o.form_id for o in first) == sorted(SHIPPED) and {o.status for o in first} == {"added"}
    assert {o.status for o in load_forms(empty_db, FORMS_DIR)} == {"unchanged"}
    assert empty_db.scalar(count) == len(SHIPPED)

    folder = tmp_path / "forms"
    folder.mkdir()
    row, col = _cell_of("cow_bank", "births_female", "constraint")
    wb = openpyxl.load_workbook(FORMS_DIR / "cow_bank.xlsx")
    wb["survey"][f"{col}{row}"] = ". >= 0 and . <= 3"
    wb.save(folder / "cow_bank.xlsx")  # changed, same version: refused
    with pytest.raises(FormLoadError, match="version 2025120201 is already loaded"):
        load_forms(empty_db, folder)
    wb["settings"]["B2"] = "2026010101"
    wb.save(folder / "cow_bank.xlsx")
    [outcome] = load_forms(empty_db, folder)
    assert (outcome.form_id, outcome.version, outcome.status) == ("cow_bank", "2026010101", "added")
    versions = empty_db.scalars(
        select(FormDefinition.version).where(FormDefinition.form_id == "cow_bank").order_by(FormDefinition.id)
    ).all()
    assert versions == ["2025120201", "2026010101"]

    wb.properties.title = "re-saved, nothing else"  # other bytes, same definition: no new version
    wb.save(folder / "cow_bank.xlsx")
    assert load_forms(empty_db, folder)[0].status == "unchanged"
    assert empty_db.scalar(count) == len(SHIPPED) + 1
