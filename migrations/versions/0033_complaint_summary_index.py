"""The complaint register's summary (answered, on time, overdue, satisfaction) read from an index alone, for a
unit and a year of receipt, instead of from every complaint row with its texts

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 13:40:00

"""

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

COLUMNS = ["unit_id", "received_at", "answered_at", "on_time", "due_at", "satisfaction"]


def upgrade():
    op.create_index("ix_complaints_unit_summary", "complaints", COLUMNS)


def downgrade():
    op.drop_index("ix_complaints_unit_summary", table_name="complaints")
