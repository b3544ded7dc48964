"""HTTP conventions shared by every blueprint: errors, pagination, policies, the guard."""
