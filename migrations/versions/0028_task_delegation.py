"""Task delegation (the owner a delegated task comes back to, the delegation's state) and substitutes on leave

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 21:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delegation_state", sa.String(length=10), nullable=True))
        batch.create_foreign_key("fk_tasks_owner_id_users", "users", ["owner_id"], ["id"])
        batch.create_index("ix_tasks_owner_state", ["owner_id", "state"])
    op.create_table(
        "substitutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("substitute_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["substitute_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["cancelled_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_substitutions_person", "substitutions", ["person_id", "unit_id", "ends_on"])


def downgrade():
    op.drop_index("ix_substitutions_person", table_name="substitutions")
    op.drop_table("substitutions")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("ix_tasks_owner_state")
        batch.drop_constraint("fk_tasks_owner_id_users", type_="foreignkey")
        batch.drop_column("delegation_state")
        batch.drop_column("owner_id")
