"""organisation administration: units' electronic code and province, closed departments, each account's
unit and a first-log-in password change, and the organisation's audit log

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("electronic_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("province", sa.String(length=40), server_default="", nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_units_electronic_code"), ["electronic_code"])
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_users_unit_id_units"), "units", ["unit_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_users_unit_id"), ["unit_id"], unique=False)
    # An account belongs to its department's unit, else to the (first) unit it holds a role in; accounts
    # with neither stay above the units (system administrators manage them).
    op.execute("UPDATE users SET unit_id = (SELECT d.unit_id FROM departments d WHERE d.id = users.department_id) "
               "WHERE department_id IS NOT NULL")
    op.execute("UPDATE users SET unit_id = (SELECT MIN(r.unit_id) FROM role_assignments r "
               "WHERE r.user_id = users.id) WHERE unit_id IS NULL")
    op.create_table(
        "audit_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=300), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", ID, nullable=True),
        sa.Column("subject_name", sa.String(length=300), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_entries_actor_id_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_audit_entries_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_unit_id_id", "audit_entries", ["unit_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_audit_entries_unit_id_id", table_name="audit_entries")
    op.drop_table("audit_entries")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_unit_id"))
        batch_op.drop_constraint(batch_op.f("fk_users_unit_id_units"), type_="foreignkey")
        batch_op.drop_column("unit_id")
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_column("is_active")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_units_electronic_code"), type_="unique")
        batch_op.drop_column("province")
        batch_op.drop_column("electronic_code")
