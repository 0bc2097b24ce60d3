"""dossiers of administrative procedures: code, applicant, status, appointment and timing, rating

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-10 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    moment = sa.DateTime(timezone=True)
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("procedure_code", sa.String(length=60), nullable=False),
        sa.Column("procedure_name", sa.String(length=400), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_phone", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("received_at", moment, nullable=False),
        sa.Column("appointment_at", moment, nullable=True),
        sa.Column("due_at", moment, nullable=True),
        sa.Column("new_appointment_at", moment, nullable=True),
        sa.Column("apology_reason", sa.Text(), nullable=False),
        sa.Column("accepted_at", moment, nullable=True),
        sa.Column("finished_at", moment, nullable=True),
        sa.Column("returned_at", moment, nullable=True),
        sa.Column("closed_at", moment, nullable=True),
        sa.Column("supplements", sa.Integer(), nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("timing", sa.String(length=10), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=False),
        sa.Column("rated_at", moment, nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], name=op.f("fk_dossiers_instance_id_process_instances")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_dossiers_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossiers")),
        sa.UniqueConstraint("code", name=op.f("uq_dossiers_code")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_dossiers_instance_id")),
    )
    op.create_index("ix_dossiers_unit_received", "dossiers", ["unit_id", "received_at"], unique=False)
    op.create_index("ix_dossiers_unit_status", "dossiers", ["unit_id", "status"], unique=False)


def downgrade():
    op.drop_index("ix_dossiers_unit_status", table_name="dossiers")
    op.drop_index("ix_dossiers_unit_received", table_name="dossiers")
    op.drop_table("dossiers")
