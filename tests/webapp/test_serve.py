"""How `eiso run` serves: several processes only on PostgreSQL and never with the sweeps inside, gunicorn
given settings it accepts, and one secret key however many processes start at once on a fresh folder.
(Several real servers and workers on one database: test_scale_out.py.)"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

import webapp.settings
from webapp import create_app
from webapp.serve import bind_address, gunicorn_options
from webapp.settings import Settings, _with_persistent_secret

UNREACHABLE_PG = "postgresql+psycopg://eiso:eiso@127.0.0.1:9/nowhere"  # never connected to: refused before


def cli(tmp_path: Path, database_url: str, *args: str) -> tuple[int, str]:
    settings = Settings.from_env({}, database_url=database_url, instance_path=tmp_path, secret_key="x", testing=True)
    result = create_app(settings).test_cli_runner().invoke(args=["run", *args])
    return result.exit_code, result.output


def test_several_processes_on_sqlite_are_refused_with_what_to_do(tmp_path: Path) -> None:
    code, output = cli(tmp_path, f"sqlite:///{tmp_path / 'eiso.sqlite3'}", "--workers", "2")
    assert code == 1
    assert "Several server processes need PostgreSQL" in output and "EISO_DATABASE_URL" in output
    assert "serving" not in output


def test_several_processes_never_run_the_sweeps_themselves(tmp_path: Path) -> None:
    code, output = cli(tmp_path, UNREACHABLE_PG, "--workers", "3", "--scheduler")
    assert code == 1 and "`eiso worker`" in output and "serving" not in output


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_number_of_processes_below_one_is_refused(tmp_path: Path, value: str) -> None:
    code, output = cli(tmp_path, UNREACHABLE_PG, "--workers", value)
    assert code == 2 and "--workers" in output and "serving" not in output


def test_gunicorn_accepts_every_setting_given_and_trusts_no_forwarded_header_itself() -> None:
    options = gunicorn_options("::1", 8080, workers=4, threads=6)
    config = Config()
    for key, value in options.items():
        config.set(key, value)
    assert config.bind == ["[::1]:8080"] and config.workers == 4 and config.threads == 6
    assert config.worker_class_str == "gthread" and not config.preload_app
    assert config.forwarded_allow_ips == []  # X-Forwarded-* count only through EISO_PROXY_COUNT (ProxyFix)
    assert bind_address("0.0.0.0", 5000) == "0.0.0.0:5000"  # noqa: S104


def test_processes_starting_together_on_a_fresh_folder_keep_one_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both see no key file; the first writes its key, the second writes its own a moment later. Each
    process must end with the key in the file (the real processes: test_scale_out.py)."""
    both_looked, made = threading.Barrier(2), iter(["a" * 64, "b" * 64])

    def token_hex(n: int) -> str:
        if n != 32:
            return secrets.token_hex(n)
        both_looked.wait()
        key = next(made)
        if key.startswith("b"):
            time.sleep(0.3)  # the second process is slower
        return key

    monkeypatch.setattr(webapp.settings, "secrets", SimpleNamespace(token_hex=token_hex))
    settings = Settings(database_url="sqlite://", secret_key="", instance_path=tmp_path / "instance")
    keys: list[str] = []
    starts = [threading.Thread(target=lambda: keys.append(_with_persistent_secret(settings).secret_key))
              for _ in range(2)]  # fmt: skip
    for start in starts:
        start.start()
    for start in starts:
        start.join()
    assert keys == ["a" * 64, "a" * 64]
    key_file = tmp_path / "instance" / "secret_key"
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"]  # no draft left behind
    assert key_file.read_text() == "a" * 64 and key_file.stat().st_mode & 0o777 == 0o600
