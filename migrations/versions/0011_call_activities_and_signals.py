"""called instances link to their caller; subscriptions also wait for signals

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_instance_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('parent_task_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_process_instances_parent_instance_id'), ['parent_instance_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_process_instances_parent_instance_id_process_instances'),
                                    'process_instances', ['parent_instance_id'], ['id'])

    with op.batch_alter_table('message_subscriptions', schema=None) as batch_op:
        # Every subscription made before signals existed waits for a message.
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='message', nullable=False))
        batch_op.create_index('ix_message_subscriptions_kind_name', ['kind', 'message_name', 'state'], unique=False)


def downgrade():
    with op.batch_alter_table('message_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_message_subscriptions_kind_name')
        batch_op.drop_column('kind')

    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_process_instances_parent_instance_id_process_instances'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_process_instances_parent_instance_id'))
        batch_op.drop_column('parent_task_id')
        batch_op.drop_column('parent_instance_id')
