"""The offers carry their task's unit, time of receipt and "open and held by nobody", kept by triggers, and
are indexed in the claimable list's order: the list walks a person's offers, not the unit's whole queue

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
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
                                      FROM tasks t WHERE t.id = NEW.task_id), 0)
            WHERE id = NEW.id;
        END""",
        """CREATE TRIGGER IF NOT EXISTS tr_tasks_offers AFTER UPDATE OF state, assignee_id, unit_id ON tasks
        WHEN OLD.state IS NOT NEW.state OR OLD.assignee_id IS NOT NEW.assignee_id OR OLD.unit_id IS NOT NEW.unit_id
        BEGIN
            UPDATE task_candidates SET claimable = (NEW.state = 'open' AND NEW.assignee_id IS NULL),
                unit_id = NEW.unit_id
            WHERE task_id = NEW.id;
        END""",
    ],
    "postgresql": [
        """CREATE OR REPLACE FUNCTION task_candidates_copy() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT t.unit_id, t.created_at, coalesce(t.state = 'open' AND t.assignee_id IS NULL, false)
              INTO NEW.unit_id, NEW.created_at, NEW.claimable FROM tasks t WHERE t.id = NEW.task_id;
            NEW.claimable := coalesce(NEW.claimable, false);
            RETURN NEW;
        END $$""",
        """CREATE OR REPLACE TRIGGER tr_task_candidates_copy BEFORE INSERT ON task_candidates
        FOR EACH ROW EXECUTE FUNCTION task_candidates_copy()""",
        """CREATE OR REPLACE FUNCTION tasks_offers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE task_candidates SET claimable = (NEW.state = 'open' AND NEW.assignee_id IS NULL),
                unit_id = NEW.unit_id
            WHERE task_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE OR REPLACE TRIGGER tr_tasks_offers AFTER UPDATE OF state, assignee_id, unit_id ON tasks
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                           OR OLD.unit_id IS DISTINCT FROM NEW.unit_id)
        EXECUTE FUNCTION tasks_offers()""",
    ],
}
DROPS = {
    "sqlite": ["DROP TRIGGER IF EXISTS tr_tasks_offers", "DROP TRIGGER IF EXISTS tr_task_candidates_copy"],
    "postgresql": ["DROP TRIGGER IF EXISTS tr_tasks_offers ON tasks", "DROP FUNCTION IF EXISTS tasks_offers()",
                   "DROP TRIGGER IF EXISTS tr_task_candidates_copy ON task_candidates",
                   "DROP FUNCTION IF EXISTS task_candidates_copy()"],
}
BACKFILL = """UPDATE task_candidates SET
    unit_id = (SELECT t.unit_id FROM tasks t WHERE t.id = task_candidates.task_id),
    created_at = (SELECT t.created_at FROM tasks t WHERE t.id = task_candidates.task_id),
    claimable = coalesce((SELECT t.state = 'open' AND t.assignee_id IS NULL
                          FROM tasks t WHERE t.id = task_candidates.task_id), {false})"""


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("task_candidates") as batch:
        batch.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claimable", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(BACKFILL.format(false="false" if dialect == "postgresql" else "0"))
    op.create_index("ix_task_candidates_claimable_role", "task_candidates",
                    ["claimable", "unit_id", "role", "created_at", "task_id"])
    op.create_index("ix_task_candidates_claimable_user", "task_candidates",
                    ["claimable", "user_id", "created_at", "task_id"])
    for statement in TRIGGERS.get(dialect, []):
        op.execute(statement)


def downgrade():
    for statement in DROPS.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_index("ix_task_candidates_claimable_user", table_name="task_candidates")
    op.drop_index("ix_task_candidates_claimable_role", table_name="task_candidates")
    with op.batch_alter_table("task_candidates") as batch:
        batch.drop_column("claimable")
        batch.drop_column("created_at")
        batch.drop_column("unit_id")
