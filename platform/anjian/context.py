"""The context a service runs in: one immutable object per request or job.

It names the tenant (as the plugin-safe ``TenantInfo``), the actor, their access in
the tenant, the tenant's plugin caller, the clock (China's time) and the request or
job id. The request guard and the job wrapper build it; services take it as an
argument and never read Flask's globals. ``access`` is None for the system (a job,
the CLI): it reaches every enterprise of the tenant scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from anjian.clock import CHINA, utcnow
from anjian.extensions import plugin_registry
from anjian.plugins.views import TenantInfo

if TYPE_CHECKING:
    from anjian.auth.service import Access
    from anjian.plugins.manager import PluginRegistry


class NoContext(RuntimeError):
    """A rule that needs a context was reached without one (it fails closed)."""


@dataclass(frozen=True)
class Context:
    tenant_id: int | None
    user_id: int | None
    access: Access | None = None
    request_id: str | None = None
    job_id: str | None = None
    plugins: PluginRegistry | None = field(default=None, repr=False, compare=False)
    clock: Callable[[], dt.datetime] = field(default=utcnow, repr=False, compare=False)
    # The tenant row (or a TenantInfo) the context was built with; read through ``tenant``.
    source: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def for_request(cls, tenant, user_id: int | None, access: Access | None,
                    request_id: str | None, plugins: PluginRegistry | None = None) -> Context:
        return cls(tenant.id if tenant is not None else None, user_id, access,
                   request_id=request_id, plugins=plugins, source=tenant)

    @classmethod
    def for_job(cls, tenant, user_id: int | None, job_id: str,
                plugins: PluginRegistry | None = None) -> Context:
        """A job acts for the user who asked, as the system (it sees the whole tenant)."""
        return cls(tenant.id, user_id, None, job_id=job_id, plugins=plugins, source=tenant)

    @classmethod
    def for_system(cls, tenant=None, plugins: PluginRegistry | None = None) -> Context:
        """The system's (the CLI, a report's computation): no actor, the whole tenant."""
        return cls(tenant.id if tenant is not None else None, None, None, plugins=plugins,
                   source=tenant)

    @cached_property
    def tenant(self) -> TenantInfo | None:
        """The tenant as plugins see it (built once, on first use)."""
        if self.source is None or isinstance(self.source, TenantInfo):
            return self.source
        return self.registry.tenant_info(self.source)

    @cached_property
    def caller(self):
        """The tenant's plugin hook caller (the registry caches one per tenant version)."""
        if self.tenant is None:
            raise NoContext("no tenant: no plugin caller")
        return self.registry.for_tenant(self.tenant)

    @property
    def registry(self) -> PluginRegistry:
        """The plugins: the context's own, else the current app's."""
        return self.plugins if self.plugins is not None else plugin_registry()

    def policy(self, hook: str, **kwargs):
        """Call one of the tenant's policy hooks (its enabled plugins, then the core
        default); rows are given to the plugins as read-only views."""
        if self.tenant is None:
            raise NoContext(f"no tenant: no policy to ask ({hook})")
        return self.registry.call(self.tenant, hook, **kwargs)

    def catalogue(self, hook: str) -> list:
        """The catalogue entries (campaign kinds, report kinds, ...) of the tenant's
        enabled plugins and the core, from one ``register_*`` hook."""
        if self.tenant is None:
            raise NoContext(f"no tenant: no catalogue ({hook})")
        return self.registry.catalogue_entries(hook, enabled=self.tenant.plugins)

    def now(self) -> dt.datetime:
        """Now, in China's time."""
        return self.clock().astimezone(CHINA)

    def today(self) -> dt.date:
        """Today in China (deadlines are Beijing dates)."""
        return self.now().date()

