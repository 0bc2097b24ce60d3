"""number sequences: official document numbers and dossier sequence numbers per unit and year

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "number_sequences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_number_sequences_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_sequences")),
        sa.UniqueConstraint("unit_id", "series", "year", name=op.f("uq_number_sequences_unit_id_series_year")),
    )


def downgrade():
    op.drop_table("number_sequences")
