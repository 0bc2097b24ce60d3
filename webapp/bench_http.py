"""``eiso bench http``: the real server, driven over HTTP with an API token.

By default everything is a throwaway: a temporary folder with a SQLite file (or the PostgreSQL database of
``--database-url``, upgraded with the migrations and filled), the production server (``eiso run``, a
subprocess on a free port of 127.0.0.1) and, for the timers, ``eiso worker`` subprocesses. With ``--url``
and ``--token`` it drives a server that is already running (the diagrams of ``webapp/bench_data`` deployed
there, the token with the scopes start and tasks, held by ``thuky``, to whom the diagrams assign the tasks).

Workloads (``webapp/bench_data``):
- ``sequential``: instances of a 10-user-task diagram; task k is completed for each instance in turn, by 1
  client and by 8 (threads, one kept-alive connection each; the server is another process);
- ``rework``: one instance goes round a rework loop; the latency of a step at the start, the middle and the end;
- ``timers``: due timers fired by ``eiso worker`` processes, each checked to have fired exactly once;
- ``lists``: the inbox and the claimable tasks of three people among 100,000 open and 1,000,000 completed
  tasks (``--scale``), written by ``bench_lists``' generator before the server starts (not again when the
  database holds them from a previous run); the inbox page with a session cookie (logged in with the
  form, its CSRF code included), the task API and the Camunda task list with an API token.

The server's CPU time is read from /proc (the server process and its children).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask
from sqlalchemy import text

from engine import Deployer, Engine, SourceFile, User, load_demo, tokens, unit_ids_of

from . import bench_lists
from .extensions import db, sa_session
from .settings import Settings

DATA = Path(__file__).resolve().parent / "bench_data"
SEQUENTIAL, REWORK, TIMER = "bench_http_sequential", "bench_http_rework", "bench_http_timer"
STEPS = 10
WORKLOADS = ("sequential", "rework", "timers", "lists")
RETRIES = 1000  # 409s a client asks again before the benchmark gives up
ASSIGNEE = "thuky"  # the person the diagrams' tasks go to; the token acts as them
Echo = Callable[[str], None]


class BenchFailed(RuntimeError):
    """The benchmark could not run, or the server answered something it should not have."""


# --- talking to the server -------------------------------------------------------------------------------


# What a kept-alive connection the server closed while it was idle answers to the next request (gunicorn closes
# one after a few seconds without a request): the request was not read, so it is sent again on a new connection,
# as HTTP client libraries do.
_CLOSED_WHILE_IDLE = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


def exchange(connection: http.client.HTTPConnection, method: str, url: str, body: str | None,
             headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:  # fmt: skip
    """Send one request on the kept-alive connection and read the answer; once more on a new connection when
    the server had closed the old one while it was idle."""
    try:
        connection.request(method, url, body, headers)
        response = connection.getresponse()
        return response, response.read()
    except _CLOSED_WHILE_IDLE:
        connection.close()  # the next request opens a new connection
    connection.request(method, url, body, headers)
    response = connection.getresponse()
    return response, response.read()


class Client:
    """One kept-alive connection with the token, timing each call."""

    def __init__(self, base: str, token: str) -> None:
        where = urlsplit(base)
        self.connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port or 80, timeout=120)
        self.prefix = where.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}  # fmt: skip
        self.retries = 0

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[Any, float]:
        """The answer's JSON and the call's seconds. A 409 (on SQLite: another writer holds the database) is
        asked again at once, as its message says, and counted in ``retries``; the seconds include the
        retries. Any other answer than 200/201 stops the benchmark."""
        started = time.perf_counter()
        while True:
            response, payload = exchange(self.connection, method, self.prefix + path,
                                         json.dumps(body) if body is not None else None, self.headers)  # fmt: skip
            if response.status != 409 or self.retries >= RETRIES:
                break
            self.retries += 1
        elapsed = time.perf_counter() - started
        if response.status not in (200, 201):
            raise BenchFailed(f"{method} {path} answered {response.status}: {payload[:300].decode(errors='replace')}")
        return json.loads(payload), elapsed

    def start(self, key: str, variables: dict[str, Any] | None = None) -> tuple[dict[str, Any], float]:
        return self.call("POST", f"/api/v1/process-definitions/{key}/start", {"variables": variables or {}})

    def open_task(self, instance_id: int) -> tuple[str, float]:
        """The instance's open task (Camunda's task query, filtered by instance)."""
        found, elapsed = self.call("GET", f"/engine-rest/task?processInstanceId={instance_id}")
        if len(found) != 1:
            raise BenchFailed(f"instance {instance_id} has {len(found)} open tasks, expected 1")
        return str(found[0]["id"]), elapsed

    def complete(self, task_id: str, variables: dict[str, Any] | None = None) -> float:
        return self.call("POST", f"/api/v1/tasks/{task_id}/complete", {"variables": variables or {}})[1]

    def close(self) -> None:
        self.connection.close()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of these processes and of their children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    wanted = set(pids)
    while True:
        more = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        if not more:
            break
        wanted |= more
    return sum(times.get(pid, 0.0) for pid in wanted)


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 in milliseconds."""
    if len(seconds) < 2:
        value = 1000 * seconds[0] if seconds else float("nan")
        return value, value, value
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return 1000 * cuts[49], 1000 * cuts[94], 1000 * cuts[98]


