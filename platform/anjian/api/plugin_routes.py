"""The API routes plugins add (hook ``register_routes``), under their tenant's prefix.

Each plugin's routes are one blueprint, ``plugin_<plugin>``, mounted at
``/api/v1/tenants/<tenant_code>/plugins/<plugin>/``: the URL map and the OpenAPI
document hold them like the core's routes, so the request guard resolves the
tenant, checks the declared roles (``requires``) and sets the scope before the
plugin's view runs, and the isolation matrix walks them. A route's answer is
documented as ``PluginAnswer`` (any JSON object) and a write's body as
``PluginBody`` unless the route names marshmallow schemas of its own
(``response``, ``body``). A tenant that has not enabled the plugin answers 404,
as for a route that does not exist. The view gets plain values (``TenantInfo``,
the query string, the JSON body) and returns the answer's JSON; a write is
committed when the view returns.
"""

from __future__ import annotations

import inspect

import marshmallow as ma
from flask import Flask, current_app, request

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.policy import READ_METHODS, requires
from anjian.api.problems import problem
from anjian.errors import PluginError
from anjian.extensions import db
from anjian.plugins.catalogue import Route, checked

PREFIX = "/api/v1/tenants/<tenant_code>/plugins"
HOOK = "register_routes"  # a catalogue hook, read once: routes are fixed when the app is made


class PluginAnswer(ma.Schema):
    """What a plugin's route answers: a JSON object of the plugin's own making."""

    class Meta:
        unknown = ma.INCLUDE


class PluginBody(ma.Schema):
    """The JSON object a plugin's write route takes (checked by the plugin)."""

    class Meta:
        unknown = ma.INCLUDE


def blueprint_name(plugin: str) -> str:
    return f"plugin_{plugin}"


def _arguments(view) -> set[str] | None:
    """The keyword arguments a view accepts (None: any, it takes ``**kwargs``)."""
    parameters = inspect.signature(view).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _view(blp: Blueprint, plugin: str, route: Route):
    accepted = _arguments(route.view)
    writing = bool(set(route.methods) - READ_METHODS)

    def answer(tenant_code, body=None, **path):
        tenant = request_context().tenant
        if plugin not in tenant.plugins:
            problem(404, "接口不存在")
        given = {"tenant": tenant, "query": request.args.to_dict(),
                 "body": body, **path}
        if accepted is not None:
            given = {k: v for k, v in given.items() if k in accepted}
        result = route.view(**given)
        if request.method not in READ_METHODS:
            db.session.commit()
        return current_app.json.response(result)

    if writing:
        def view(body, tenant_code, **path):
            return answer(tenant_code, body if request.method not in READ_METHODS else None,
                          **path)
    else:
        def view(tenant_code, **path):
            return answer(tenant_code, **path)

    view.__name__ = route.name
    view.__doc__ = route.summary or route.view.__doc__ or f"插件 {plugin} 的接口 {route.name}"
    try:
        view = requires(*route.roles)(view)
    except ValueError as exc:
        raise PluginError(f"插件 {plugin} 的接口 {route.name!r} 无效 / invalid route of plugin "
                          f"{plugin}: {route.name!r}, field roles: {exc}") from exc
    view = blp.response(200, route.response or PluginAnswer)(view)
    if writing:
        view = blp.arguments(route.body or PluginBody)(view)
    return view


def register(app: Flask, api, registry) -> list[str]:
    """Mount every loaded plugin's routes on ``api`` (the app's flask-smorest Api); returns
    the endpoints."""
    endpoints = []
    for impl in registry.catalogue.hook.register_routes.get_hookimpls():
        plugin = registry.catalogue.get_name(impl.plugin)
        routes = [checked(plugin, HOOK, entry) for entry in impl.function() or ()]
        if not routes:
            continue
        blp = Blueprint(blueprint_name(plugin), __name__, url_prefix=f"{PREFIX}/{plugin}",
                        description=f"插件 {plugin} 的接口")
        seen = set()
        for route in routes:
            if route.name in seen:
                raise PluginError(f"插件 {plugin} 的接口名称重复 / duplicate route name of plugin "
                                  f"{plugin}: {route.name!r}")
            seen.add(route.name)
            blp.route(f"/{route.rule}", endpoint=route.name,
                      methods=list(route.methods))(_view(blp, plugin, route))
            endpoints.append(f"{blp.name}.{route.name}")
        api.register_blueprint(blp)
    return endpoints
