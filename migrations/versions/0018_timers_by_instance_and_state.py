"""timers read by instance and state: a long-running loop's step no longer reads every timer it fired

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 18:05:00

"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timers_instance_id"))
        batch_op.create_index("ix_timers_instance_state", ["instance_id", "state"], unique=False)


def downgrade():
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index("ix_timers_instance_state")
        batch_op.create_index(batch_op.f("ix_timers_instance_id"), ["instance_id"], unique=False)