# --- the server and its database ------------------------------------------------------------------------


def eiso_command(*args: str) -> list[str]:
    """The ``eiso`` console command of this Python."""
    return [sys.executable, "-c", "import sys; from webapp.cli import main; sys.exit(main())", *args]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Site:
    """Where the benchmark works: the server's address and token, and what it started itself."""

    base: str
    token: str
    app: Flask | None = None  # the database, when the benchmark owns it
    env: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    folder: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [self.server.pid] if self.server is not None else []

    @property
    def on_sqlite(self) -> bool:
        return self.env.get("EISO_DATABASE_URL", "").startswith("sqlite")


def fill(app: Flask) -> str:
    """The demo organisation (kept if there), the bench diagrams, and a token acting as their assignee."""
    with app.app_context():
        session = sa_session()
        unit, _ = load_demo(session, password=secrets.token_urlsafe(16))
        files = [SourceFile(p.name, p.read_bytes()) for p in sorted(DATA.glob("*.bpmn"))]
        Deployer(session).deploy(files, actor=None, now=datetime.now(UTC), source="cli")
        admin = session.query(User).filter_by(username="admin").one()
        issued = tokens.issue(session, admin, unit_id=unit.id, name=f"bench http {secrets.token_hex(4)}",
                              scopes=[tokens.START, tokens.TASKS], now=datetime.now(UTC), holder=ASSIGNEE)  # fmt: skip
        db.session.remove()
        return issued.secret


def _wait_until_serving(site: Site, log: Path, seconds: float = 60) -> None:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        assert site.server is not None
        if site.server.poll() is not None:
            raise BenchFailed(f"eiso run stopped ({site.server.returncode}):\n{log.read_text()[-2000:]}")
        with suppress(OSError):
            probe = Client(site.base, site.token)
            probe.call("GET", "/api/v1/openapi.json")
            probe.close()
            return
        time.sleep(0.2)
    raise BenchFailed(f"eiso run did not answer within {seconds:.0f} s:\n{log.read_text()[-2000:]}")


def _server_options(workers: int, site: Site, sqlite: bool) -> list[str]:
    """``--workers N`` for ``eiso run``; on SQLite one process (it refuses several), said in the notes."""
    if workers <= 1:
        return []
    if sqlite:
        site.notes.append(f"Several server processes need PostgreSQL: one process here, not {workers}.")
        return []
    return ["--workers", str(workers)]


