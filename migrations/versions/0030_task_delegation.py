"""Task delegation: the owner a delegated task comes back to, and the delegation's state

Revision ID: 0030
Revises: 0026
Create Date: 2026-12-05 21:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delegation_state", sa.String(length=10), nullable=True))
        batch.create_foreign_key("fk_tasks_owner_id_users", "users", ["owner_id"], ["id"])
        batch.create_index("ix_tasks_owner_state", ["owner_id", "state"])


def downgrade():
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_owner_state")
        batch.drop_constraint("fk_tasks_owner_id_users", type_="foreignkey")
        batch.drop_column("delegation_state")
        batch.drop_column("owner_id")
