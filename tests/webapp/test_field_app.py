"""The /field app's server side: the shell page, its service worker and manifest."""

from __future__ import annotations

import json
import re

from tests.conftest import client_for


def _status(client, url: str) -> int:  # type: ignore[no-untyped-def]
    response = client.get(url)
    response.close()  # static files are streamed
    return response.status_code


def test_field_page_needs_sign_in(anonymous):
    response = anonymous.get("/field")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_field_page_for_a_worker(app, accounts):
    c = client_for(app, accounts, "extension_worker")
    response = c.get("/field")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'rel="manifest"' in html and "/field/manifest.webmanifest" in html
    assert 'data-sw="/field/sw.js"' in html and 'data-scope="/field"' in html
    assert 'id="field-i18n"' in html
    # the CSP lets the app register its own service worker and manifest
    csp = response.headers["Content-Security-Policy"]
    assert "worker-src 'self'" in csp and "manifest-src 'self'" in csp


def test_service_worker_lists_a_shell_that_exists(anonymous):
    response = anonymous.get("/field/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/field"
    assert response.headers["Cache-Control"] == "no-cache"
    source = response.get_data(as_text=True)
    assert "__VERSION__" not in source and "__SHELL__" not in source and "__ROOT__" not in source
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', source)
    assert version, source[:500]
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))
    assert "/static/field/app.js" in shell and "/static/field/validate.js" in shell
    assert "/vendor/maplibre-gl/maplibre-gl.js" in shell
    # every file the worker caches at install is really served (one missing file fails the install)
    for url in shell:
        assert _status(anonymous, url) == 200, url


def test_manifest_makes_the_app_installable(anonymous):
    response = anonymous.get("/field/manifest.webmanifest?lang=vi")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["start_url"] == "/field" and manifest["scope"] == "/field"
    assert manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] == "sinhke"
    for icon in manifest["icons"]:
        assert _status(anonymous, icon["src"]) == 200
    # browsers install apps with a raster icon of at least 192 px
    pngs = [i for i in manifest["icons"] if i["type"] == "image/png"]
    assert {i["sizes"] for i in pngs} == {"192x192", "512x512"}
    png = anonymous.get(pngs[-1]["src"]).data
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (512).to_bytes(4, "big") * 2
    assert anonymous.get("/field/icon-100.png").status_code == 404


def test_session_gives_a_csrf_token_to_signed_in_users(app, accounts, anonymous):
    assert anonymous.get("/field/session").status_code == 302
    c = client_for(app, accounts, "extension_worker")
    body = c.get("/field/session").get_json()
    assert body["name"] == accounts.name("extension_worker")
    assert body["role"] == "extension_worker" and body["read_only"] is False
    assert len(body["csrf_token"]) > 20


def test_field_page_in_the_language_the_service_worker_asks_for(app, accounts):
    """X-Field-Locale renders the page in that language (a copy per language for offline
    switching) without changing the language the user chose."""
    c = client_for(app, accounts, "extension_worker")
    c.get("/field?lang=vi")
    english = c.get("/field", headers={"X-Field-Locale": "en"})
    assert english.headers["Content-Language"] == "en"
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "My models" in english.get_data(as_text=True)
    assert "lang=" not in english.headers.get("Set-Cookie", "")
    # the cookie still says Vietnamese: the plain page and the session follow it
    plain = c.get("/field")
    assert plain.headers["Content-Language"] == "vi" and "Mô hình của tôi" in plain.get_data(as_text=True)
    assert c.get("/field/session").get_json()["locale"] == "vi"
    # an unknown language in the header is ignored
    assert c.get("/field", headers={"X-Field-Locale": "fr"}).headers["Content-Language"] == "vi"


def test_participants_pick_list_is_the_callers_models(app, accounts, db):
    """The household pick-list: the current participants of each model, for the caller's communes only."""
    from datetime import date

    from sqlalchemy import update

    from spatial.models import ModelParticipant
    from tests.conftest import model_in_commune

    def chickens(commune: str, code: str, households: int):  # type: ignore[no-untyped-def]
        return model_in_commune(
            db,
            commune,
            code,
            "free_range_chicken",
            code,
            start_date=date(2024, 1, 1),
            budget_vnd=1,
            households=households,
        )

    a, homes_a = chickens(accounts.commune_a, "T-PICK-A", 3)
    chickens(accounts.commune_b, "T-PICK-B", 2)
    # a household that left the model is no longer offered
    db.execute(
        update(ModelParticipant)
        .where(ModelParticipant.model_id == a.id, ModelParticipant.household_id == homes_a[0].id)
        .values(left_on=date(2025, 1, 1))
    )
    db.flush()
    worker = client_for(app, accounts, "extension_worker").get("/api/participants").get_json()["models"]
    assert [h["code"] for h in worker["T-PICK-A"]] == sorted(h.code for h in homes_a[1:])
    assert {h["head"] for h in worker["T-PICK-A"]} == {h.head_name for h in homes_a[1:]}
    assert "T-PICK-B" not in worker
    admin = client_for(app, accounts, "admin").get("/api/participants").get_json()["models"]
    assert len(admin["T-PICK-B"]) == 2
