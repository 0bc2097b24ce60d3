"""task priority and follow-up date, process version tag

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_tag', sa.String(length=100), nullable=True))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        # Tasks created before priorities existed get Camunda's default, 50.
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='50', nullable=False))
        batch_op.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_tasks_follow_up_at'), ['follow_up_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_follow_up_at'))
        batch_op.drop_column('follow_up_at')
        batch_op.drop_column('priority')

    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_column('version_tag')
