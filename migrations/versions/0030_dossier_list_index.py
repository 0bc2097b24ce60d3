"""The dossier list in its order: a unit's dossiers newest first, the id breaking ties (keyset pages)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 00:55:00

"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_dossiers_unit_received", table_name="dossiers")
    op.create_index("ix_dossiers_unit_received", "dossiers", ["unit_id", "received_at", "id"])


def downgrade():
    op.drop_index("ix_dossiers_unit_received", table_name="dossiers")
    op.create_index("ix_dossiers_unit_received", "dossiers", ["unit_id", "received_at"])
