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


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """eISO: electronic ISO 9001 quality management for public administration."""
