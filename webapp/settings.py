"""Settings read once from the environment into a frozen object, validated at start-up."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine import REGISTRY_SETTING

from .sso_settings import OidcSettings, OidcSettingsError
from .sso_settings import parse as parse_oidc

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    """SQLAlchemy URL. Default: SQLite file ``eiso.sqlite3`` in the instance folder."""
    secret_key: str
    """Signs session cookies. Default: a random key kept in ``instance/secret_key``."""
    instance_path: Path
    """Folder for the SQLite file, the secret key and uploaded files. Default: ``./instance``."""
    default_locale: str = "vi"
    """UI language when the user has not chosen one: ``vi`` or ``en``."""
    virus_scan_command: str = ""
    """Command run on every uploaded file (the file path is appended); exit 0 = clean. Empty: no scan."""
    max_upload_mb: int = 20
    """Largest accepted upload, in MB."""
    smtp_url: str = ""
    """Mail notices through this SMTP server (see connectors/email/); empty: inbox only."""
    mail_from: str = ""
    """Sender address of notice mails."""
    public_url: str = "http://127.0.0.1:5000"
    """The address users reach eISO at; links in mails start with it."""
    bpmn_library: Path = ROOT / "bpmn"
    """The shipped process library deployed by ``eiso demo load``."""
    delegates: Mapping[str, str] = field(default_factory=dict)
    """Camunda 7 Java delegates (class name or expression text, as in the diagram) -> job type, read from
    the JSON file named by ``EISO_DELEGATES_FILE``; given to every deployment (see engine/delegates.py)."""
    proxy_count: int = 0
    """Reverse proxies in front of eISO that set ``X-Forwarded-For``/``-Proto``/``-Host``; their values are
    trusted for that many hops (the client's address for log-in limits, HTTPS for ``Secure`` cookies)."""
    long_poll_slots: int = 4
    """How many Camunda workers' ``fetchAndLock`` may wait for work at once, each holding a server thread; a
    worker beyond them is answered at once (it then polls again after its own pause). ``eiso run`` keeps it
    below half its threads so that pages and other calls always find a free thread."""
    oidc: OidcSettings | None = None
    """Single sign-on through an OpenID Connect provider, from the ``EISO_OIDC_*`` variables (webapp/sso_settings.py);
    None: local accounts only."""
    basic_auth_cache_seconds: int = 60
    """How long a server process remembers HTTP Basic credentials it verified (0: never), so that API calls
    with a password cost one password hash per minute, not one per call (``engine/org/credential_cache.py``)."""
    workflow_cache_size: int = 256
    """How many running instances' workflows a server process keeps deserialized between requests (0: none);
    each costs the memory of its workflow, and a command finds its instance there instead of rebuilding it
    from the database."""
    session_idle_minutes: int = 120
    """A log-in session not used for this long ends."""
    session_max_hours: int = 12
    """A log-in session ends this long after the log-in, however busy."""
    testing: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        instance = Path(str(overrides.get("instance_path") or env.get("EISO_INSTANCE_PATH") or ROOT / "instance"))
        instance = instance.resolve()
        locale = env.get("EISO_DEFAULT_LOCALE", "vi")
        if locale not in ("vi", "en"):
            raise SettingsError(f"EISO_DEFAULT_LOCALE must be 'vi' or 'en', not '{locale}'.")
        values: dict[str, object] = {
            "database_url": env.get("EISO_DATABASE_URL") or f"sqlite:///{instance / 'eiso.sqlite3'}",
            "secret_key": env.get("EISO_SECRET_KEY") or "",
            "default_locale": locale,
            "virus_scan_command": env.get("EISO_VIRUS_SCAN_COMMAND", ""),
            "max_upload_mb": _int(env, "EISO_MAX_UPLOAD_MB", 20),
            "smtp_url": env.get("EISO_SMTP_URL", ""),
            "mail_from": env.get("EISO_MAIL_FROM", ""),
            "public_url": env.get("EISO_PUBLIC_URL", "http://127.0.0.1:5000"),
            "delegates": _delegates(env.get(REGISTRY_SETTING, "")),
            "proxy_count": _count(env, "EISO_PROXY_COUNT"),
            "long_poll_slots": _int(env, "EISO_LONG_POLL_SLOTS", 4),
            "oidc": _oidc(env),
            "basic_auth_cache_seconds": _count(env, "EISO_BASIC_AUTH_CACHE_SECONDS", 60),
            "workflow_cache_size": _count(env, "EISO_WORKFLOW_CACHE_SIZE", 256),
            "session_idle_minutes": _int(env, "EISO_SESSION_IDLE_MINUTES", 120),
            "session_max_hours": _int(env, "EISO_SESSION_MAX_HOURS", 12),
        }
        values.update(overrides)
        values["instance_path"] = instance
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.smtp_url:
            from connectors.email import MailSettingsError, SmtpSettings

            try:
                SmtpSettings.from_url(settings.smtp_url, settings.mail_from)
            except MailSettingsError as exc:
                raise SettingsError(str(exc))
        if not settings.secret_key:
            settings = _with_persistent_secret(settings)
        return settings


def _oidc(env: dict[str, str]) -> OidcSettings | None:
    try:
        return parse_oidc(env)
    except OidcSettingsError as exc:
        raise SettingsError(str(exc))


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a positive whole number, not '{raw}'.")
    return int(raw)


def _count(env: dict[str, str], name: str, default: int = 0) -> int:
    raw = env.get(name) or str(default)
    if not raw.isdigit():
        raise SettingsError(f"{name} must be 0 or a positive whole number, not '{raw}'.")
    return int(raw)


def _delegates(path: str) -> dict[str, str]:
    """The delegate registry: a JSON object mapping each class name or expression text to a job type."""
    if not path:
        return {}
    try:
        registry = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{REGISTRY_SETTING}: cannot read '{path}' as JSON: {exc}.")
    valid = isinstance(registry, dict) and all(
        isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in registry.items()
    )
    if not valid:
        raise SettingsError(f"{REGISTRY_SETTING}: '{path}' must hold one JSON object mapping each Java class or "
                            'expression to a job type, e.g. {"${archiveService}": "archive.store"}.')  # fmt: skip
    return {k.strip(): v.strip() for k, v in registry.items()}


def _with_persistent_secret(settings: Settings) -> Settings:
    """Keep one random key per instance folder so logins survive a restart.

    Every server process of an installation must sign with the same key, and several may start at the
    same moment on a fresh folder: the key is written to a file of its own and then linked into place,
    which fails when another process was first; everyone then reads the one key that won.
    """
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    key_file = settings.instance_path / "secret_key"
    if not key_file.exists():
        draft = settings.instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, key_file)  # atomic: exactly one process creates the file, whole
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return Settings(**{**settings.__dict__, "secret_key": key_file.read_text().strip()})
