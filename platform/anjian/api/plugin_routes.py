"""The API routes plugins add (hook ``register_routes``), under their tenant's prefix.

Each plugin's routes are one blueprint, ``plugin_<plugin>``, mounted at
``/api/v1/tenants/<tenant_code>/plugins/<plugin>/``: the URL map holds them like
the core's routes, so the request guard resolves the tenant, checks the declared
roles (``requires``) and sets the scope before the plugin's view runs, and the
isolation matrix walks them. A tenant that has not enabled the plugin answers 404,
as for a route that does not exist. The view gets plain values (``TenantInfo``,
the query string, the JSON body) and returns the answer's JSON; a write is
committed when the view returns.
"""

from __future__ import annotations

import inspect

from flask import Blueprint, Flask, current_app, g, request

from anjian.api.policy import READ_METHODS, requires
from anjian.api.problems import problem
from anjian.extensions import db
from anjian.plugins import PluginError
from anjian.plugins.catalogue import Route, checked
from anjian.tenancy.service import tenant_info

PREFIX = "/api/v1/tenants/<tenant_code>/plugins"
HOOK = "register_routes"  # a catalogue hook, read once: routes are fixed when the app is made


def blueprint_name(plugin: str) -> str:
    return f"plugin_{plugin}"


def _arguments(view) -> set[str] | None:
    """The keyword arguments a view accepts (None: any, it takes ``**kwargs``)."""
    parameters = inspect.signature(view).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _view(plugin: str, route: Route):
    accepted = _arguments(route.view)

    def view(tenant_code, **path):
        tenant = g.tenant
        if plugin not in (tenant.plugins or ()):
            problem(404, "接口不存在")
        writing = request.method not in READ_METHODS
        given = {"tenant": tenant_info(tenant), "query": request.args.to_dict(),
                 "body": request.get_json(silent=True) if writing else None, **path}
        if accepted is not None:
            given = {k: v for k, v in given.items() if k in accepted}
        result = route.view(**given)
        if writing:
            db.session.commit()
        return current_app.json.response(result)

    view.__name__ = route.name
    view.__doc__ = route.summary or route.view.__doc__
    try:
        return requires(*route.roles)(view)
    except ValueError as exc:
        raise PluginError(f"插件 {plugin} 的接口 {route.name!r} 无效 / invalid route of plugin "
                          f"{plugin}: {route.name!r}, field roles: {exc}") from exc


def register(app: Flask, registry) -> list[str]:
    """Mount every loaded plugin's routes on ``app``; returns the endpoints."""
    endpoints = []
    for impl in registry.catalogue.hook.register_routes.get_hookimpls():
        plugin = registry.catalogue.get_name(impl.plugin)
        routes = [checked(plugin, HOOK, entry) for entry in impl.function() or ()]
        if not routes:
            continue
        blp = Blueprint(blueprint_name(plugin), __name__, url_prefix=f"{PREFIX}/{plugin}")
        seen = set()
        for route in routes:
            if route.name in seen:
                raise PluginError(f"插件 {plugin} 的接口名称重复 / duplicate route name of plugin "
                                  f"{plugin}: {route.name!r}")
            seen.add(route.name)
            blp.add_url_rule(f"/{route.rule}", route.name, _view(plugin, route),
                             methods=list(route.methods))
            endpoints.append(f"{blp.name}.{route.name}")
        app.register_blueprint(blp)
    return endpoints
