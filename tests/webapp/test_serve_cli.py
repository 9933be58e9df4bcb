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


def test_with_scheduler_runs_the_web_server_and_the_scheduler_together(tmp_path, monkeypatch):
    from webapp.cli import serve as serve_module

    started: list[tuple[list[str], ...]] = []
    monkeypatch.setattr(serve_module, "run_together", lambda *commands: started.append(commands) or 0)
    result, argv = _serve(tmp_path, monkeypatch, "--with-scheduler")
    assert result.exit_code == 0, result.output
    assert not argv  # not exec'd: this process stays to stop both
    ((web, scheduler),) = started
    assert web[0].endswith("gunicorn") and "webapp:create_app()" in web
    assert scheduler[-3:] == ["-m", "webapp.cli", "scheduler"]


_CHILD = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
_PARENT = (
    "import sys; from webapp.cli.serve import run_together; "
    "sys.exit(run_together([sys.executable, '-c', sys.argv[1], sys.argv[2]], "
    "[sys.executable, '-c', sys.argv[1], sys.argv[3]]))"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stopping_the_parent_stops_both_children(tmp_path, how):
    import signal
    import subprocess
    import sys
    import time

    files = [tmp_path / "web.pid", tmp_path / "scheduler.pid"]
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _CHILD, *map(str, files)], start_new_session=True, cwd=os.getcwd()
    )
    try:
        deadline = time.monotonic() + 30
        while not all(f.exists() and f.read_text() for f in files):
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.1)
        pids = [int(f.read_text()) for f in files]
        if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground group
            os.killpg(parent.pid, signal.SIGINT)
        else:  # a service manager signals the parent only
            parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
        for pid in pids:
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(pid)
    finally:
        if parent.poll() is None:
            parent.kill()
