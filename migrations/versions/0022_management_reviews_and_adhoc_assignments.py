"""management reviews (decisions, actions, department reports) and ad hoc assignments with their parts

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 17:58:11.809446

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "adhoc_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name=op.f("fk_adhoc_assignments_assigned_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_adhoc_assignments_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_adhoc_assignments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adhoc_assignments")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_adhoc_assignments_instance_id")),
    )
    with op.batch_alter_table("adhoc_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_adhoc_assignments_unit_year", ["unit_id", "year", "status"], unique=False)

    op.create_table(
        "management_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("notice_number", sa.String(length=100), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column(
            "topics", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("notice_text", sa.Text(), nullable=False),
        sa.Column(
            "inputs", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("meeting_conclusion", sa.Text(), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("concluded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_management_reviews_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_management_reviews_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_management_reviews_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_management_reviews")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_management_reviews_instance_id")),
    )
    with op.batch_alter_table("management_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_management_reviews_unit_year", ["unit_id", "year", "status"], unique=False)

    op.create_table(
        "adhoc_assignment_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("return_reason", sa.Text(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["adhoc_assignments.id"],
            name=op.f("fk_adhoc_assignment_parts_assignment_id_adhoc_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_adhoc_assignment_parts_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_adhoc_assignment_parts_handler_id_users")),
        sa.ForeignKeyConstraint(
            ["reported_by_id"], ["users.id"], name=op.f("fk_adhoc_assignment_parts_reported_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adhoc_assignment_parts")),
    )
    with op.batch_alter_table("adhoc_assignment_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adhoc_assignment_parts_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index("ix_adhoc_assignment_parts_department", ["department_id", "status"], unique=False)

    op.create_table(
        "review_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_department_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_department_id"], ["departments.id"], name=op.f("fk_review_actions_owner_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name=op.f("fk_review_actions_owner_user_id_users")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["management_reviews.id"], name=op.f("fk_review_actions_review_id_management_reviews")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_review_actions_unit_id_units")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_review_actions_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_actions")),
    )
    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_actions_review_id"), ["review_id"], unique=False)
        batch_op.create_index("ix_review_actions_unit_status", ["unit_id", "status", "due_date"], unique=False)

    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["management_reviews.id"], name=op.f("fk_review_decisions_review_id_management_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decisions_review_id"), ["review_id"], unique=False)

    op.create_table(
        "review_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("department_name", sa.String(length=300), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "items", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("proposals", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_review_reports_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["reported_by_id"], ["users.id"], name=op.f("fk_review_reports_reported_by_id_users")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["management_reviews.id"], name=op.f("fk_review_reports_review_id_management_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reports")),
    )
    with op.batch_alter_table("review_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_reports_review_id"), ["review_id"], unique=False)


def downgrade():
    with op.batch_alter_table("review_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_reports_review_id"))

    op.drop_table("review_reports")
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decisions_review_id"))

    op.drop_table("review_decisions")
    with op.batch_alter_table("review_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_review_actions_unit_status")
        batch_op.drop_index(batch_op.f("ix_review_actions_review_id"))

    op.drop_table("review_actions")
    with op.batch_alter_table("adhoc_assignment_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_adhoc_assignment_parts_department")
        batch_op.drop_index(batch_op.f("ix_adhoc_assignment_parts_assignment_id"))

    op.drop_table("adhoc_assignment_parts")
    with op.batch_alter_table("management_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_management_reviews_unit_year")

    op.drop_table("management_reviews")
    with op.batch_alter_table("adhoc_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_adhoc_assignments_unit_year")

    op.drop_table("adhoc_assignments")
