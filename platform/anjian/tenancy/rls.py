"""PostgreSQL Row-Level Security: what the running application needs to know of it.

The policies, FORCE ROW LEVEL SECURITY and the app role's grants are created by the
migrations, written out as SQL in each revision that needs them (revisions are frozen:
they import no application code). tests/test_rls.py reads the catalogue and fails when a
table with ``tenant_id`` lacks FORCE ROW LEVEL SECURITY or a policy per command.

The scope arrives per transaction (see ``scope._apply_to_connection``):
``app.tenant_ids`` (readable, comma-separated), ``app.tenant_id`` (writable),
``app.user_id`` and ``app.platform``. After a transaction the settings read ''
on a pooled connection, hence NULLIF in every policy.
"""

from __future__ import annotations

# The request guard's function, created by revision 0009_read_scope_function:
# ``anjian_read_scope(tenant, user)`` gives the transaction the read-only scope of that
# tenant naming that user, then returns the user's memberships read under it (RLS
# applying), so the guard needs one round trip.
READ_SCOPE_FUNCTION = "anjian_read_scope"
