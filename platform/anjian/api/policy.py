"""Who may call each endpoint: every view declares an action, the guard enforces it.

``requires("hazard.verify")`` on a route lets in the roles that ``anjian.permissions``
allows that action (reads and writes; a read-only access never writes). Special
names: ``public`` (no token), ``authenticated`` (any valid token), ``platform_admin``.
A route without a declared policy is refused, and a test lists them.

A plugin's route (and a test's) may still name its roles: ``requires("tenant_admin",
"supervisor")``.
"""

from __future__ import annotations

from dataclasses import dataclass

from anjian.permissions import ACTIONS, AUTHENTICATED, PLATFORM_ADMIN, PUBLIC, TENANT_ROLES

ALL_TENANT_ROLES = tuple(TENANT_ROLES)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Policy:
    roles: frozenset[str]
    action: str | None = None  # the permission it was read from (None: roles named)

    @property
    def public(self) -> bool:
        return PUBLIC in self.roles


def policy_for(action: str) -> Policy:
    return Policy(ACTIONS[action], action)


def requires(*names: str):
    """``requires(action)``: the roles come from the permission table; or, for a plugin's
    or a test's route, ``requires(*roles)``."""
    if len(names) == 1 and names[0] in ACTIONS:
        policy = policy_for(names[0])
    else:
        unknown = set(names) - {PUBLIC, AUTHENTICATED, PLATFORM_ADMIN, *TENANT_ROLES}
        if unknown or not names:
            raise ValueError(f"unknown action or roles in policy: {unknown or 'none given'}")
        policy = Policy(frozenset(names))

    def decorator(view):
        view._anjian_policy = policy
        return view

    return decorator


def policy_of(view) -> Policy | None:
    return getattr(view, "_anjian_policy", None)


# Endpoints registered by libraries rather than by us, with their policy.
LIBRARY_ENDPOINTS = {
    "static": policy_for("docs.read"),
    "api-docs.openapi_json": policy_for("docs.read"),
    "api-docs.openapi_swagger_ui": policy_for("docs.read"),
}
