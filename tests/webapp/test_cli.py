"""The eiso command as an operator uses it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tests.conftest import FIXTURES


def test_demo_load_twice_keeps_one_organisation_and_one_version(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Kept demo unit" in result.output and "unchanged quality_objectives version 1" in result.output
    assert "thuky" in result.output and "password 'demo'" in result.output


def test_deploy_prints_each_problem_and_stores_nothing(app: Flask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text((FIXTURES / "rework_loop.bpmn").read_text().replace('candidateGroups="iso_secretary"',
                                                                           'candidateGroups="nobody"'))  # fmt: skip
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deploy", str(broken)])
    assert result.exit_code != 0
    assert "broken.bpmn" in result.output and "[work]" in result.output and "'nobody' names no role" in result.output
    ok = runner.invoke(args=["deploy", str(FIXTURES / "rework_loop.bpmn")])
    assert ok.exit_code == 0 and "deployed rework_loop version 1" in ok.output
