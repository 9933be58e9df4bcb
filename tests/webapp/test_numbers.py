"""Numbers and money on server pages in the reader's locale (Babel), as the map writes them (Intl)."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template_string


@pytest.mark.parametrize(
    ("lang", "money", "number", "decimals"),
    [
        ("vi", "72.500.000\xa0₫", "1.234.567", "3,50"),
        ("en", "₫72,500,000", "1,234,567", "3.50"),
    ],
)
def test_filters_follow_the_locale(app: Flask, lang: str, money: str, number: str, decimals: str) -> None:
    with app.test_request_context(f"/?lang={lang}"):
        out = render_template_string(
            "{{ 72500000 | money }}|{{ 1234567.4 | number }}|{{ 3.5 | number(2) }}|{{ none | money }}"
        )
    assert out == f"{money}|{number}|{decimals}|–"


def test_model_page_writes_money_in_the_locale(client, db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    code, budget = db.execute(
        text("SELECT code, budget_allocated_vnd FROM livelihood_models WHERE budget_allocated_vnd > 1000000 LIMIT 1")
    ).one()
    vi = client.get(f"/models/{code}?lang=vi").get_data(as_text=True)
    en = client.get(f"/models/{code}?lang=en").get_data(as_text=True)
    assert f"{budget:,}".replace(",", ".") + "\xa0₫" in vi
    assert f"₫{budget:,}" in en
    assert re.search(r"\d đồng", vi) is None  # the old "72,500,000 đồng"
