"""Who may call each endpoint: every view declares it, the guard enforces it.

``requires("supervisor", "tenant_admin")`` on a tenant route lets those roles in
(reads and writes; a read-only access never writes). Special names:
``public`` (no token), ``authenticated`` (any valid token), ``platform_admin``.
A route without a declared policy is refused, and a test lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

from anjian.auth.models import TENANT_ROLES

PUBLIC = "public"
AUTHENTICATED = "authenticated"
PLATFORM_ADMIN = "platform_admin"
ALL_TENANT_ROLES = tuple(TENANT_ROLES)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Policy:
    roles: frozenset[str]

    @property
    def public(self) -> bool:
        return PUBLIC in self.roles


def requires(*roles: str):
    unknown = set(roles) - {PUBLIC, AUTHENTICATED, PLATFORM_ADMIN, *TENANT_ROLES}
    if unknown or not roles:
        raise ValueError(f"unknown roles in policy: {unknown or 'none given'}")

    def decorator(view):
        view._anjian_policy = Policy(frozenset(roles))
        return view

    return decorator


def policy_of(view) -> Policy | None:
    return getattr(view, "_anjian_policy", None)


# Endpoints registered by libraries rather than by us, with their policy.
LIBRARY_ENDPOINTS = {
    "static": Policy(frozenset({PUBLIC})),
    "api-docs.openapi_json": Policy(frozenset({PUBLIC})),
    "api-docs.openapi_swagger_ui": Policy(frozenset({PUBLIC})),
}
