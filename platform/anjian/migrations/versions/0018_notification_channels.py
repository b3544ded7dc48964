"""notifications out (issue 21): channels, preferences, the delivery log

Revision ID: 0018_notification_channels
Revises: 0017_access_links
Create Date: 2026-12-07 19:45:00
"""
import os

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0018_notification_channels'
down_revision = '0017_access_links'
branch_labels = None
depends_on = None


# Frozen: this revision imports no application code (tests/test_migrations_frozen.py); the
# SQL it runs is written here. Call _enable_tenant_rls(table) for every new table with a
# tenant_id; every revision ends with _grant_app_role().

def _app_role() -> str:
    """The role the app connects as (ANJIAN_DB_APP_ROLE, default anjian_app)."""
    role = os.environ.get("ANJIAN_DB_APP_ROLE", "anjian_app")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"bad ANJIAN_DB_APP_ROLE: {role!r}")
    return role


def _grant_app_role() -> None:
    """Create the app role if missing (NOLOGIN; operators give it LOGIN) and grant it the
    use of every table and sequence; the audit log it may only read and append to."""
    role = _app_role()
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
        f"END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    op.execute(f"GRANT SELECT ON alembic_version TO {role}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}")


# Row-Level Security. The scope arrives per transaction: app.tenant_ids (readable,
# comma-separated) and app.tenant_id (writable). On a pooled connection a setting reads ''
# after its transaction, hence NULLIF.
READ = "tenant_id = ANY (string_to_array(NULLIF(current_setting('app.tenant_ids', true), ''), ',')::int[])"
WRITE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::int"


def _enable_tenant_rls(table: str, read: str = READ, write: str = WRITE) -> None:
    """RLS, forced, with one policy per command: rows are read in the readable tenants but
    inserted, updated and deleted only in the write tenant (a read-only scope, such as a
    parent's viewer, deletes nothing: one FOR ALL policy would let DELETE through on its
    USING clause alone)."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({read})")
    op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK ({write})")
    op.execute(f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING ({write}) WITH CHECK ({write})")
    op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING ({write})")



def upgrade():
    # A tenant's channels: kind, settings, secrets (used by the senders, never answered in
    # full, redacted in the audit log).
    op.create_table('channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('secrets', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_channels_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_channels_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_channels_tenant_id_name'))
    )
    op.create_index(op.f('ix_channels_tenant_id'), 'channels', ['tenant_id'], unique=False)
    op.create_table('channel_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('audience', sa.String(length=40), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('queued', 'sent', 'retrying', 'failed')", name=op.f('ck_channel_deliveries_status')),
    sa.ForeignKeyConstraint(['tenant_id', 'channel_id'], ['channels.tenant_id', 'channels.id'], name=op.f('fk_channel_deliveries_tenant_id_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_channel_deliveries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_deliveries')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_channel_deliveries_tenant_id_id'))
    )
    op.create_index('ix_channel_deliveries_tenant_created', 'channel_deliveries', ['tenant_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_channel_deliveries_tenant_id'), 'channel_deliveries', ['tenant_id'], unique=False)
    op.create_index('ix_channel_deliveries_tenant_status', 'channel_deliveries', ['tenant_id', 'status'], unique=False)
    op.create_table('channel_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('enterprise_contacts', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("event IN ('major_hazard', 'hazard_rejected', 'task_reminder', 'overdue', 'report_ready', 'job_failed')", name=op.f('ck_channel_rules_event')),
    sa.ForeignKeyConstraint(['tenant_id', 'channel_id'], ['channels.tenant_id', 'channels.id'], name=op.f('fk_channel_rules_tenant_id_channel_id_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_channel_rules_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_channel_rules_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_rules')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_channel_rules_tenant_id_id'))
    )
    op.create_index('ix_channel_rules_tenant_event', 'channel_rules', ['tenant_id', 'event'], unique=False)
    op.create_index(op.f('ix_channel_rules_tenant_id'), 'channel_rules', ['tenant_id'], unique=False)
    op.create_index('ix_channel_rules_tenant_user', 'channel_rules', ['tenant_id', 'user_id'], unique=False)
    for table in ("channels", "channel_deliveries", "channel_rules"):
        _enable_tenant_rls(table)
    _grant_app_role()


def downgrade():
    op.drop_index('ix_channel_rules_tenant_user', table_name='channel_rules')
    op.drop_index(op.f('ix_channel_rules_tenant_id'), table_name='channel_rules')
    op.drop_index('ix_channel_rules_tenant_event', table_name='channel_rules')
    op.drop_table('channel_rules')
    op.drop_index('ix_channel_deliveries_tenant_status', table_name='channel_deliveries')
    op.drop_index(op.f('ix_channel_deliveries_tenant_id'), table_name='channel_deliveries')
    op.drop_index('ix_channel_deliveries_tenant_created', table_name='channel_deliveries')
    op.drop_table('channel_deliveries')
    op.drop_index(op.f('ix_channels_tenant_id'), table_name='channels')
    op.drop_table('channels')

