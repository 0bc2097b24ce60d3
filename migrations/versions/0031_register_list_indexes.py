"""The ISO registers in their list order (keyset pages): each list's unit first, then its sort columns and the
id that breaks ties; a unit's running instances in id order (the Camunda REST list)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 02:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# (index, table, columns before, columns after): an index that gains the id, or a new one (before: None)
INDEXES = [
    ("ix_risks_unit_priority", "risks", None, ["unit_id", "priority", sa.text("(-score)"), "id"]),
    ("ix_complaints_unit_received", "complaints", ["unit_id", "received_at"], ["unit_id", "received_at", "id"]),
    ("ix_document_issues_unit_issued", "document_issues", ["unit_id", "issued_on"], ["unit_id", "issued_on", "id"]),
    ("ix_management_reviews_unit_list", "management_reviews", None, ["unit_id", "year", "id"]),
    ("ix_review_actions_unit_due", "review_actions", None,
     ["unit_id", sa.text("(due_date IS NULL)"), "due_date", "id"]),
    ("ix_adhoc_assignments_unit_assigned", "adhoc_assignments", None, ["unit_id", "assigned_at", "id"]),
    ("ix_audit_programmes_unit_year", "audit_programmes", ["unit_id", "year"], ["unit_id", "year", "id"]),
    ("ix_audit_findings_unit_year", "audit_findings", ["unit_id", "year"], ["unit_id", "year", "id"]),
    ("ix_corrective_actions_unit_year", "corrective_actions", ["unit_id", "year"], ["unit_id", "year", "id"]),
    # the running instances of a unit in id order: GET /engine-rest/process-instance
    ("ix_process_instances_unit_status", "process_instances", ["unit_id", "status"], ["unit_id", "status", "id"]),
]


def upgrade():
    for name, table, before, after in INDEXES:
        if before is not None:
            op.drop_index(name, table_name=table)
        op.create_index(name, table, after)


def downgrade():
    for name, table, before, _after in reversed(INDEXES):
        op.drop_index(name, table_name=table)
        if before is not None:
            op.create_index(name, table, before)
