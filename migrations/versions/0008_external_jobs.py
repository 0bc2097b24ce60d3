"""external jobs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 06:25:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "external_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("job_type", sa.String(length=200), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("locked_by", sa.String(length=200), nullable=True),
        sa.Column("lock_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_external_jobs_instance_id_process_instances")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_jobs")),
    )
    with op.batch_alter_table("external_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_external_jobs_topic_state", ["job_type", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_external_jobs_instance_id"), ["instance_id"], unique=False)


def downgrade():
    with op.batch_alter_table("external_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_jobs_instance_id"))
        batch_op.drop_index("ix_external_jobs_topic_state")
    op.drop_table("external_jobs")
