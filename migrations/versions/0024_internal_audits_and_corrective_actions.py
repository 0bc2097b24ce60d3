"""internal audits and corrective actions: audit programmes, rounds, department audits, findings;
nonconformities with their corrective actions

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-09 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('objectives', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('expected_time', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_audit_programmes_approved_by_id_users')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_audit_programmes_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_audit_programmes_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_programmes')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_audit_programmes_instance_id'))
    )
    with op.batch_alter_table('audit_programmes', schema=None) as batch_op:
        batch_op.create_index('ix_audit_programmes_unit_year', ['unit_id', 'year'], unique=False)

    op.create_table('audit_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('procedure', sa.Text(), nullable=False),
    sa.Column('checklist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('conclusion', sa.Text(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('concluded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['concluded_by_id'], ['users.id'], name=op.f('fk_audit_rounds_concluded_by_id_users')),
    sa.ForeignKeyConstraint(['programme_id'], ['audit_programmes.id'], name=op.f('fk_audit_rounds_programme_id_audit_programmes')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_audit_rounds_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_rounds'))
    )
    with op.batch_alter_table('audit_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_rounds_programme_id'), ['programme_id'], unique=False)

    op.create_table('audit_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('auditor_id', sa.Integer(), nullable=False),
    sa.Column('audit_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('checklist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('audited_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['auditor_id'], ['users.id'], name=op.f('fk_audit_assignments_auditor_id_users')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_audit_assignments_department_id_departments')),
    sa.ForeignKeyConstraint(['round_id'], ['audit_rounds.id'], name=op.f('fk_audit_assignments_round_id_audit_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_assignments'))
    )
    with op.batch_alter_table('audit_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_assignments_round_id'), ['round_id'], unique=False)

    op.create_table('audit_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('clause', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['audit_assignments.id'], name=op.f('fk_audit_findings_assignment_id_audit_assignments')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_audit_findings_department_id_departments')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_audit_findings_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['round_id'], ['audit_rounds.id'], name=op.f('fk_audit_findings_round_id_audit_rounds')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_audit_findings_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_findings'))
    )
    with op.batch_alter_table('audit_findings', schema=None) as batch_op:
        batch_op.create_index('ix_audit_findings_department', ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_findings_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_findings_round_id'), ['round_id'], unique=False)
        batch_op.create_index('ix_audit_findings_unit_status', ['unit_id', 'status'], unique=False)
        batch_op.create_index('ix_audit_findings_unit_year', ['unit_id', 'year'], unique=False)

    op.create_table('corrective_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('finding_code', sa.String(length=40), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('requirement', sa.String(length=300), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=True),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('correction', sa.Text(), nullable=False),
    sa.Column('corrected_on', sa.Date(), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('cause_method', sa.String(length=40), nullable=False),
    sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('implementation', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('implemented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verification', sa.String(length=16), nullable=False),
    sa.Column('verification_note', sa.Text(), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_corrective_actions_department_id_departments')),
    sa.ForeignKeyConstraint(['finding_id'], ['audit_findings.id'], name=op.f('fk_corrective_actions_finding_id_audit_findings')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_corrective_actions_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_corrective_actions_owner_id_users')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_corrective_actions_reported_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_corrective_actions_unit_id_units')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_corrective_actions_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrective_actions')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_corrective_actions_instance_id'))
    )
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.create_index('ix_corrective_actions_department', ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_actions_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_actions_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index('ix_corrective_actions_unit_status', ['unit_id', 'status'], unique=False)
        batch_op.create_index('ix_corrective_actions_unit_year', ['unit_id', 'year'], unique=False)



def downgrade():
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_corrective_actions_unit_year')
        batch_op.drop_index('ix_corrective_actions_unit_status')
        batch_op.drop_index(batch_op.f('ix_corrective_actions_finding_id'))
        batch_op.drop_index(batch_op.f('ix_corrective_actions_due_on'))
        batch_op.drop_index('ix_corrective_actions_department')

    op.drop_table('corrective_actions')
    with op.batch_alter_table('audit_findings', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_findings_unit_year')
        batch_op.drop_index('ix_audit_findings_unit_status')
        batch_op.drop_index(batch_op.f('ix_audit_findings_round_id'))
        batch_op.drop_index(batch_op.f('ix_audit_findings_instance_id'))
        batch_op.drop_index('ix_audit_findings_department')

    op.drop_table('audit_findings')
    with op.batch_alter_table('audit_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_assignments_round_id'))

    op.drop_table('audit_assignments')
    with op.batch_alter_table('audit_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_rounds_programme_id'))

    op.drop_table('audit_rounds')
    with op.batch_alter_table('audit_programmes', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_programmes_unit_year')

    op.drop_table('audit_programmes')
