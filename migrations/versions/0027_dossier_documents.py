"""dossiers: the applicant's address, the documents received, the reasons of a supplement request, refusal or stop, the result's number

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 21:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("applicant_address", sa.String(length=300), server_default="", nullable=False))
        batch.add_column(sa.Column("documents", JSON, nullable=True))
        batch.add_column(sa.Column("supplement_request", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("refusal_reason", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("stop_reason", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("supplement_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("result_number", sa.String(length=60), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("result_number")
        batch.drop_column("supplement_requested_at")
        batch.drop_column("stop_reason")
        batch.drop_column("refusal_reason")
        batch.drop_column("supplement_request")
        batch.drop_column("documents")
        batch.drop_column("applicant_address")