@contextmanager
def own_site(make_app: Callable[[Settings], Flask], database_url: str | None, workers: int, threads: int,
             echo: Echo, prepare: Callable[[Flask], None] | None = None) -> Iterator[Site]:  # fmt: skip
    """A database upgraded with the migrations and filled (``prepare`` adds to it), and ``eiso run`` serving
    it on a free port."""
    with tempfile.TemporaryDirectory(prefix="eiso-bench-http-") as name:
        folder = Path(name)
        url = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
        env = {**os.environ, "EISO_DATABASE_URL": url, "EISO_INSTANCE_PATH": str(folder),
               "EISO_SECRET_KEY": secrets.token_hex(32)}  # fmt: skip
        echo(f"Database: {'SQLite in ' + str(folder) if database_url is None else _without_password(url)}")
        upgraded = subprocess.run(eiso_command("db", "upgrade"), env=env, capture_output=True, text=True,  # noqa: S603
                                  check=False)  # fmt: skip
        if upgraded.returncode:
            raise BenchFailed(f"eiso db upgrade failed:\n{upgraded.stderr[-2000:]}")
        app = make_app(Settings.from_env(env))
        token = fill(app)
        if prepare is not None:
            prepare(app)
        port = free_port()
        site = Site(f"http://127.0.0.1:{port}", token, app=app, env=env, folder=folder)
        command = eiso_command("run", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads),
                               "--no-scheduler", *_server_options(workers, site, url.startswith("sqlite")))  # fmt: skip
        log = folder / "server.log"
        with log.open("wb") as out:
            site.server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                           start_new_session=True)  # fmt: skip
        try:
            _wait_until_serving(site, log)
            several = "--workers" in command
            processes = f"{workers} processes × {threads} threads" if several else f"one process, {threads} threads"
            echo(f"Server: eiso run on {site.base} (pid {site.server.pid}, {processes})")
            yield site
        finally:
            _stop(site.server)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """The process and its children (its own session), politely, then for sure."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _without_password(url: str) -> str:
    where = urlsplit(url)
    return url.replace(f":{where.password}@", ":***@") if where.password else url


# --- workloads ---------------------------------------------------------------------------------------------


@dataclass
class SequentialRun:
    clients: int
    tasks: int
    seconds: float
    starts: list[float]
    completes: list[float]
    lookups: list[float]
    cpu: float | None
    retried: int

    def row(self) -> str:
        start, complete, lookup = percentiles(self.starts), percentiles(self.completes), percentiles(self.lookups)
        cpu = f"{1000 * self.cpu / self.tasks:8.1f}" if self.cpu is not None else "       –"
        return (f"  {self.clients:>7} {self.tasks / self.seconds:8.1f}  "
                f"{start[0]:6.1f} {start[1]:6.1f} {start[2]:6.1f}  {complete[0]:6.1f} {complete[1]:6.1f} "
                f"{complete[2]:6.1f}  {lookup[0]:6.1f}  {cpu}  {self.retried:5}")  # fmt: skip


SEQUENTIAL_HEAD = ("  clients  tasks/s   start ms p50    p95    p99  complete p50    p95    p99  lookup p50  "
                   "server CPU ms/task  409s")  # fmt: skip


def sequential(site: Site, instances: int, clients: int) -> SequentialRun:
    """``instances`` instances started, then task k completed for each instance in turn (k = 1…10); the
    instances are shared out among ``clients`` threads, each with its own connection."""
    shares = [list(range(c, instances, clients)) for c in range(clients)]
    starts: list[list[float]] = [[] for _ in range(clients)]
    completes: list[list[float]] = [[] for _ in range(clients)]
    lookups: list[list[float]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []
    retried = [0] * clients
    barrier = threading.Barrier(clients)

    def work(c: int) -> None:
        client = Client(site.base, site.token)
        try:
            mine = []
            for _ in shares[c]:
                started, seconds = client.start(SEQUENTIAL)
                starts[c].append(seconds)
                mine.append((started["id"], started["tasks"][0]["id"]))
            barrier.wait()
            for step in range(STEPS):
                for instance_id, first in mine:
                    if step == 0:
                        task_id = first
                    else:
                        task_id, seconds = client.open_task(instance_id)
                        lookups[c].append(seconds)
                    completes[c].append(client.complete(task_id))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which stops the benchmark
            failures.append(exc)
            barrier.abort()
        finally:
            retried[c] = client.retries
            client.close()

    cpu_before = cpu_seconds(site.pids)
    began = time.perf_counter()
    threads = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        first = next((f for f in failures if not isinstance(f, threading.BrokenBarrierError)), failures[0])
        raise BenchFailed(f"{clients} client(s): {first}")
    cpu = cpu_seconds(site.pids) - cpu_before if site.pids else None
    return SequentialRun(clients, instances * STEPS, elapsed, sum(starts, []), sum(completes, []), sum(lookups, []),
                         cpu, sum(retried))  # fmt: skip


def rework(site: Site, rounds: int) -> list[tuple[int, int, float]]:
    """One instance round the rework loop ``rounds`` times; the mean complete-call latency (ms) of rounds
    1–10, of the ten rounds ending at the middle, and of the last eleven (290–300 of 300)."""
    client = Client(site.base, site.token)
    try:
        started, _ = client.start(REWORK)
        instance_id, task_id = started["id"], started["tasks"][0]["id"]
        steps = []
        for round_ in range(1, rounds + 1):
            if round_ > 1:
                task_id, _ = client.open_task(instance_id)
            steps.append(client.complete(task_id, {"again": round_ < rounds}))
        state, _ = client.call("GET", f"/api/v1/instances/{instance_id}")
        if state["status"] != "completed":
            raise BenchFailed(f"the rework instance is {state['status']} after {rounds} rounds, not completed")
    finally:
        client.close()
    middle = max(rounds // 2, 1)
    windows = [(1, min(10, rounds)), (max(middle - 9, 1), middle), (max(rounds - 10, 1), rounds)]
    return [(a, b, 1000 * statistics.fmean(steps[a - 1:b])) for a, b in windows]


@dataclass
class TimerRun:
    timers: int
    workers: int
    seconds: float
    fired: int
    once: int
    completed: int
    cpu: float


def _count(app: Flask, sql: str, since: int = 0) -> int:
    with app.app_context():
        found = db.session.execute(text(sql), {"key": TIMER, "since": since}).scalar()
        db.session.remove()
        return int(found or 0)


_OURS = ("FROM process_instances i JOIN process_definitions d ON d.id = i.definition_id "
         "WHERE d.key = :key AND i.id > :since")  # fmt: skip  (since: this run's instances only)
# fixed texts of this module (the key is a bound parameter)
_WAITING = f"SELECT count(*) FROM timers t WHERE t.state = 'waiting' AND t.instance_id IN (SELECT i.id {_OURS})"  # noqa: S608
_FIRED = f"SELECT count(*) FROM timers t WHERE t.state = 'fired' AND t.instance_id IN (SELECT i.id {_OURS})"  # noqa: S608
_ONCE = (f"SELECT count(*) FROM (SELECT i.id {_OURS} AND (SELECT count(*) FROM history_events h "  # noqa: S608
         "WHERE h.instance_id = i.id AND h.kind = 'timer_fired') = 1) AS once")  # fmt: skip
_COMPLETED = f"SELECT count(*) {_OURS} AND i.status = 'completed'"
_LAST = "SELECT max(id) FROM process_instances"
# the run's timers held back while the workers start (a state no sweep takes), then let go at once
_HOLD = f"UPDATE timers SET state = 'bench_held' WHERE state = 'waiting' AND instance_id IN (SELECT i.id {_OURS})"  # noqa: S608
_LET_GO = f"UPDATE timers SET state = 'waiting' WHERE state = 'bench_held' AND instance_id IN (SELECT i.id {_OURS})"  # noqa: S608
_WORKER_UP = b"sweeping every"


def _execute(app: Flask, sql: str, since: int) -> None:
    with app.app_context():
        db.session.execute(text(sql), {"key": TIMER, "since": since})
        db.session.commit()
        db.session.remove()


def _due_timers(app: Flask, count: int, echo: Echo) -> None:
    """``count`` instances waiting at a timer that came due a minute ago."""
    echo(f"Starting {count} instances that wait at a timer already due …")
    with app.app_context():
        session = sa_session()
        starter = session.query(User).filter_by(username=ASSIGNEE).one()
        unit_id = min(unit_ids_of(session, starter))
        engine = Engine(session)
        past = datetime.now(UTC) - timedelta(minutes=2)
        for _ in range(count):
            engine.start(TIMER, actor=starter, unit_id=unit_id, now=past)
        db.session.remove()


def timers(site: Site, count: int, workers: int, echo: Echo) -> TimerRun:
    """Due timers fired by ``workers`` ``eiso worker`` processes (a sweep a second); the rate counts from
    the last poll before the first firing to the poll that finds none waiting (every 0.1 s). The timers are
    held back until every worker is up and has swept once, so neither the rate nor the workers' CPU a firing
    counts a worker's start-up (importing and building the app: a second or two of CPU each)."""
    assert site.app is not None and site.folder is not None
    if _count(site.app, _WAITING):
        raise BenchFailed("the database already has waiting bench timers; use a fresh database")
    since = _count(site.app, _LAST)  # a database used before: count only the instances started now
    _due_timers(site.app, count, echo)
    _execute(site.app, _HOLD, since)  # the workers' start-up is not part of the rate (nor their CPU a firing)
    processes, logs = [], [site.folder / f"worker-{n}.log" for n in range(workers)]
    for path in logs:
        with path.open("wb") as log:
            processes.append(subprocess.Popen(eiso_command("worker", "--interval", "1"), env=site.env,  # noqa: S603
                                              stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
    pids = [p.pid for p in processes]
    try:
        up_by = time.monotonic() + 120
        while not all(_WORKER_UP in path.read_bytes() for path in logs):
            if time.monotonic() > up_by or any(p.poll() is not None for p in processes):
                raise BenchFailed(f"the workers did not start; see {site.folder}/worker-*.log")
            time.sleep(0.1)
        time.sleep(1.5)  # each worker's first sweep (nothing due yet) is over
        _execute(site.app, _LET_GO, since)
        # the clock starts at the last poll that still saw every timer waiting (the workers are up by then)
        waiting, began, cpu_before = count, time.perf_counter(), cpu_seconds(pids)
        stop = time.monotonic() + max(120.0, count / 5)
        while waiting and time.monotonic() < stop:
            time.sleep(0.1)
            polled, waiting = time.perf_counter(), _count(site.app, _WAITING, since)
            if waiting == count:
                began, cpu_before = polled, cpu_seconds(pids)
        ended, cpu = time.perf_counter(), cpu_seconds(pids) - cpu_before
    finally:
        for process in processes:
            _stop(process)
    if waiting:
        raise BenchFailed(f"{waiting} of {count} timers still waiting after the time allowed")
    fired = _count(site.app, _FIRED, since)
    seconds = ended - began
    return TimerRun(count, workers, seconds, fired, _count(site.app, _ONCE, since),
                    _count(site.app, _COMPLETED, since), cpu)  # fmt: skip


class Browser:
    """One kept-alive connection with a person's session cookie, as a browser holds it."""

    def __init__(self, base: str) -> None:
        where = urlsplit(base)
        self.connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port or 80, timeout=120)
        self.prefix = where.path.rstrip("/")
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes, str]:
        """Status, body and Location; the cookies the answer sets are kept for the next request."""
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body, headers["Content-Type"] = urlencode(form), "application/x-www-form-urlencoded"
        response, payload = exchange(self.connection, method, self.prefix + path, body, headers)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, payload, response.headers.get("Location", "")

    def log_in(self, username: str, password: str) -> None:
        """The log-in form as a person fills it: its page first (the session's CSRF code), then the post."""
        status, page, _ = self.request("GET", "/login")
        found = re.search(rb'name="csrf_token" value="([^"]*)"', page)
        if status != 200 or found is None:
            raise BenchFailed(f"GET /login answered {status} without a log-in form")
        form = {"csrf_token": unescape(found.group(1).decode()), "username": username, "password": password}
        status, page, location = self.request("POST", "/login", form)
        if status != 302 or urlsplit(location).path.endswith("/login"):
            raise BenchFailed(f"{username} could not log in: {status} {page[:300].decode(errors='replace')}")

    def close(self) -> None:
        self.connection.close()


