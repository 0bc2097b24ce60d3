"""``eiso bench auth``: what a call to the API costs with HTTP Basic (without and with the memory of verified
credentials) and with an API token, over real HTTP; then a worker with a token works through external jobs
with Camunda's Python external task client.

Everything runs on a throwaway copy: a new SQLite database in a temporary folder, the demo organisation
with a real password hash (scrypt, as in production), eISO served by waitress on a free port of
127.0.0.1. The server counts the requests it answers, and the engine counts the password hashes it checks
(``engine.password_checks``), so the figures say how many hashes each kind of call cost.
"""

from __future__ import annotations

import base64
import http.client
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from engine import (
    Base,
    Deployer,
    Engine,
    ExternalJob,
    SourceFile,
    Unit,
    User,
    load_demo,
    password_checks,
    tokens,
)

from .api_auth import CREDENTIALS
from .extensions import db, now, sa_session
from .settings import Settings

PASSWORD = "bench-Password-1"  # noqa: S105 - a throwaway account in a throwaway database
PROBE = "/engine-rest/external-task/count"  # a light call a worker makes: authentication is most of its cost
TOPIC = "bench.job"
PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="bench_jobs_defs" targetNamespace="http://eiso.vn/bench">
  <bpmn:process id="bench_jobs" name="Benchmark jobs" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:serviceTask id="work" name="Work" camunda:type="external" camunda:topic="{TOPIC}" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass
class Counted:
    """The requests the server answered."""

    requests: int = 0
    lock: threading.Lock = threading.Lock()


@dataclass(frozen=True)
class Rate:
    label: str
    calls: int
    seconds: float
    hashes: int

    def line(self) -> str:
        per_call = self.hashes / self.calls if self.calls else 0.0
        return (f"  {self.label:<34} {self.calls / self.seconds:8.1f} calls/s   "
                f"{per_call:5.2f} password hashes per call   ({self.calls} calls in {self.seconds:.1f} s)")  # fmt: skip


def _app(make_app: Callable[[Settings], Flask], folder: Path) -> Flask:
    settings = Settings.from_env({}, database_url=f"sqlite:///{folder / 'bench.sqlite3'}", instance_path=folder,
                                 secret_key=PASSWORD, basic_auth_cache_seconds=60)  # fmt: skip
    app = make_app(settings)
    with app.app_context():
        Base.metadata.create_all(db.engine)
        unit, _ = load_demo(sa_session(), password=PASSWORD)
        Deployer(sa_session()).deploy([SourceFile("bench_jobs.bpmn", PROCESS.encode())], actor=None, now=now())
        db.session.remove()
    return app


def _token(app: Flask, scopes: list[str]) -> str:
    with app.app_context():
        admin = sa_session().scalar(select(User).where(User.username == "admin"))
        unit_id = sa_session().scalar(select(Unit.id))
        assert admin is not None and unit_id is not None
        issued = tokens.issue(sa_session(), admin, unit_id=unit_id, name="bench worker", scopes=scopes, now=now())
        db.session.remove()
        return issued.secret


def _start_jobs(app: Flask, count: int) -> None:
    with app.app_context():
        admin = sa_session().scalar(select(User).where(User.username == "admin"))
        unit_id = sa_session().scalar(select(Unit.id))
        assert admin is not None and unit_id is not None
        engine = Engine(sa_session())
        for _ in range(count):
            engine.start("bench_jobs", actor=admin, unit_id=unit_id, now=now())
        db.session.remove()


def _completed_jobs(app: Flask) -> int:
    with app.app_context():
        completed = select(func.count()).select_from(ExternalJob).where(ExternalJob.state == "completed")
        done = sa_session().scalar(completed)
        db.session.remove()
        return int(done or 0)


@contextmanager
def _served(app: Flask, counted: Counted) -> Iterator[int]:
    """The app on a free port of 127.0.0.1, served by waitress (as ``eiso run``), counting requests."""
    from waitress.server import create_server

    inner = app.wsgi_app

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        with counted.lock:
            counted.requests += 1
        return inner(environ, start_response)

    app.wsgi_app = counting  # type: ignore[method-assign]
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        server.task_dispatcher.shutdown()  # let the requests being answered finish, then close
        server.close()
        app.wsgi_app = inner  # type: ignore[method-assign]


