"""``eiso bench lists`` on a small scale: it fills a database, measures each person and prints the figures."""

from __future__ import annotations

import pytest
from flask import Flask


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bench_lists_fills_and_prints_figures_for_each_person(app: Flask) -> None:
    import webapp.cli  # noqa: F401 - the eiso command adds ``bench lists`` beside the app factory

    result = app.test_cli_runner().invoke(args=["bench", "lists", "--scale", "0.002", "--repeat", "2"])
    assert result.exit_code == 0, result.output
    assert "Filling sqlite: 200 open and 2,000 completed tasks" in result.output
    assert "200 open tasks, 2,200 in all" in result.output
    for person in ("secretary", "department head", "specialist"):
        lines = [line for line in result.output.splitlines() if line.strip().startswith(f"{person}:")]
        assert any("inbox page" in line for line in lines) and any("GET /api/v1/tasks" in line for line in lines)
        assert all(" p95 " in line and " KB" in line for line in lines)
        assert any("complaint register page" in line for line in lines)
        assert any("GET /api/v1/registers/complaints" in line for line in lines)
        assert any("GET /engine-rest/process-instance" in line for line in lines)
    assert "department head: inbox, next page of claimable" in result.output  # 152 to take: a second page
    assert "specialist: inbox, next page" not in result.output  # none to take
