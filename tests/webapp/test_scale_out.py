"""Scale-out on one PostgreSQL, as production runs it: two servers started with the production command
(``eiso run --workers 2``: gunicorn, two processes each) and two ``eiso worker`` processes sweeping timers,
all on one database and one fresh instance folder. Clients drive a workload over real HTTP with API tokens,
alternating between the servers: start instances, claim and complete their first task, let the workers
fire each instance's timer (all come due at one moment), then two people claim the next task at the same
moment through the two servers, and the one who got it completes it. Nothing may be lost or doubled:
every instance completes, every task is completed once, every timer fires once, exactly one of each pair
of claims wins and the other gets 409, no call gets a 5xx, and a log-in session made through one server
is good on the other (one secret key)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, ProcessInstance, SourceFile, TaskRow, User, load_demo, tokens
from engine.runtime.models import HistoryEvent, Timer
from tests.conftest import FIXTURES, POSTGRES_URL, _postgres, _truncate, make_user

pytestmark = pytest.mark.slow

INSTANCES = 40
CLIENTS = 4
DUE_IN = 6  # seconds: every instance's timer comes due at one moment, so both workers find the whole batch
EISO = Path(sys.executable).with_name("eiso")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    servers: list[str]
    logs: list[Path]
    tokens: dict[str, str]
    due_at: str = ""
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, server: int, method: str, path: str, who: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        response = requests.request(method, self.servers[server % 2] + path, headers=headers, timeout=30, **kwargs)
        with self.lock:
            self.statuses[response.status_code] += 1
        return response


def _prepare(session: Session) -> dict[str, str]:
    """The demo unit, a second ISO secretary, the diagram, and a token for each secretary."""
    unit, _ = load_demo(session)
    make_user(session, "thuky2", unit, roles=("iso_secretary",), full_name="Trương Thị Hạnh")
    source = FIXTURES / "scale_out.bpmn"
    Deployer(session).deploy([SourceFile(source.name, source.read_bytes())], actor=None, now=datetime.now(UTC))
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    secrets = {}
    for holder in ("thuky", "thuky2"):
        issued = tokens.issue(session, admin, unit_id=unit.id, name=f"Client {holder}", scopes=("start", "tasks"),
                              holder=holder, now=datetime.now(UTC))  # fmt: skip
        secrets[holder] = issued.secret
    session.commit()
    return secrets


def _wait_until_up(url: str, processes: list[subprocess.Popen[bytes]], deadline: float) -> None:
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a process ended at start-up"
        try:
            if requests.get(url + "/login", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within the start-up time")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    pg = _postgres()  # skipped without PostgreSQL (failed when EISO_REQUIRE_POSTGRES=1)
    _truncate(pg)
    with Session(pg) as session:
        secrets = _prepare(session)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    env |= {"EISO_DATABASE_URL": POSTGRES_URL, "EISO_INSTANCE_PATH": str(tmp_path / "instance"),
            "PYTHONUNBUFFERED": "1"}  # fmt: skip
    ports = [free_port(), free_port()]
    commands = [[str(EISO), "run", "--workers", "2", "--threads", "4", "--port", str(p)] for p in ports]
    commands += [[str(EISO), "worker", "--interval", "1"]] * 2
    logs = [tmp_path / f"process-{i}.log" for i in range(len(commands))]
    processes = []
    try:
        for command, log in zip(commands, logs, strict=True):
            with log.open("wb") as out:
                processes.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))
        servers = [f"http://127.0.0.1:{p}" for p in ports]
        deadline = time.monotonic() + 40
        for url in servers:
            _wait_until_up(url, processes, deadline)
        yield Cluster(servers, logs, secrets)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _open_task(instance: dict[str, Any], element: str) -> dict[str, Any] | None:
    return next((t for t in instance["tasks"] if t["element_id"] == element and t["state"] == "open"), None)


def _begin(cluster: Cluster, n: int) -> dict[str, Any]:
    """Start an instance and do its first task; the calls alternate between the two servers."""
    key = {"Idempotency-Key": str(uuid.uuid4())}
    started = cluster.call(n, "POST", "/api/v1/process-definitions/scale_out/start", "thuky", headers=key,
                           json={"variables": {"dueAt": cluster.due_at}, "business_key": f"HS-{n:03d}"})  # fmt: skip
    assert started.status_code == 201, started.text
    instance = started.json()
    receive = _open_task(instance, "receive")
    assert receive is not None, instance
    claimed = cluster.call(n + 1, "POST", f"/api/v1/tasks/{receive['id']}/claim", "thuky")
    assert claimed.status_code == 200, claimed.text
    done = cluster.call(n, "POST", f"/api/v1/tasks/{receive['id']}/complete", "thuky", json={"variables": {}})
    assert done.status_code == 200, done.text
    return {"n": n, "id": instance["id"], "receive": receive["id"]}


def _finish(cluster: Cluster, begun: dict[str, Any]) -> dict[str, Any]:
    """Once its timer fired, two people race for the instance's second task; the one who got it does it."""
    n, instance = begun["n"], {"id": begun["id"]}
    deadline, handle, polls = time.monotonic() + 30, None, 0
    while handle is None:  # the timer fires in a worker once due
        assert time.monotonic() < deadline, f"instance {instance['id']}: the timer did not fire"
        time.sleep(0.25)
        polls += 1
        seen = cluster.call(n + polls, "GET", f"/api/v1/instances/{instance['id']}", "thuky")
        assert seen.status_code == 200, seen.text
        handle = _open_task(seen.json(), "handle")

    # two people take the task at the same moment, each through another server
    barrier, results = threading.Barrier(2), {}

    def take(who: str, server: int) -> None:
        barrier.wait()
        results[who] = cluster.call(server, "POST", f"/api/v1/tasks/{handle['id']}/claim", who)

    racers = [threading.Thread(target=take, args=("thuky", n)), threading.Thread(target=take, args=("thuky2", n + 1))]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(r.status_code for r in results.values()) == [200, 409], {w: r.text for w, r in results.items()}
    winner = next(w for w, r in results.items() if r.status_code == 200)
    assert results[winner].json()["assignee"] == winner
    finished = cluster.call(n + 1, "POST", f"/api/v1/tasks/{handle['id']}/complete", winner, json={"variables": {}},
                            headers={"Idempotency-Key": str(uuid.uuid4())})  # fmt: skip
    assert finished.status_code == 200, finished.text
    return {"id": instance["id"], "winner": winner, "tasks": (begun["receive"], handle["id"])}


