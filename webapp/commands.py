"""Operator commands, registered on the app's CLI (``eiso …``)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from engine import (
    PASSWORD,
    PEOPLE,
    SYSTEM_ADMIN,
    SYSTEM_ROLES,
    DeploymentRejected,
    InvalidFields,
    SourceFile,
    Unit,
    User,
    admin,
    grant_system_role,
    load_demo,
    revoke_system_role,
)

from .extensions import deployer, now, sa_session

DEPLOYABLE = (".bpmn", ".form", ".dmn")


def collect_files(paths: list[Path]) -> list[SourceFile]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in DEPLOYABLE))
        else:
            files.append(path)
    return [SourceFile(p.name, p.read_bytes()) for p in files]


def deploy_paths(paths: list[Path], source: str, *, documentation: bool = False, unit_code: str | None = None,
                 summary: str = "") -> None:  # fmt: skip
    admin = sa_session().scalar(select(User).where(User.username == "admin"))
    unit_id = _unit_id(unit_code) if unit_code else None
    try:
        result = deployer().deploy(collect_files(paths), actor=admin, now=now(), source=source, unit_id=unit_id,
                                   as_documentation=documentation, change_summary=summary)  # fmt: skip
    except DeploymentRejected as exc:
        for p in exc.problems:
            where = ":".join(str(x) for x in (p.file, p.line) if x)
            element = f" [{p.element_id}]" if p.element_id else ""
            click.echo(f"  {where}{element}: {p.message}", err=True)
        raise click.ClickException("Deployment refused; nothing was stored.")
    for d in result.definitions:
        kind = "" if d.executable else ", documentation"
        click.echo(f"  deployed {d.key} version {d.version} ({d.name}; {d.status}{kind})")
    for d in result.unchanged:
        click.echo(f"  unchanged {d.key} version {d.version}")
    for w in result.warnings:
        click.echo(f"  warning {w.file} [{w.element_id}]: {w.message}")


def _unit_id(code: str) -> int:
    unit = sa_session().scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise click.ClickException(f"No unit with code '{code}'.")
    return unit.id


@click.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--documentation", is_flag=True, help="Store non-executable diagrams as documentation, never run.")
@click.option("--unit", "unit_code", help="Code of the owning unit: the new versions are drafts for its leader.")
@click.option("--summary", default="", help="What changed, for the reviewer and the people notified.")
@with_appcontext
def deploy_command(paths: tuple[Path, ...], documentation: bool, unit_code: str | None, summary: str) -> None:
    """Deploy .bpmn, .form and .dmn files (or folders of them) as one deployment."""
    deploy_paths(list(paths), source="cli", documentation=documentation, unit_code=unit_code, summary=summary)


@click.group("demo")
def demo_group() -> None:
    """Demo organisation."""


@demo_group.command("load")
@with_appcontext
def demo_load() -> None:
    """Create the demo unit and accounts, and deploy the shipped process library."""
    unit, created = load_demo(sa_session())
    click.echo(("Created" if created else "Kept") + f" demo unit: {unit.name}")
    deploy_paths([current_app.config["EISO_SETTINGS"].bpmn_library], source="library")
    click.echo(f"Demo accounts (password '{PASSWORD}'):")
    for person in PEOPLE:
        click.echo(f"  {person.username:<13} {person.full_name} — {person.title}")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Threads of each server process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Server processes. 1: one waitress process that also runs the background sweeps (SQLite or "
                   "PostgreSQL). 2 or more: gunicorn starts that many, on PostgreSQL only; the sweeps then run "
                   "in `eiso worker` processes.")
@click.option("--scheduler/--no-scheduler", default=None,
              help="Run the background sweeps (timers, reminders, escalation, the outbox) in this process "
                   "(default with one process; never with several).")
@with_appcontext
def run_command(host: str, port: int, threads: int, workers: int, scheduler: bool | None) -> None:
    """Serve the web app: waitress in one process with the scheduler, or gunicorn with --workers N."""
    from .serve import gunicorn_options, is_sqlite, limit_long_polls, serve_with_gunicorn

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if workers > 1:
        if is_sqlite(app.config["EISO_SETTINGS"].database_url):
            raise click.ClickException(
                "Several server processes need PostgreSQL: SQLite lets one process write at a time, so more "
                "processes would only wait for each other. Set EISO_DATABASE_URL=postgresql+psycopg://user:"
                "password@host/db, or run one process (leave out --workers)."
            )
        if scheduler:
            raise click.ClickException(
                "With several server processes the background sweeps run in `eiso worker` processes, not in "
                "the server: leave out --scheduler and start `eiso worker` (one or more)."
            )
        click.echo(f"eISO is serving on http://{host}:{port}/ with {workers} gunicorn processes of {threads} "
                   "threads; run `eiso worker` for the background sweeps (Ctrl+C to stop)")  # fmt: skip
        serve_with_gunicorn(gunicorn_options(host, port, workers, threads), threads)
        return
    import waitress

    from .scheduler import build_scheduler

    limit_long_polls(app, threads)
    if scheduler is not False:
        build_scheduler(app, blocking=False).start()
    click.echo(f"eISO is serving on http://{host}:{port}/  (Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=threads)


@click.command("worker")
@click.option("--interval", default=30, show_default=True, type=int, help="Seconds between sweeps.")
@with_appcontext
def worker_command(interval: int) -> None:
    """Run the background sweeps in this process (with `eiso run --workers N`, or `--no-scheduler`, to scale out)."""
    import logging

    from .scheduler import build_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    for chatty in ("apscheduler", "spiff"):  # not a line per run, skipped run or task: each sweep logs its work
        logging.getLogger(chatty).setLevel(logging.ERROR)
    click.echo(f"eISO worker: sweeping every {interval} s (Ctrl+C to stop)")
    build_scheduler(current_app._get_current_object(), blocking=True, interval=interval).start()  # type: ignore[attr-defined]


@click.group("bench")
def bench_group() -> None:
    """Benchmarks that print figures."""


@bench_group.command("engine")
@click.option("-n", "--instances", default=100, show_default=True, type=int)
def bench_engine(instances: int) -> None:
    """Run a 10-user-task diagram N times with persistence and in plain SpiffWorkflow; print tasks/s."""
    from engine import run_benchmark

    for line in run_benchmark(instances):
        click.echo(line)


@bench_group.command("loops")
@click.option("-n", "--rounds", default=5000, show_default=True, type=int)
def bench_loops(rounds: int) -> None:
    """Go round a rework loop and a timer-driven monitoring loop N times; print ms per round and state size."""
    from engine import run_loop_benchmark

    for line in run_loop_benchmark(rounds):
        click.echo(line)


@bench_group.command("import")
@click.option("-n", "--rows", default=200, show_default=True, type=int)
def bench_import(rows: int) -> None:
    """Check and import a sheet of N people (half with a password, half generated); print seconds per person."""
    from engine import run_import_benchmark

    for line in run_import_benchmark(rows):
        click.echo(line)


@click.group("unit")
def unit_group() -> None:
    """Units and their settings."""


@unit_group.command("direct-deploy")
@click.argument("code")
@click.argument("setting", type=click.Choice(["on", "off"]))
@with_appcontext
def unit_direct_deploy(code: str, setting: str) -> None:
    """Let the unit's administrators deploy new versions without the leader's approval (on), or not (off)."""
    unit = sa_session().get(Unit, _unit_id(code))
    assert unit is not None
    unit.allow_direct_deploy = setting == "on"
    sa_session().commit()
    click.echo(f"{unit.name}: administrators' uploads " + ("go live at once" if setting == "on" else
                                                           "need the unit leader's approval"))  # fmt: skip


@click.group("user")
def user_group() -> None:
    """People and their roles above the units."""


@user_group.command("create")
@click.argument("username")
@click.option("--full-name", required=True, help="The person's full name, as pages and the history show it.")
@click.option("--email", default="", help="Where copies of their notices go.")
@click.option("--system-admin/--no-system-admin", default=True, show_default=True,
              help="Make the account a system administrator (creates units and their administrators).")
@click.password_option(help="The password (asked twice when not given).")
@with_appcontext
def user_create(username: str, full_name: str, email: str, system_admin: bool, password: str) -> None:
    """Create an account above the units, by default the installation's system administrator. Units, their
    people and roles are then set up on the Organisation pages or the /api/v1 organisation API."""
    values = {"username": username, "full_name": full_name, "email": email, "password": password}
    roles = (SYSTEM_ADMIN,) if system_admin else ()
    try:
        person = admin.create_system_account(sa_session(), values, now=now(), system_roles=roles)
    except InvalidFields as error:
        for problem in error.problems:
            click.echo(f"  {problem.field}: {problem.message}", err=True)
        raise click.ClickException("The account was not created.")
    click.echo(f"{person.username}: account created" + (" (system administrator)" if system_admin else ""))


@user_group.command("system-role")
@click.argument("username")
@click.argument("role", type=click.Choice(sorted(SYSTEM_ROLES)))
@click.argument("setting", type=click.Choice(["on", "off"]), default="on")
@with_appcontext
def user_system_role(username: str, role: str, setting: str) -> None:
    """Give a person a role above the units (system_admin: the shared library; province_admin: the
    province calendar), or take it away (off)."""
    session = sa_session()
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"No account '{username}'.")
    if setting == "on":
        grant_system_role(session, user, role)
    else:
        revoke_system_role(session, user, role)
    session.commit()
    click.echo(f"{username}: {role} " + ("granted" if setting == "on" else "removed"))


def register(app: Flask) -> None:
    for command in (deploy_command, demo_group, run_command, worker_command, bench_group, unit_group, user_group):
        app.cli.add_command(command)
