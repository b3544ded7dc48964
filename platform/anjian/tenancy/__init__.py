"""Tenants (jurisdictions), their areas, and the scoping that keeps them apart."""