@dataclass
class ListFigure:
    label: str
    seconds: list[float]
    size: int
    cpu: float | None  # the server's CPU seconds per call

    def row(self) -> str:
        p50, p95, p99 = percentiles(self.seconds)
        cpu = f"{1000 * self.cpu:9.1f}" if self.cpu is not None else "        –"
        return f"  {self.label:<60} {p50:7.1f} {p95:7.1f} {p99:7.1f}  {cpu}  {self.size / 1024:8.1f}"


LISTS_HEAD = f"  {'call':<60} {'p50 ms':>7} {'p95':>7} {'p99':>7}  {'CPU ms':>9}  {'KB':>8}"


def prepare_lists(shape: bench_lists.Shape, echo: Echo) -> Callable[[Flask], None]:
    """Fill the database with ``bench_lists``' generator, unless a previous run did."""

    def prepare(app: Flask) -> None:
        with app.app_context():
            if bench_lists.filled_before(sa_session()):
                echo("Lists: the database holds the tasks of a previous run; measuring them without filling")
            else:
                total = shape.own + shape.claimable + shape.head + shape.others
                echo(f"Lists: filling {db.engine.dialect.name} with {total:,} open and {shape.completed:,} "
                     "completed tasks")  # fmt: skip
                bench_lists.fill_tasks(app, shape, echo)
            db.session.remove()

    return prepare


