"""Indexes in the order the lists show: the inbox lists (open tasks by holder, then received or by priority and due date; who a task is offered to, read from the index alone), a person's
notices (newest first) and a unit's instances (newest first)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 23:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_tasks_list", "tasks", ["state", "assignee_id", "created_at", "id", "unit_id"])
    op.create_index("ix_tasks_list_priority", "tasks", ["state", "assignee_id", sa.text("priority DESC"),
                                                       sa.text("(due_at IS NULL)"), "due_at", "created_at", "id",
                                                       "unit_id"])
    op.create_index("ix_task_candidates_offer", "task_candidates", ["task_id", "role", "user_id"])
    op.create_index("ix_notices_user_created", "notices", ["user_id", "created_at", "id"])
    op.create_index("ix_process_instances_unit_started", "process_instances", ["unit_id", "started_at", "id"])
    if op.get_bind().dialect.name == "postgresql":  # the claimable lists' estimate (engine/runtime/models.py)
        op.execute("CREATE STATISTICS IF NOT EXISTS st_tasks_state_assignee (mcv) ON state, assignee_id FROM tasks")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_tasks_state_assignee")
    op.drop_index("ix_process_instances_unit_started", table_name="process_instances")
    op.drop_index("ix_notices_user_created", table_name="notices")
    op.drop_index("ix_task_candidates_offer", table_name="task_candidates")
    op.drop_index("ix_tasks_list_priority", table_name="tasks")
    op.drop_index("ix_tasks_list", table_name="tasks")
