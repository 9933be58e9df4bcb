"""``sinhke serve`` and the signing key: never a public default key, each server its own control socket."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from spatial.settings import Settings
from webapp.cli import main


def test_without_a_configured_key_each_installation_generates_its_own(tmp_path):
    first = Settings(data_dir=tmp_path / "a")
    key = first.signing_key()
    assert len(key) >= 48 and key == first.signing_key()  # made once, then kept
    assert stat.S_IMODE(os.stat(tmp_path / "a" / "secret_key").st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "b").signing_key() != key  # no key is shared between installations
    assert Settings(data_dir=tmp_path / "a", secret_key="configured").signing_key() == "configured"


def test_the_app_never_signs_with_a_public_default(tmp_path):
    from webapp import create_app

    app = create_app(Settings(data_dir=tmp_path))
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert "dev-only" not in app.config["SECRET_KEY"]


def _serve(tmp_path, monkeypatch, *args: str, key: str | None = None) -> tuple[object, list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append(list(argv)))
    env = {"SINHKE_DATA_DIR": str(tmp_path), "SINHKE_SECRET_KEY": key}
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    return result, calls[0] if calls else []


def test_serving_beyond_loopback_needs_a_real_key(tmp_path, monkeypatch):
    result, argv = _serve(tmp_path, monkeypatch, "--host", "0.0.0.0")
    assert result.exit_code == 1 and not argv
    assert "SINHKE_SECRET_KEY" in result.output and "Traceback" not in result.output
    result, argv = _serve(tmp_path, monkeypatch, "--host", "0.0.0.0", key="a real key from the operator")
    assert result.exit_code == 0 and argv


@pytest.mark.parametrize("port", ["5000", "5011"])
def test_each_server_has_its_own_control_socket(tmp_path, monkeypatch, port):
    result, argv = _serve(tmp_path, monkeypatch, "--port", port)
    assert result.exit_code == 0, result.output
    socket = argv[argv.index("--control-socket") + 1]
    assert socket == str(tmp_path / f"gunicorn-{port}.ctl")
