"""Users, memberships (a role in a tenant), API tokens, and who may call what."""
