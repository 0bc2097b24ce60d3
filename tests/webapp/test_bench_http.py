"""``eiso bench http`` as an operator runs it, on tiny numbers: its own SQLite file, ``eiso run`` and
``eiso worker`` as real processes, every figure printed (the figures themselves are not judged here)."""

from __future__ import annotations

import math
import os
import re
import subprocess

from webapp.bench_http import eiso_command

NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def _eiso(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    return subprocess.run(eiso_command(*args), env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_bench_http_prints_every_figure_of_every_workload() -> None:
    done = _eiso("bench", "http", "-n", "3", "--rounds", "12", "--timers", "10", "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Database: SQLite" in out and "Server: eiso run on http://127.0.0.1:" in out
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
    # --workers 2 needs PostgreSQL: on SQLite one server process, said so
    assert "Several server processes need PostgreSQL: one process here, not 2." in out


def test_bench_http_refuses_what_it_cannot_run() -> None:
    bad = _eiso("bench", "http", "--clients", "1,x")
    assert bad.returncode == 2 and "give whole numbers separated by commas" in bad.stderr
    alone = _eiso("bench", "http", "--url", "http://127.0.0.1:9", "-w", "rework")
    assert alone.returncode == 1 and "--url needs --token" in alone.stderr
