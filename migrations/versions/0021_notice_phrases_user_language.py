"""notices keep their words as phrases; people keep the language they chose

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "texts", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True))


def downgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("texts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")
