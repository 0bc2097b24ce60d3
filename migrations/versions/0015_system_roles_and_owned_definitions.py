"""roles above the units; deployments, forms and decisions owned by a unit or the shared library

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 15:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

def upgrade():
    op.create_table(
        "system_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_system_roles_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_roles")),
        sa.UniqueConstraint("user_id", "role", name=op.f("uq_system_roles_user_id_role")),
    )
    with op.batch_alter_table("system_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_system_roles_user_id"), ["user_id"], unique=False)
    # Nobody gets a role above the units by the upgrade: a unit's administrator is not the system's.
    # Grant them with `eiso user system-role USERNAME system_admin|province_admin`.
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_deployments_unit_id_units"), "units", ["unit_id"], ["id"])
    for table in ("form_definitions", "decision_definitions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_unit_id_units"), "units", ["unit_id"], ["id"])
            batch_op.create_index(batch_op.f(f"ix_{table}_unit_id"), ["unit_id"], unique=False)
    # A deployment belongs to the unit of the processes it holds (none: the shared library).
    op.execute(
        "UPDATE deployments SET unit_id = (SELECT MIN(p.unit_id) FROM process_definitions p "
        "WHERE p.deployment_id = deployments.id)"
    )
    for table in ("form_definitions", "decision_definitions"):
        op.execute(f"UPDATE {table} SET unit_id = (SELECT d.unit_id FROM deployments d WHERE d.id = {table}.deployment_id)")


def downgrade():
    for table in ("form_definitions", "decision_definitions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_unit_id"))
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_unit_id_units"), type_="foreignkey")
            batch_op.drop_column("unit_id")
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_deployments_unit_id_units"), type_="foreignkey")
        batch_op.drop_column("unit_id")
    with op.batch_alter_table("system_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_roles_user_id"))
    op.drop_table("system_roles")
