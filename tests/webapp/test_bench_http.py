"""``eiso bench http`` as an operator runs it, on tiny numbers: its own SQLite file, ``eiso run`` and
``eiso worker`` as real processes, every figure printed (the figures themselves are not judged here)."""

from __future__ import annotations

import math
import os
import re
import subprocess
from pathlib import Path

from webapp.bench_http import eiso_command

NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def _eiso(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    return subprocess.run(eiso_command(*args), env=env, capture_output=True, text=True, timeout=timeout, check=False)


# every line of the lists table: (person, call); each answered 200, or the command would have stopped
CALLS = ("inbox page", "inbox, next page of claimable", "inbox page, overdue + text", "GET /api/v1/tasks",
         "GET /api/v1/tasks, next claimable page", "GET /api/v1/tasks?priority=high&due=week",
         "GET /engine-rest/task?maxResults=50", "complaint register page", "complaint register, 3rd page, filtered",
         "GET /api/v1/registers/complaints", "GET /api/v1/registers/complaints, next", "instance list page",
         "GET /engine-rest/process-instance (50)")  # fmt: skip
# the specialist may claim none of the unit's queue: her claimable list has no next page to follow
LIST_CALLS = [(person, call) for person in ("secretary", "department head", "specialist") for call in CALLS
              if person != "specialist" or "next" not in call or "claimable" not in call]  # fmt: skip


def _list_rows(out: str) -> dict[tuple[str, str], list[str]]:
    """The lists table: (person, call) → its five figures (p50, p95, p99, CPU ms, KB)."""
    table = out[out.index("call ") :]
    line = re.compile(r"^  (secretary|department head|specialist): (.+?) {2,}(\S.*)$", re.MULTILINE)
    return {(m.group(1), m.group(2)): m.group(3).split() for m in line.finditer(table)}


def test_bench_http_prints_every_figure_of_every_workload(tmp_path: Path) -> None:
    # a SQLite file given as the database, to run the lists again on it below (the default is a temporary one)
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    done = _eiso("bench", "http", "-n", "3", "--rounds", "12", "--timers", "10", "--workers", "2",
                 "--scale", "0.02", "--repeat", "3", "--database-url", url)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"Database: {url}" in out and "Server: eiso run on http://127.0.0.1:" in out
    # the sequential table: one row per client count (tasks/s, 3 + 3 percentiles, look-up, CPU, 409s asked again)
    rows = {int(m.group(1)): m.group(2).split() for m in re.finditer(r"^ +(1|8) +(.+)$", out, re.MULTILINE)}
    assert sorted(rows) == [1, 8]
    for figures in rows.values():
        assert len(figures) == 10 and all(math.isfinite(float(f)) and float(f) >= 0 for f in figures), figures
    assert "3 instances (30 tasks)" in out
    windows = re.findall(rf"rounds +(\d+)–(\d+) +({NUMBER}) ms/step", out)
    assert [(a, b) for a, b, _ in windows] == [("1", "10"), ("1", "6"), ("2", "12")]
    assert re.search(rf"ratio last / first: {NUMBER}×", out)
    # SQLite: one worker, said so; the timers fired exactly once
    assert "2 workers need PostgreSQL" in out and "1 × eiso worker" in out
    assert re.search(rf"^ +{NUMBER} firings/s .*workers' CPU {NUMBER} ms/firing", out, re.MULTILINE)
    assert "fired 10, fired exactly once 10, instances completed 10 (of 10)" in out
    # lists: filled at a fiftieth of the full size, every call of both people printed with its five figures
    assert "Lists: filling sqlite with 2,000 open and 20,000 completed tasks" in out
    # 2,000 open and 20,000 completed, and the few of the other workloads
    counts = re.search(r"Lists: (2,0\d\d open tasks, 2\d,\d{3} in all); .*; 3 calls each", out)
    assert counts is not None, out
    table = _list_rows(out)
    assert sorted(table) == sorted(LIST_CALLS), out
    for figures in table.values():
        assert len(figures) == 5 and all(math.isfinite(float(f)) and float(f) >= 0 for f in figures), figures
        assert float(figures[4]) > 0  # every answer has a body
    # --workers 2 needs PostgreSQL: on SQLite one server process, said so
    assert "Several server processes need PostgreSQL: one process here, not 2." in out

    # the same database again: its tasks are measured as they are, not written a second time
    again = _eiso("bench", "http", "-w", "lists", "--repeat", "2", "--scale", "0.02", "--database-url", url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "holds the tasks of a previous run; measuring them without filling" in again.stdout
    assert "Lists: filling" not in again.stdout and "tasks written" not in again.stdout
    assert f"Lists: {counts.group(1)};" in again.stdout
    assert sorted(_list_rows(again.stdout)) == sorted(LIST_CALLS)


def test_bench_http_refuses_what_it_cannot_run() -> None:
    bad = _eiso("bench", "http", "--clients", "1,x")
    assert bad.returncode == 2 and "give whole numbers separated by commas" in bad.stderr
    alone = _eiso("bench", "http", "--url", "http://127.0.0.1:9", "-w", "rework")
    assert alone.returncode == 1 and "--url needs --token" in alone.stderr
    small = _eiso("bench", "http", "-w", "lists", "--scale", "0")
    assert small.returncode == 2 and "give a scale above 0" in small.stderr


def test_bench_http_skips_the_lists_against_a_server_it_did_not_start() -> None:
    # nothing listens on port 9: the lists are skipped before any call, and the command says why
    done = _eiso("bench", "http", "--url", "http://127.0.0.1:9", "--token", "t", "-w", "lists")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Lists: skipped — they need the database" in done.stdout and "p50 ms" not in done.stdout


def test_a_kept_alive_connection_the_server_closed_while_idle_is_opened_again_for_the_next_call() -> None:
    """gunicorn closes a kept-alive connection after a few idle seconds; the benchmark's clients send the
    request again on a new connection, as HTTP libraries do, instead of stopping with a broken pipe."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from webapp.bench_http import exchange

    connections: list[int] = []

    class ClosesWhenIdle(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            connections.append(len(connections) + 1)

        def do_GET(self) -> None:  # noqa: N802 (the handler's naming)
            body = str(len(connections)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()  # kept alive as far as the client knows …
            self.wfile.write(body)
            self.close_connection = True  # … and closed by the server, as after an idle timeout

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ClosesWhenIdle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        answers = [exchange(connection, "GET", "/", None, {})[1] for _ in range(3)]
        assert answers == [b"1", b"2", b"3"]  # each call answered, each on a new connection
    finally:
        server.shutdown()
        server.server_close()
