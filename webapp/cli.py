"""The ``eiso`` console command: Flask's CLI around the app factory (commands: webapp/commands.py)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from . import create_app
from .commands import bench_group


def _create_app() -> Flask:
    return create_app()


@bench_group.command("auth")  # here, beside the app factory: it builds an app of its own on a throwaway database
@click.option("--seconds", default=3.0, show_default=True, type=float, help="How long each kind of call is measured.")
@click.option("--jobs", default=1000, show_default=True, type=int, help="External jobs the worker completes.")
def bench_auth(seconds: float, jobs: int) -> None:
    """API calls per second with HTTP Basic (memory of verified passwords off and on) and with an API token,
    over real HTTP; then a worker with a token completes JOBS external tasks (password hashes counted)."""
    from .bench_auth import run

    try:
        run(create_app, seconds, jobs, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc))


@bench_group.command("lists")  # beside the app factory too: it builds an app on the database it fills
@click.option("--scale", default=1.0, show_default=True, type=float,
              help="Multiplies every count (0.01: a thousand open tasks, ten thousand completed).")
@click.option("--open", "open_tasks", default=100_000, show_default=True, type=int, help="Open tasks at scale 1.")
@click.option("--completed", default=1_000_000, show_default=True, type=int, help="Completed tasks at scale 1.")
@click.option("--repeat", default=50, show_default=True, type=int, help="Calls measured per figure.")
@click.option("--database-url", default=None,
              help="An empty database to fill, or one this command filled before (default: a new SQLite file).")
def bench_lists(scale: float, open_tasks: int, completed: int, repeat: int, database_url: str | None) -> None:
    """The inbox page and /api/v1/tasks for a secretary (1,000 own, 4,000 to claim) and a department head
    (76% of the open tasks to claim) among open and completed tasks; prints p50/p95 and sizes."""
    from .bench_lists import run

    try:
        run(create_app, scale, open_tasks, completed, repeat, database_url, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc))


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """eISO: electronic ISO 9001 quality management for public administration."""
