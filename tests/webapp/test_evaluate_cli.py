"""``sinhke evaluate did``: tables, one JSON object, and one-line errors. No database."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from webapp.cli.evaluate import evaluate

ARGS = ["--unit", "countyreal", "--time", "year", "--group", "first.treat", "--outcome", "lemp"]


@pytest.fixture(scope="module")
def mpdta_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mpdta as a CSV, from the file moderndid ships (not copied into the repository)."""
    import moderndid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = moderndid.load_mpdta()
    path = tmp_path_factory.mktemp("evaluate") / "mpdta.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(df.columns)
        w.writerows(df.iter_rows())
    return path


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(evaluate, ["did", *map(str, args)], catch_exceptions=False)


def _fails(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def _panel_csv(tmp_path: Path, rows: list[tuple[object, ...]]) -> Path:
    path = tmp_path / "panel.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["hh", "round", "first", "income"])
        w.writerows(rows)
    return path


def _good_rows() -> list[tuple[object, ...]]:
    rng = np.random.default_rng(5)
    rows = []
    for hh, first in enumerate([0, 0, 0, 0, 2023, 2023, 2024, 2024], start=1):
        for year in (2021, 2022, 2023, 2024):
            income = (
                1_500_000 + 50_000 * (year - 2021) + rng.normal(0, 20_000) + (200_000 if first and year >= first else 0)
            )
            rows.append((f"HH{hh:02d}", year, first, round(income)))
    return rows


def test_text_report(mpdta_csv: Path) -> None:
    r = _run("--csv", mpdta_csv, *ARGS)
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "Group-time effects ATT(g,t)" in out
    assert "2004   2004  +0  -0.0105  0.0233" in out  # group, time, e, ATT, SE
    assert "overall (cohort-size weighted cohort effects)       -0.0310  0.0124" in out
    assert "simple (post-treatment cells, cohort-size weights)  -0.0400" in out
    assert "Event study" in out and "+3  -0.1008" in out
    assert "p = 0.16812" in out
    assert "Two-way fixed effects, biased under staggered adoption: -0.0365" in out
    assert "95% CI" in out


def test_json_is_one_object_with_the_agreed_keys(mpdta_csv: Path) -> None:
    r = _run("--csv", mpdta_csv, *ARGS, "--json")
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 1
    doc = json.loads(r.stdout)
    assert {"att_gt", "overall", "simple", "event_study", "pretest_p"} <= doc.keys()
    assert len(doc["att_gt"]) == 12
    assert doc["att_gt"][0] == {
        "group": 2004,
        "time": 2004,
        "att": pytest.approx(-0.0105032, abs=1e-7),
        "se": pytest.approx(0.0232510, abs=1e-7),
    }
    assert doc["overall"] == {"att": pytest.approx(-0.0310183, abs=1e-7), "se": pytest.approx(0.0124461, abs=1e-7)}
    assert doc["simple"]["att"] == pytest.approx(-0.0399513, abs=1e-7)
    assert [e["event_time"] for e in doc["event_study"]] == [-3, -2, -1, 0, 1, 2, 3]
    assert round(doc["pretest_p"], 5) == 0.16812
    assert doc["twfe"]["note"] == "biased under staggered adoption"
    assert doc["n_units"] == 500 and doc["control"] == "never"


def test_not_yet_treated_changes_the_estimate(mpdta_csv: Path) -> None:
    never = json.loads(_run("--csv", mpdta_csv, *ARGS, "--json").stdout)
    notyet = json.loads(_run("--csv", mpdta_csv, *ARGS, "--json", "--control", "notyet").stdout)
    assert notyet["control"] == "notyet"
    assert notyet["overall"]["att"] == pytest.approx(-0.0304622, abs=1e-7)
    assert notyet["overall"]["att"] != never["overall"]["att"]
    # 2007 is the last period: no one is still untreated, so the cells coincide
    last = {(c["group"], c["time"]): c for c in never["att_gt"] if c["time"] == 2007}
    assert all(c == last[(c["group"], c["time"])] for c in notyet["att_gt"] if c["time"] == 2007)


def test_vnd_incomes_print_without_decimals(tmp_path: Path) -> None:
    r = _run(
        "--csv",
        _panel_csv(tmp_path, _good_rows()),
        "--unit",
        "hh",
        "--time",
        "round",
        "--group",
        "first",
        "--outcome",
        "income",
        "--min-never-treated",
        "2",
    )
    assert r.exit_code == 0, r.output
    cell = next(line for line in r.stdout.splitlines() if line.startswith("  2023   2023  +0"))
    assert "," in cell and "." not in cell  # 210,902 style, not 210902.3571


def test_missing_file(tmp_path: Path) -> None:
    msg = _fails(_run("--csv", tmp_path / "none.csv", *ARGS))
    assert "no such file" in msg


def test_duplicate_rows_name_the_columns_and_lines(tmp_path: Path) -> None:
    rows = _good_rows()
    rows[1] = rows[0]  # HH01 2021 twice (lines 2 and 3), 2022 missing
    msg = _fails(
        _run(
            "--csv",
            _panel_csv(tmp_path, rows),
            "--unit",
            "hh",
            "--time",
            "round",
            "--group",
            "first",
            "--outcome",
            "income",
        )
    )
    assert "duplicate (unit, time) rows in column 'hh' and column 'round'" in msg
    assert "rows 2 (hh='HH01', round=2021), 3 (hh='HH01', round=2021)" in msg


def test_non_numeric_outcome_names_file_line_and_column(tmp_path: Path) -> None:
    rows = _good_rows()
    rows[4] = (*rows[4][:3], "khoảng 2 triệu")
    path = _panel_csv(tmp_path, rows)
    msg = _fails(_run("--csv", path, "--unit", "hh", "--time", "round", "--group", "first", "--outcome", "income"))
    assert str(path) in msg and "column 'income' (outcome) must be numeric" in msg
    assert "line 6 ('khoảng 2 triệu')" in msg


def test_group_outside_the_time_range(tmp_path: Path) -> None:
    rows = [(hh, y, 2030 if first else 0, inc) for hh, y, first, inc in _good_rows()]
    msg = _fails(
        _run(
            "--csv",
            _panel_csv(tmp_path, rows),
            "--unit",
            "hh",
            "--time",
            "round",
            "--group",
            "first",
            "--outcome",
            "income",
        )
    )
    assert "column 'first' outside the time range 2021–2024" in msg and "first=2030" in msg


def test_too_few_never_treated(tmp_path: Path) -> None:
    rows = [(hh, y, first or (2024 if hh != "HH01" else 0), inc) for hh, y, first, inc in _good_rows()]
    args = ["--unit", "hh", "--time", "round", "--group", "first", "--outcome", "income"]
    path = _panel_csv(tmp_path, rows)
    msg = _fails(_run("--csv", path, *args))
    assert "1 never-treated unit(s)" in msg and "notyet" in msg
    assert _run("--csv", path, *args, "--control", "notyet").exit_code == 0


def test_covariates_use_the_doubly_robust_estimator(mpdta_csv: Path) -> None:
    r = _run("--csv", mpdta_csv, *ARGS, "--covariates", "lpop", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    # did 2.5.1 att_gt reference page, xformla = ~lpop: ATT(2004,2004) = -0.0145, p = 0.23267
    assert f"{doc['att_gt'][0]['att']:.4f}" == "-0.0145"
    assert round(doc["pretest_p"], 5) == 0.23267 and doc["covariates"] == ["lpop"]
    text = _run("--csv", mpdta_csv, *ARGS, "--covariates", "lpop").stdout
    assert "doubly robust with covariates lpop" in text
    msg = _fails(_run("--csv", mpdta_csv, *ARGS, "--covariates", "lpop,pop"))
    assert "no column 'pop' (covariate pop)" in msg


def test_missing_column(mpdta_csv: Path) -> None:
    msg = _fails(
        _run("--csv", mpdta_csv, "--unit", "county", "--time", "year", "--group", "first.treat", "--outcome", "lemp")
    )
    assert "no column 'county' (unit)" in msg and "'countyreal'" in msg