def test_two_servers_and_two_workers_lose_and_double_nothing_on_postgresql(cluster: Cluster) -> None:
    cluster.due_at = (datetime.now(UTC) + timedelta(seconds=DUE_IN)).isoformat(timespec="seconds")
    with ThreadPoolExecutor(CLIENTS) as clients:
        begun = list(clients.map(lambda n: _begin(cluster, n), range(INSTANCES)))
        driven = list(clients.map(lambda b: _finish(cluster, b), begun))

    assert not [s for s in cluster.statuses if s >= 500], cluster.statuses
    assert cluster.statuses[409] == INSTANCES  # one lost race per instance, nothing else refused
    for i, item in enumerate(driven):  # what the clients see, through either server
        seen = cluster.call(i, "GET", f"/api/v1/instances/{item['id']}", "thuky").json()
        assert seen["status"] == "completed", seen
        assert [(t["element_id"], t["state"]) for t in seen["tasks"]] == [("receive", "completed"),
                                                                         ("handle", "completed")]  # fmt: skip
        assert next(t for t in seen["tasks"] if t["element_id"] == "handle")["assignee"] == item["winner"]

    ids = [item["id"] for item in driven]
    with Session(_postgres()) as session:  # what the database kept
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == INSTANCES
        assert session.scalar(select(func.count()).where(ProcessInstance.status == "completed")) == INSTANCES
        tasks = session.scalars(select(TaskRow).where(TaskRow.instance_id.in_(ids))).all()
        assert len(tasks) == 2 * INSTANCES and {t.state for t in tasks} == {"completed"}
        events = session.execute(select(HistoryEvent.kind, HistoryEvent.instance_id, HistoryEvent.task_id)).all()
        completed = Counter(task for kind, _, task in events if kind == "task_completed")
        assert completed == {t.id: 1 for t in tasks}  # each task completed once
        claims = Counter(task for kind, _, task in events if kind == "task_claimed")
        assert claims == {t.id: 1 for t in tasks}  # the losing claim left no trace
        fired = Counter(instance for kind, instance, _ in events if kind == "timer_fired")
        assert fired == dict.fromkeys(ids, 1)  # each timer fired once, by one of the two workers
        assert Counter(session.scalars(select(Timer.state))) == {"fired": INSTANCES}
        assert Counter(kind for kind, _, _ in events)["instance_completed"] == INSTANCES

    # one secret key for every process: a log-in session made through one server is good on the other
    browser = requests.Session()
    page = browser.get(cluster.servers[0] + "/login", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    signed_in = browser.post(cluster.servers[0] + "/login", allow_redirects=False, timeout=10,
                             data={"username": "thuky", "password": "demo", "csrf_token": csrf.group(1)})  # fmt: skip
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]
    inbox = browser.get(cluster.servers[1] + "/", allow_redirects=False, timeout=10)
    assert inbox.status_code == 200 and "Lê Thị Mai Anh" in inbox.text
    assert len(list((cluster.logs[0].parent / "instance").glob("secret_key*"))) == 1  # no stray drafts either

    for log in cluster.logs:
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
    swept = [int(n) for log in cluster.logs[2:] for n in re.findall(r"timer sweep: (\d+) fired", log.read_text())]
    assert sum(swept) == INSTANCES  # what the workers' logs say they fired: each timer once
