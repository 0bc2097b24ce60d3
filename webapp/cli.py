"""The ``eiso`` console command: Flask's CLI around the app factory (commands: webapp/commands.py)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from . import create_app


def _create_app() -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """eISO: electronic ISO 9001 quality management for public administration."""