def lists(site: Site, repeat: int, echo: Echo) -> list[ListFigure]:
    """For each of the three people, the calls of ``bench_lists.calls_for`` over HTTP, ``repeat`` times each
    after one to warm up; an answer other than 200 stops the benchmark."""
    assert site.app is not None
    figures = []
    for username, title in bench_lists.PEOPLE_MEASURED:
        with site.app.app_context():
            token = bench_lists.token_for(username)
            db.session.remove()
        browser, api = Browser(site.base), Client(site.base, token)
        try:
            browser.log_in(username, bench_lists.PASSWORD)
            plan = bench_lists.calls_for(title, partial(_html, browser), partial(_answer, api))
            for label, path, with_token in plan:
                call: Callable[[], tuple[int, float]] = (
                    partial(_sized, api, path) if with_token else partial(_page, browser, path))
                call()
                cpu_before, times, size = cpu_seconds(site.pids), [], 0
                for _ in range(repeat):
                    size, seconds = call()
                    times.append(seconds)
                cpu = (cpu_seconds(site.pids) - cpu_before) / repeat if site.pids else None
                figures.append(ListFigure(label, times, size, cpu))
                echo(figures[-1].row())
        finally:
            browser.close()
            api.close()
    return figures


def _html(browser: Browser, path: str) -> str:
    status, body, _ = browser.request("GET", path)
    if status != 200:
        raise BenchFailed(f"GET {path} answered {status}: {body[:300].decode(errors='replace')}")
    return body.decode()


