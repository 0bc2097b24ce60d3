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


@bench_group.command("http")  # beside the app factory too: it fills a database of its own before starting the server
@click.option("-n", "--instances", default=200, show_default=True, type=int,
              help="Instances of the 10-user-task diagram (each client workload).")
@click.option("--rounds", default=300, show_default=True, type=int, help="Rounds of the rework loop.")
@click.option("--timers", "timer_count", default=2000, show_default=True, type=int, help="Due timers to fire.")
@click.option("-w", "--workload", "workloads", multiple=True,
              type=click.Choice(["sequential", "rework", "timers", "lists"]),
              help="Run only these workloads (repeat the option); all by default.")
@click.option("--clients", default="1,8", show_default=True,
              help="Client counts for the sequential workload, comma-separated.")
@click.option("--database-url", default=None,
              help="A PostgreSQL database to upgrade, fill and serve (default: a temporary SQLite file).")
@click.option("--url", default=None, help="Drive a running server instead (with --token); timers are skipped.")
@click.option("--token", default=None,
              help="API token for --url (scopes start and tasks), held by thuky, the tasks' assignee.")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Server processes, passed to `eiso run --workers` when that option exists.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads of the server (`eiso run`).")
@click.option("--timer-workers", default=2, show_default=True, type=int,
              help="`eiso worker` processes firing the timers (one on SQLite).")
@click.option("--scale", default=1.0, show_default=True, type=float,
              help="Lists: multiplies the 100,000 open and 1,000,000 completed tasks (0.01 for a quick look).")
@click.option("--repeat", default=100, show_default=True, type=int, help="Lists: calls measured per figure.")
def bench_http(instances: int, rounds: int, timer_count: int, workloads: tuple[str, ...], clients: str,
               database_url: str | None, url: str | None, token: str | None, workers: int, threads: int,
               timer_workers: int, scale: float, repeat: int) -> None:  # fmt: skip
    """Drive the real server over HTTP with an API token: a 10-user-task diagram with 1 and 8 clients, a
    rework loop, due timers fired by `eiso worker` processes, the inbox and task lists of three people among
    100,000 open and 1,000,000 completed tasks; print tasks/s, latencies (p50/p95/p99) and server CPU."""
    from .bench_http import WORKLOADS, BenchFailed, run

    try:
        counts = tuple(int(c) for c in clients.split(",") if c.strip())
    except ValueError:
        raise click.BadParameter("give whole numbers separated by commas, e.g. 1,8", param_hint="--clients")
    if not counts or min(counts) < 1 or instances < 1 or rounds < 1 or timer_count < 1 or repeat < 1:
        raise click.BadParameter("instances, rounds, timers, repeat and client counts must be at least 1")
    if not 0 < scale <= 100:
        raise click.BadParameter("give a scale above 0 and up to 100, e.g. 0.01 for a quick look",
                                 param_hint="--scale")  # fmt: skip
    try:
        run(create_app, instances=instances, rounds=rounds, timer_count=timer_count,
            workloads=workloads or WORKLOADS, clients=counts, database_url=database_url, url=url, token=token,
            workers=workers, threads=threads, timer_workers=timer_workers, scale=scale, repeat=repeat,
            echo=click.echo)  # fmt: skip
    except BenchFailed as exc:
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
    """The inbox page and /api/v1/tasks for a secretary (1,000 own, 4,000 to claim), a department head
    (76% of the open tasks to claim) and a specialist of their unit (1,000 own, none of the queue to claim)
    among open and completed tasks; prints p50/p95 and sizes."""
    from .bench_lists import run

    try:
        run(create_app, scale, open_tasks, completed, repeat, database_url, echo=click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc))


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """eISO: electronic ISO 9001 quality management for public administration."""
