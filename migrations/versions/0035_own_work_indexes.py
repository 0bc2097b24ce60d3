"""The offers carry their task's instance and "their task is open" too, and a person's own work is indexed
(the instances they started, the tasks they hold, completed or handed on): the instance lists of someone who
sees only their own work in a unit read it from there instead of walking the unit's every instance

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 02:20:00

"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

# the statements as the models hold them on the day of this revision (engine/runtime/models.py)
TRIGGERS = {
    "sqlite": [
        """CREATE TRIGGER IF NOT EXISTS tr_task_candidates_copy AFTER INSERT ON task_candidates BEGIN
            UPDATE task_candidates SET
                unit_id = (SELECT t.unit_id FROM tasks t WHERE t.id = NEW.task_id),
                created_at = (SELECT t.created_at FROM tasks t WHERE t.id = NEW.task_id),
                claimable = coalesce((SELECT t.state = 'open' AND t.assignee_id IS NULL
                                      FROM tasks t WHERE t.id = NEW.task_id), 0),
                task_open = coalesce((SELECT t.state = 'open' FROM tasks t WHERE t.id = NEW.task_id), 0),
                instance_id = (SELECT t.instance_id FROM tasks t WHERE t.id = NEW.task_id)
            WHERE id = NEW.id;
        END""",
        """CREATE TRIGGER IF NOT EXISTS tr_tasks_offers AFTER UPDATE OF state, assignee_id, unit_id ON tasks
        WHEN OLD.state IS NOT NEW.state OR OLD.assignee_id IS NOT NEW.assignee_id OR OLD.unit_id IS NOT NEW.unit_id
        BEGIN
            UPDATE task_candidates SET claimable = (NEW.state = 'open' AND NEW.assignee_id IS NULL),
                task_open = (NEW.state = 'open'), unit_id = NEW.unit_id
            WHERE task_id = NEW.id;
        END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION task_candidates_copy() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT t.unit_id, t.created_at, coalesce(t.state = 'open' AND t.assignee_id IS NULL, false),
                   coalesce(t.state = 'open', false), t.instance_id
              INTO NEW.unit_id, NEW.created_at, NEW.claimable, NEW.task_open, NEW.instance_id
              FROM tasks t WHERE t.id = NEW.task_id;
            NEW.claimable := coalesce(NEW.claimable, false);
            NEW.task_open := coalesce(NEW.task_open, false);
            RETURN NEW;
        END $$""",
        """CREATE OR REPLACE TRIGGER tr_task_candidates_copy BEFORE INSERT ON task_candidates
        FOR EACH ROW EXECUTE FUNCTION task_candidates_copy()""",
        """CREATE OR REPLACE FUNCTION tasks_offers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE task_candidates SET claimable = (NEW.state = 'open' AND NEW.assignee_id IS NULL),
                task_open = (NEW.state = 'open'), unit_id = NEW.unit_id
            WHERE task_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE OR REPLACE TRIGGER tr_tasks_offers AFTER UPDATE OF state, assignee_id, unit_id ON tasks
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                           OR OLD.unit_id IS DISTINCT FROM NEW.unit_id)
        EXECUTE FUNCTION tasks_offers()""",
    ],
}
SQLITE_DROPS = ["DROP TRIGGER IF EXISTS tr_tasks_offers", "DROP TRIGGER IF EXISTS tr_task_candidates_copy"]
BACKFILL = """UPDATE task_candidates SET
    task_open = coalesce((SELECT t.state = 'open' FROM tasks t WHERE t.id = task_candidates.task_id), {false}),
    instance_id = (SELECT t.instance_id FROM tasks t WHERE t.id = task_candidates.task_id)"""


def _old_triggers():
    """Revision 0034's own statements, for the way back (read from its file: a revision never changes)."""
    spec = importlib.util.spec_from_file_location("revision_0034", Path(__file__).with_name("0034_offer_copies.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TRIGGERS


def _drop_sqlite_triggers():
    # before any change of task_candidates on SQLite: a rebuild of the table fails while a trigger names it
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DROPS:
            op.execute(statement)


def _create_triggers(statements):
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    _drop_sqlite_triggers()
    op.add_column("task_candidates", sa.Column("task_open", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("task_candidates", sa.Column("instance_id", sa.Integer(), nullable=True))
    _create_triggers(TRIGGERS)
    op.execute(BACKFILL.format(false="false" if dialect == "postgresql" else "0"))
    op.create_index("ix_task_candidates_open_role", "task_candidates", ["task_open", "unit_id", "role", "instance_id"])
    op.create_index("ix_task_candidates_open_user", "task_candidates", ["task_open", "user_id", "instance_id"])
    op.create_index("ix_task_candidates_instance", "task_candidates",
                    ["instance_id", "task_open", "unit_id", "role", "user_id"])
    for name, column in (("ix_tasks_completed_by", "completed_by_id"), ("ix_tasks_owner_work", "owner_id"),
                         ("ix_tasks_assignee_work", "assignee_id")):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "tasks", [column, "instance_id"], sqlite_where=where, postgresql_where=where)
    op.create_index("ix_process_instances_started_by", "process_instances", ["started_by_id", "id"])


def downgrade():
    op.drop_index("ix_process_instances_started_by", table_name="process_instances")
    op.drop_index("ix_tasks_assignee_work", table_name="tasks")
    op.drop_index("ix_tasks_owner_work", table_name="tasks")
    op.drop_index("ix_tasks_completed_by", table_name="tasks")
    op.drop_index("ix_task_candidates_instance", table_name="task_candidates")
    op.drop_index("ix_task_candidates_open_user", table_name="task_candidates")
    op.drop_index("ix_task_candidates_open_role", table_name="task_candidates")
    old = _old_triggers()
    _drop_sqlite_triggers()
    _create_triggers({"postgresql": old["postgresql"]})  # before the column goes: they name it no more
    with op.batch_alter_table("task_candidates") as batch:
        batch.drop_column("instance_id")
        batch.drop_column("task_open")
    _create_triggers({"sqlite": old["sqlite"]})