def _rate(label: str, port: int, headers: dict[str, str], seconds: float) -> Rate:
    """One client calling ``PROBE`` over one kept-alive connection for ``seconds``, after one call that is
    not counted (the connection opened; with the memory on, the one password hash a minute)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", PROBE, headers=headers)
    connection.getresponse().read()
    hashes_before, calls = password_checks(), 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        connection.request("GET", PROBE, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{label}: {PROBE} answered {response.status}")
        calls += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return Rate(label, calls, elapsed, password_checks() - hashes_before)


def _worker(port: int, token: str, jobs: int, deadline: float) -> int:
    """Camunda's Python external task client, with the token as its bearer credential, until ``jobs`` are
    completed (or ``deadline`` seconds pass)."""
    from camunda.external_task.external_task import ExternalTask, TaskResult
    from camunda.external_task.external_task_worker import ExternalTaskWorker, NoExternalTaskFound

    done = 0

    def work(task: ExternalTask) -> TaskResult:
        nonlocal done
        done += 1
        return task.complete({"worked": True})

    config = {"auth_bearer": {"access_token": token}, "maxTasks": 100, "lockDuration": 60_000,
              "asyncResponseTimeout": 1_000}  # fmt: skip
    worker = ExternalTaskWorker("bench-worker", f"http://127.0.0.1:{port}/engine-rest", config=config)
    stop = time.perf_counter() + deadline
    while done < jobs and time.perf_counter() < stop:
        with suppress(NoExternalTaskFound):  # none free yet: ask again
            worker.fetch_and_execute(TOPIC, work)
    return done


def run(make_app: Callable[[Settings], Flask], seconds: float = 3.0, jobs: int = 1000,
        echo: Callable[[str], None] = print) -> None:
    """The benchmark on an app that ``make_app`` (the app factory) builds on a throwaway database."""
    try:
        import camunda.external_task.external_task_worker  # noqa: F401
    except ImportError as exc:  # the client is a development dependency
        raise RuntimeError("The worker part needs camunda-external-task-client-python3: pip install -e '.[dev]'.") \
            from exc
    with tempfile.TemporaryDirectory(prefix="eiso-bench-auth-") as folder:
        app = _app(make_app, Path(folder))
        token = _token(app, [tokens.JOBS])
        echo(f"Starting {jobs} process instances that wait for a worker …")
        _start_jobs(app, jobs)
        counted = Counted()
        basic = {"Authorization": "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()}
        with _served(app, counted) as port:
            memory = app.extensions[CREDENTIALS]
            echo(f"GET {PROBE} over HTTP (waitress on 127.0.0.1:{port}, 4 threads), one client, {seconds:g} s each:")
            memory.ttl = 0
            off = _rate("HTTP Basic, memory off", port, basic, seconds)
            echo(off.line())
            memory.ttl = 60
            on = _rate("HTTP Basic, memory on (60 s)", port, basic, seconds)
            echo(on.line())
            bearer = _rate("API token (Authorization: Bearer)", port, {"Authorization": f"Bearer {token}"}, seconds)
            echo(bearer.line())
            echo(f"  token / Basic without memory: {bearer.calls / bearer.seconds / (off.calls / off.seconds):.0f}×")

            requests_before, hashes_before = counted.requests, password_checks()
            started = time.perf_counter()
            completed = _worker(port, token, jobs, deadline=max(120.0, jobs / 5))
            elapsed = time.perf_counter() - started
            requests = counted.requests - requests_before
            hashes = password_checks() - hashes_before
        stored = _completed_jobs(app)
        echo(f"Worker (camunda-external-task-client-python3, API token as Bearer): {completed} jobs fetched and "
             f"completed in {elapsed:.1f} s ({completed / elapsed:.0f} jobs/s), {requests} HTTP requests, "
             f"{hashes} password hashes; {stored} jobs completed in the database.")  # fmt: skip
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if stored != jobs or hashes:
            raise RuntimeError(f"expected {jobs} completed jobs and no password hash, found {stored} and {hashes}")
