"""SINHKE_BASEMAP_STYLE_URL: an http(s) URL or refused; its origin, and only it, joins the CSP."""

from __future__ import annotations

import dataclasses

import pytest

from spatial.settings import Settings, SettingsError
from webapp import create_app


def test_the_basemap_origin_joins_the_content_security_policy(demo_settings):
    url = "https://tiles.example.vn/styles/lang-son/style.json"
    app = create_app(dataclasses.replace(demo_settings, basemap_style_url=url))
    csp = app.test_client().get("/login").headers["Content-Security-Policy"]
    assert "connect-src 'self' https://tiles.example.vn;" in csp
    assert "img-src 'self' data: blob: https://tiles.example.vn;" in csp
    assert "script-src 'self';" in csp
    plain = create_app(demo_settings).test_client().get("/login").headers["Content-Security-Policy"]
    assert "connect-src 'self';" in plain


@pytest.mark.parametrize("value", ["tiles.example.vn/style.json", "javascript:alert(1)", "https://"])
def test_a_basemap_style_that_is_not_an_http_url_is_refused(monkeypatch, value):
    monkeypatch.setenv("SINHKE_BASEMAP_STYLE_URL", value)
    with pytest.raises(SettingsError, match="SINHKE_BASEMAP_STYLE_URL"):
        Settings.from_env()
