"""ISO registers: risks, controlled documents, complaints and feedback

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-09 09:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "controlled_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_controlled_documents_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_controlled_documents_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_controlled_documents")),
        sa.UniqueConstraint("unit_id", "code", name=op.f("uq_controlled_documents_unit_id_code")),
    )
    with op.batch_alter_table("controlled_documents", schema=None) as batch_op:
        batch_op.create_index("ix_controlled_documents_unit_department", ["unit_id", "department_id"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("complainant", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("dossier_code", sa.String(length=60), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("answer_days", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finding", sa.String(length=12), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", sa.String(length=16), nullable=False),
        sa.Column("satisfaction_note", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_complaints_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_complaints_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"], name=op.f("fk_complaints_received_by_id_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_complaints_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_complaints_instance_id")),
        sa.UniqueConstraint("unit_id", "code", name=op.f("uq_complaints_unit_id_code")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_unit_department", ["unit_id", "department_id"], unique=False)
        batch_op.create_index("ix_complaints_unit_received", ["unit_id", "received_at"], unique=False)
        batch_op.create_index("ix_complaints_unit_status", ["unit_id", "status"], unique=False)

    op.create_table(
        "document_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("change_type", sa.String(length=8), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=False),
        sa.Column("changed_sections", JSON, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("decision_number", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("sections", JSON, nullable=False),
        sa.Column("files", JSON, nullable=False),
        sa.Column("distribution", JSON, nullable=False),
        sa.Column("drafted_by", sa.String(length=200), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["controlled_documents.id"],
            name=op.f("fk_document_issues_document_id_controlled_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_document_issues_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_document_issues_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_issues")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_document_issues_document_id_number")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_document_issues_instance_id")),
    )
    with op.batch_alter_table("document_issues", schema=None) as batch_op:
        batch_op.create_index("ix_document_issues_unit_issued", ["unit_id", "issued_on"], unique=False)
        batch_op.create_index("ix_document_issues_unit_status", ["unit_id", "status"], unique=False)

    op.create_table(
        "risk_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("objectives", sa.Text(), nullable=False),
        sa.Column("methods", JSON, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("monitoring_interval", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_rounds", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_risk_assessments_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_risk_assessments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessments")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_risk_assessments_instance_id")),
    )
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.create_index("ix_risk_assessments_unit_status", ["unit_id", "status"], unique=False)
        batch_op.create_index("ix_risk_assessments_unit_year", ["unit_id", "year"], unique=False)

    op.create_table(
        "risks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("activity", sa.String(length=300), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("consequence", sa.Text(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("treatment_required", sa.Boolean(), nullable=False),
        sa.Column("treatment", sa.String(length=12), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("action_status", sa.String(length=12), nullable=False),
        sa.Column("effectiveness", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("identified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["risk_assessments.id"], name=op.f("fk_risks_assessment_id_risk_assessments")
        ),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], name=op.f("fk_risks_department_id_departments")),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["process_instances.id"], name=op.f("fk_risks_instance_id_process_instances")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_risks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
        sa.UniqueConstraint("unit_id", "code", name=op.f("uq_risks_unit_id_code")),
    )
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risks_assessment_id"), ["assessment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_risks_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index("ix_risks_unit_department", ["unit_id", "department_id"], unique=False)
        batch_op.create_index("ix_risks_unit_level", ["unit_id", "level"], unique=False)
        batch_op.create_index("ix_risks_unit_status", ["unit_id", "status"], unique=False)

    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("action_status", sa.String(length=12), nullable=False),
        sa.Column("effectiveness", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_risk_reviews_reviewer_id_users")),
        sa.ForeignKeyConstraint(["risk_id"], ["risks.id"], name=op.f("fk_risk_reviews_risk_id_risks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reviews")),
        sa.UniqueConstraint("risk_id", "round", name=op.f("uq_risk_reviews_risk_id_round")),
    )


def downgrade():
    op.drop_table("risk_reviews")
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_unit_status")
        batch_op.drop_index("ix_risks_unit_level")
        batch_op.drop_index("ix_risks_unit_department")
        batch_op.drop_index(batch_op.f("ix_risks_instance_id"))
        batch_op.drop_index(batch_op.f("ix_risks_assessment_id"))

    op.drop_table("risks")
    with op.batch_alter_table("risk_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_assessments_unit_year")
        batch_op.drop_index("ix_risk_assessments_unit_status")

    op.drop_table("risk_assessments")
    with op.batch_alter_table("document_issues", schema=None) as batch_op:
        batch_op.drop_index("ix_document_issues_unit_status")
        batch_op.drop_index("ix_document_issues_unit_issued")

    op.drop_table("document_issues")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_unit_status")
        batch_op.drop_index("ix_complaints_unit_received")
        batch_op.drop_index("ix_complaints_unit_department")

    op.drop_table("complaints")
    with op.batch_alter_table("controlled_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_controlled_documents_unit_department")

    op.drop_table("controlled_documents")
