"""Serving the web app: one waitress process (the embedded default), or several gunicorn processes.

``eiso run`` serves with waitress in one process and runs the background sweeps in a thread of it: what
a fresh machine with SQLite needs. ``eiso run --workers N`` (N ≥ 2) starts a gunicorn master that forks N
server processes, each building its own app with the app factory (nothing is created before the fork: no
database connection, no cache, no lock is shared between processes). The sweeps then run in ``eiso worker``
processes, never inside a server process. Several processes need PostgreSQL: SQLite lets one process
write at a time, so more processes would only queue on its lock (``docs/deployment.md``).

What each server process keeps in its own memory, and why that is safe with several of them:
- the session secret is read from ``EISO_SECRET_KEY`` or ``instance/secret_key``, the same for all
  (``webapp/settings.py`` makes sure concurrent first starts keep one key);
- the memory of verified HTTP Basic credentials (``engine/org/credential_cache.py``) lasts at most
  ``EISO_BASIC_AUTH_CACHE_SECONDS`` and is checked against the account row on every use, so a change made
  through another process counts at the next call;
- log-in limits, API tokens, idempotency keys, log-in sessions and timers live in the database; the
  single sign-on ``state``, ``nonce`` and PKCE verifier live in the signed session cookie;
- parsed DMN models and FEEL expressions are cached by content, which never changes once stored;
- the long-poll slots (``EISO_LONG_POLL_SLOTS``) count per process.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask


def limit_long_polls(app: Flask, threads: int) -> None:
    """Waiting workers never take more than half of a process's threads: pages and other calls find one free."""
    slots = min(app.config["EISO_SETTINGS"].long_poll_slots, max(1, threads // 2))
    app.extensions["eiso_long_poll"] = threading.BoundedSemaphore(slots)


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": [bind_address(host, port)],
        "workers": workers,
        "worker_class": "gthread",  # threads: a Camunda worker's long poll holds a thread, not a process
        "threads": threads,
        "preload_app": False,  # every process builds its own app, with its own database connections
        # X-Forwarded-* are trusted by the app itself, for EISO_PROXY_COUNT hops (ProxyFix), not by gunicorn
        "forwarded_allow_ips": "",
        "graceful_timeout": 30,
        "errorlog": "-",
        "proc_name": "eiso-web",
        # no control socket: its default path is one per user, so two installations on one machine would clash
        "control_socket_disable": True,
    }


APP_FACTORY = "webapp:create_app()"  # gunicorn's way of naming the app factory


def serve_with_gunicorn(options: dict[str, Any], threads: int) -> None:
    """Run a gunicorn master with ``options``; each forked process builds its app with the app factory."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.util import import_app

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # a setting an older gunicorn lacks is left out
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            app: Flask = import_app(APP_FACTORY)
            limit_long_polls(app, threads)
            return app

    Server().run()
