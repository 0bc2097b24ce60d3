"""Settings are read once from the environment and a wrong value stops the start with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp.settings import Settings, SettingsError


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, instance_path=tmp_path, secret_key="x")


def test_the_delegate_registry_is_read_from_the_json_file_named(tmp_path: Path) -> None:
    assert _settings(tmp_path).delegates == {}
    registry = tmp_path / "delegates.json"
    registry.write_text('{" ${archiveService} ": "archive.store", "org.example.Mailer": "mail.send"}')
    settings = _settings(tmp_path, EISO_DELEGATES_FILE=str(registry))
    assert settings.delegates == {"${archiveService}": "archive.store", "org.example.Mailer": "mail.send"}


@pytest.mark.parametrize("content", ['{"${archiveService}": ', '["archive.store"]', '{"${archiveService}": 3}',
                                     '{"${archiveService}": " "}', None])  # fmt: skip
def test_an_unusable_delegate_registry_stops_the_start(tmp_path: Path, content: str | None) -> None:
    registry = tmp_path / "delegates.json"
    if content is not None:
        registry.write_text(content)
    with pytest.raises(SettingsError, match="EISO_DELEGATES_FILE") as refused:
        _settings(tmp_path, EISO_DELEGATES_FILE=str(registry))
    assert str(registry) in str(refused.value)


def test_the_proxy_count_is_a_whole_number(tmp_path: Path) -> None:
    assert _settings(tmp_path).proxy_count == 0
    assert _settings(tmp_path, EISO_PROXY_COUNT="2").proxy_count == 2
    with pytest.raises(SettingsError, match="EISO_PROXY_COUNT"):
        _settings(tmp_path, EISO_PROXY_COUNT="one")


def test_log_in_memory_and_session_lifetimes_are_whole_numbers(tmp_path: Path) -> None:
    default = _settings(tmp_path)
    assert (default.basic_auth_cache_seconds, default.session_idle_minutes, default.session_max_hours) == (60, 120, 12)
    chosen = _settings(tmp_path, EISO_BASIC_AUTH_CACHE_SECONDS="0", EISO_SESSION_IDLE_MINUTES="15",
                       EISO_SESSION_MAX_HOURS="9")  # fmt: skip
    assert (chosen.basic_auth_cache_seconds, chosen.session_idle_minutes, chosen.session_max_hours) == (0, 15, 9)
    for name, value in (("EISO_BASIC_AUTH_CACHE_SECONDS", "-1"), ("EISO_SESSION_IDLE_MINUTES", "0"),
                        ("EISO_SESSION_MAX_HOURS", "half a day")):  # fmt: skip
        with pytest.raises(SettingsError, match=name):
            _settings(tmp_path, **{name: value})