def _answer(api: Client, path: str) -> Any:
    return api.call("GET", path)[0]


def _page(browser: Browser, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    size = len(_html(browser, path).encode())
    return size, time.perf_counter() - started


def _sized(api: Client, path: str) -> tuple[int, float]:
    """The answer's size in bytes and the call's seconds."""
    started = time.perf_counter()
    api.connection.request("GET", api.prefix + path, None, api.headers)
    response = api.connection.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise BenchFailed(f"GET {path} answered {response.status}: {payload[:300].decode(errors='replace')}")
    return len(payload), elapsed


# --- the command -------------------------------------------------------------------------------------------


def run(make_app: Callable[[Settings], Flask], *, instances: int = 200, rounds: int = 300, timer_count: int = 2000,
        workloads: tuple[str, ...] = WORKLOADS, clients: tuple[int, ...] = (1, 8), database_url: str | None = None,
        url: str | None = None, token: str | None = None, workers: int = 1, threads: int = 8,
        timer_workers: int = 2, scale: float = 1.0, repeat: int = 100, echo: Echo = print) -> None:  # fmt: skip
    """Run the chosen workloads and print their tables."""
    echo(f"eiso bench http — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs")
    if url:
        if not token:
            raise BenchFailed("--url needs --token: an API token with the scopes start and tasks.")
        site_context: Any = nullcontext()
        site = Site(url.rstrip("/"), token)
        echo(f"Server: {site.base} (not started here: no server CPU figures)")
    else:
        shape = bench_lists.Shape.scaled(scale)
        prepare = prepare_lists(shape, echo) if "lists" in workloads else None
        site_context = own_site(make_app, database_url, workers, threads, echo, prepare)
    with site_context as owned:
        site = owned or site
        for note in site.notes:
            echo(f"Note: {note}")
        if "sequential" in workloads:
            echo(f"\nSequential diagram, {STEPS} user tasks, {instances} instances ({instances * STEPS} tasks), "
                 "JSON API with an API token; task k completed for each instance in turn")  # fmt: skip
            echo("(tasks/s: completions per second of the whole run, starts and look-ups included; lookup: "
                 "GET /engine-rest/task?processInstanceId=…; CPU: the server's, all calls, per task; 409s: "
                 "answers 'being changed by someone else' asked again, their time counted in the call's)")  # fmt: skip
            echo(SEQUENTIAL_HEAD)
            for count in clients:
                echo(sequential(site, instances, count).row())
        if "rework" in workloads:
            echo(f"\nRework loop, {rounds} rounds, one client: mean complete-call latency")
            windows = rework(site, rounds)
            for a, b, ms in windows:
                echo(f"  rounds {a:>4}–{b:<4} {ms:8.1f} ms/step")
            echo(f"  ratio last / first: {windows[-1][2] / windows[0][2]:.2f}×")
        if "timers" in workloads:
            if site.app is None:
                echo("\nTimers: skipped — they need the database, so only with a server this command starts.")
            else:
                count = timer_workers
                if site.on_sqlite and count > 1:
                    echo(f"\nNote: {count} workers need PostgreSQL (one writer on SQLite): one worker here.")
                    count = 1
                done = timers(site, timer_count, count, echo)
                echo(f"\nTimers: {done.timers} due timers, {done.workers} × eiso worker (a sweep a second)")
                cpu = 1000 * done.cpu / done.timers
                echo(f"  {done.timers / done.seconds:8.1f} firings/s   ({done.seconds:.1f} s from the last poll "
                     f"before the first firing to the last; workers' CPU {cpu:.1f} ms/firing)")  # fmt: skip
                echo(f"  fired {done.fired}, fired exactly once {done.once}, instances completed {done.completed} "
                     f"(of {done.timers})")  # fmt: skip
                if not done.fired == done.once == done.completed == done.timers:
                    raise BenchFailed("some timers did not fire exactly once")
        if "lists" in workloads:
            if site.app is None:
                echo("\nLists: skipped — they need the database (filled with their own tasks), so only with a "
                     "server this command starts.")  # fmt: skip
            else:
                _lists_table(site, repeat, echo)


def _lists_table(site: Site, repeat: int, echo: Echo) -> None:
    assert site.app is not None
    with site.app.app_context():
        session = sa_session()
        open_count = session.scalar(text("SELECT count(*) FROM tasks WHERE state = 'open'"))
        all_count = session.scalar(text("SELECT count(*) FROM tasks"))
        db.session.remove()
    echo(f"\nLists: {open_count:,} open tasks, {all_count:,} in all; the secretary ({bench_lists.SECRETARY}) and the "
         f"department head ({bench_lists.HEAD}); {repeat} calls each after one to warm up")  # fmt: skip
    echo("(inbox: the page with a session cookie; API and Camunda: an API token; CPU: the server's per call; "
         "KB: the answer's body)")  # fmt: skip
    echo(LISTS_HEAD)
    lists(site, repeat, echo)
