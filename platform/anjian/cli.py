"""The ``anjian`` command: Flask's CLI (``anjian db upgrade`` from Flask-Migrate included)
plus tenants, users, tokens, plugins, bootstrap and serve."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from anjian.extensions import db


def _app_factory():
    from anjian.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_default_commands=True,
             load_dotenv=False, set_debug_flag=False)
def main():
    """anjian 安监 — platform administration."""


def init_app(app) -> None:
    for group in (tenants, users, tokens, plugins):
        app.cli.add_command(group)
    app.cli.add_command(bootstrap)
    app.cli.add_command(serve)


def _fail(message: str):
    click.echo(f"错误: {message}", err=True)
    sys.exit(2)


# --- tenants ------------------------------------------------------------------

@click.group()
def tenants():
    """Tenants (jurisdictions)."""


@tenants.command("sync")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), required=False)
@click.option("--dry-run", is_flag=True, help="Validate and report, write nothing.")
@with_appcontext
def tenants_sync(folder, dry_run):
    """Create or update tenants from FOLDER/*.toml (all validated before any is written)."""
    from anjian.tenancy import service

    folder = folder or Path(current_app.config["ANJIAN_TENANTS_DIR"])
    try:
        report = service.sync_folder(folder, service.registry(), dry_run=dry_run)
    except service.TenantConfigError as exc:
        _fail(f"{exc.source}: {exc.key}: {exc.message}（未做任何修改）")
    for line in report.lines():
        click.echo(line)
    click.echo(("dry run: " if dry_run else "") + ("changed" if report.changed else "no changes"))


@tenants.command("list")
@with_appcontext
def tenants_list():
    """List tenants."""
    from anjian.tenancy.models import Tenant

    for t in db.session.scalars(select(Tenant).order_by(Tenant.code)):
        click.echo(f"{t.code}\t{t.level}\t{t.name}\t{','.join(t.plugins)}")


# --- users and tokens ---------------------------------------------------------

@click.group()
def users():
    """Users and memberships."""


@users.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="ANJIAN_NEW_PASSWORD", help="Or set ANJIAN_NEW_PASSWORD.")
@click.option("--display-name", default="")
@click.option("--platform-admin", is_flag=True)
@with_appcontext
def users_create(username, password, display_name, platform_admin):
    """Create a user."""
    from anjian.auth import service
    from anjian.auth.models import User
    from anjian.tenancy.scope import Scope, scoped

    if len(password) < 10:
        _fail("密码至少 10 个字符")
    if db.session.scalar(select(User.id).where(User.username == username)):
        _fail(f"用户已存在: {username}")
    with scoped(db.session, Scope.platform_scope()):
        user = service.create_user(username, password, display_name, platform_admin)
        db.session.commit()
    click.echo(f"created user {user.username} (id {user.id})")


@users.command("add-member")
@click.argument("username")
@click.argument("tenant_code")
@click.argument("role", type=click.Choice(["tenant_admin", "supervisor", "service_org",
                                           "enterprise", "viewer"]))
@with_appcontext
def users_add_member(username, tenant_code, role):
    """Give USERNAME a ROLE in TENANT_CODE (or change it)."""
    from anjian.auth.models import Membership, User
    from anjian.tenancy.models import Tenant
    from anjian.tenancy.scope import Scope, scoped

    user = db.session.scalar(select(User).where(User.username == username))
    tenant = db.session.scalar(select(Tenant).where(Tenant.code == tenant_code))
    if user is None:
        _fail(f"用户不存在: {username}")
    if tenant is None:
        _fail(f"租户不存在: {tenant_code}")
    with scoped(db.session, Scope.tenant(tenant.id)):
        member = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        if member is None:
            db.session.add(Membership(user_id=user.id, role=role))
        else:
            member.role = role
        db.session.commit()
    click.echo(f"{username} is {role} in {tenant_code}")


@click.group()
def tokens():
    """API tokens."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="cli")
@click.option("--days", type=int, default=90, help="Lifetime in days; 0 for no expiry.")
@with_appcontext
def tokens_create(username, name, days):
    """Create an API token for USERNAME and print it (shown once)."""
    from anjian.auth import service
    from anjian.auth.models import User
    from anjian.db import utcnow
    from anjian.tenancy.scope import Scope, scoped

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _fail(f"用户不存在: {username}")
    expires = utcnow() + dt.timedelta(days=days) if days else None
    with scoped(db.session, Scope.platform_scope(user.id)):
        _token, secret = service.issue_token(user, name, expires)
        db.session.commit()
    click.echo(secret)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id):
    """Revoke a token by id."""
    from anjian.auth.models import ApiToken
    from anjian.db import utcnow
    from anjian.tenancy.scope import Scope, scoped

    token = db.session.get(ApiToken, token_id)
    if token is None:
        _fail(f"令牌不存在: {token_id}")
    with scoped(db.session, Scope.platform_scope()):
        token.revoked_at = token.revoked_at or utcnow()
        db.session.commit()
    click.echo(f"revoked token {token_id}")


@click.command()
@click.option("--username", default="admin")
@with_appcontext
def bootstrap(username):
    """Create the first platform admin and print its token, once; later runs print nothing new."""
    from anjian.auth import service
    from anjian.auth.models import User
    from anjian.tenancy.scope import Scope, scoped

    if db.session.scalar(select(User.id).where(User.is_platform_admin)):
        click.echo("platform admin exists; no new token printed (use `anjian tokens create`).")
        return
    with scoped(db.session, Scope.platform_scope()):
        user = service.create_user(username, None, "平台管理员", platform_admin=True)
        _token, secret = service.issue_token(user, "bootstrap", None)
        db.session.commit()
    click.echo(f"platform admin '{username}' created. API token (shown once, keep it safe):")
    click.echo(f"  {secret}")


# --- plugins ------------------------------------------------------------------

@click.group()
def plugins():
    """Installed plugins."""


@plugins.command("list")
@with_appcontext
def plugins_list():
    """List loaded plugins and what they offer."""
    registry = current_app.extensions["anjian.plugins"]
    for name, module in sorted(registry.plugins.items()):
        hooks = sorted(h.name for h in registry.catalogue.get_hookcallers(module) or [])
        click.echo(f"{name}\t{getattr(module, '__file__', '')}\t{', '.join(hooks)}")


# --- serving ------------------------------------------------------------------

@click.command()
@click.option("--port", type=int, default=None, help="Default: ANJIAN_PORT or 8000.")
@click.option("--host", default="127.0.0.1")
@with_appcontext
def serve(port, host):
    """Serve the API with gunicorn (one process, threads: the embedded queue lives in it)."""
    from gunicorn.app.base import BaseApplication

    app = current_app._get_current_object()
    port = port or app.config["ANJIAN_PORT"]

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")

        def load(self):
            return app

    click.echo(f"anjian serving on http://{host}:{port}  (API docs: /api/docs)")
    Server().run()
