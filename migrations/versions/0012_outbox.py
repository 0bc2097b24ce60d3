"""outbox of messages for other systems; notice mails move there from the notices

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 15:00:00.000000

"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
MAIL_MAX_AGE = timedelta(days=3)  # notices older than this were never mailed, and are not now
OLD_MAX_ATTEMPTS = 5

notices = sa.table('notices', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                   sa.column('unit_id', sa.Integer), sa.column('title', sa.String), sa.column('body', sa.Text),
                   sa.column('link', sa.String), sa.column('created_at', sa.DateTime(timezone=True)),
                   sa.column('emailed_at', sa.DateTime(timezone=True)), sa.column('email_attempts', sa.Integer))
users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String),
                 sa.column('full_name', sa.String), sa.column('is_active', sa.Boolean))
outbox = sa.table('outbox_messages', sa.column('unit_id', sa.Integer), sa.column('channel', sa.String),
                  sa.column('idempotency_key', sa.String), sa.column('payload', JSON), sa.column('state', sa.String),
                  sa.column('attempts', sa.Integer), sa.column('next_attempt_at', sa.DateTime(timezone=True)),
                  sa.column('last_error', sa.Text), sa.column('created_at', sa.DateTime(timezone=True)),
                  sa.column('expires_at', sa.DateTime(timezone=True)))


def upgrade():
    op.create_table(
        'outbox_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.Column('idempotency_key', sa.String(length=200), nullable=False),
        sa.Column('payload', JSON, nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_outbox_messages_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
        sa.UniqueConstraint('channel', 'idempotency_key', name=op.f('uq_outbox_messages_channel_idempotency_key')),
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_messages_unit_state', ['unit_id', 'state'], unique=False)

    _queue_unmailed_notices()

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_column('email_attempts')
        batch_op.drop_column('emailed_at')


def _queue_unmailed_notices():
    """Notices still waiting for their mail get it from the outbox, with the attempts they had."""
    now = datetime.now(UTC)
    waiting = (
        sa.select(notices, users.c.email, users.c.full_name)
        .join(users, users.c.id == notices.c.user_id)
        .where(notices.c.emailed_at.is_(None), notices.c.email_attempts < OLD_MAX_ATTEMPTS,
               notices.c.created_at >= now - MAIL_MAX_AGE, users.c.email != '', users.c.is_active.is_(True))
    )
    rows = [{
        'unit_id': n.unit_id, 'channel': 'email', 'idempotency_key': f'notice-{n.id}', 'state': 'pending',
        'payload': {'notice_id': n.id, 'to': n.email, 'to_name': n.full_name, 'title': n.title, 'body': n.body,
                    'link': n.link},
        'attempts': n.email_attempts, 'next_attempt_at': now, 'last_error': '', 'created_at': n.created_at,
        'expires_at': n.created_at + MAIL_MAX_AGE,
    } for n in op.get_bind().execute(waiting)]
    if rows:
        op.bulk_insert(outbox, rows)


def downgrade():
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('email_attempts', sa.Integer(), server_default='0', nullable=False))
    # Every notice counts as mailed except those whose mail is still waiting in the outbox.
    bind = op.get_bind()
    bind.execute(sa.update(notices).values(emailed_at=notices.c.created_at))
    pending = sa.select(outbox.c.idempotency_key, outbox.c.attempts).where(
        outbox.c.channel == 'email', outbox.c.state.in_(['pending', 'sending']))
    for key, attempts in bind.execute(pending).all():
        if key.startswith('notice-') and key[7:].isdigit():
            bind.execute(sa.update(notices).where(notices.c.id == int(key[7:]))
                         .values(emailed_at=None, email_attempts=min(attempts, OLD_MAX_ATTEMPTS - 1)))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_unit_state')
        batch_op.drop_index('ix_outbox_messages_due')
    op.drop_table('outbox_messages')
