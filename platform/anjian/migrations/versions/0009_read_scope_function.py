"""read scope function: the guard's scope and memberships in one round trip (PostgreSQL)

Revision ID: 0009_read_scope_function
Revises: 0008_task_reminders
Create Date: 2026-12-03 15:40:00.000000
"""
from alembic import op

from anjian.tenancy import rls


revision = '0009_read_scope_function'
down_revision = '0008_task_reminders'
branch_labels = None
depends_on = None


def upgrade():
    rls.create_read_scope_function(op)
    rls.grant_app_role(op)


def downgrade():
    rls.drop_read_scope_function(op)
