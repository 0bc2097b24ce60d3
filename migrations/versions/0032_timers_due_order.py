"""Due timers in the order the sweep takes them: state, due time, then the id that breaks ties, so a worker
takes the oldest free timer from the index alone (no sort of every due timer for each firing)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 12:50:00

"""

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_timers_state_due", table_name="timers")
    op.create_index("ix_timers_state_due", "timers", ["state", "due_at", "id"])


def downgrade():
    op.drop_index("ix_timers_state_due", table_name="timers")
    op.create_index("ix_timers_state_due", "timers", ["state", "due_at"])
