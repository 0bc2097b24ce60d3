"""quality policy register, progress of the quality objectives; one set of objectives in force per year

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-10 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "quality_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("decision_number", sa.String(length=100), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_quality_policies_instance_id_process_instances")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_quality_policies_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_policies")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_quality_policies_instance_id")),
    )
    with op.batch_alter_table("quality_policies", schema=None) as batch_op:
        batch_op.create_index("ix_quality_policies_unit_status", ["unit_id", "status"], unique=False)

    op.create_table(
        "objective_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("evaluation", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_objective_progress_department_id_departments")),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"],
                                name=op.f("fk_objective_progress_instance_id_process_instances")),
        sa.ForeignKeyConstraint(["objective_id"], ["quality_objectives.id"],
                                name=op.f("fk_objective_progress_objective_id_quality_objectives")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_objective_progress_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_progress")),
    )
    with op.batch_alter_table("objective_progress", schema=None) as batch_op:
        batch_op.create_index("ix_objective_progress_unit_year", ["unit_id", "year"], unique=False)
        batch_op.create_index(batch_op.f("ix_objective_progress_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objective_progress_objective_id"), ["objective_id"], unique=False)

    # Publishing one year's objectives used to supersede every other year's: each year's latest set is in force.
    op.execute(
        """
        UPDATE objective_sets SET status = 'current'
        WHERE id IN (SELECT max(s.id) FROM objective_sets s GROUP BY s.unit_id, s.year)
        """
    )


def downgrade():
    op.execute(
        """
        UPDATE objective_sets SET status = 'superseded'
        WHERE status = 'current' AND id NOT IN (SELECT max(s.id) FROM objective_sets s GROUP BY s.unit_id)
        """
    )
    with op.batch_alter_table("objective_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objective_progress_objective_id"))
        batch_op.drop_index(batch_op.f("ix_objective_progress_instance_id"))
        batch_op.drop_index("ix_objective_progress_unit_year")
    op.drop_table("objective_progress")
    with op.batch_alter_table("quality_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_quality_policies_unit_status")
    op.drop_table("quality_policies")
