"""The ``anjian`` command: Flask's CLI (``anjian db upgrade`` from Flask-Migrate included)
plus tenants, users, tokens, plugins, the working-day calendar, bootstrap and serve."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tomllib
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from gunicorn.app.base import BaseApplication
from sqlalchemy import select

from anjian.app import create_app
from anjian.auth import service as auth_service
from anjian.auth.models import ApiToken, Membership, User
from anjian.clock import utcnow
from anjian.extensions import db, plugin_registry
from anjian.jobs import embedded as embedded_jobs
from anjian.jobs import scheduler
from anjian.jobs import worker as job_worker
from anjian.permissions import TENANT_ROLES
from anjian.plugins import scaffold
from anjian.tenancy import service as tenancy_service
from anjian.tenancy.models import Tenant
from anjian.tenancy.scope import Scope, scoped
from anjian.workdays import service as workdays_service
from anjian.workdays.models import CalendarDay, CalendarYear


def _app_factory():
    """The app the ``anjian`` command runs in, with the command groups below on its
    ``app.cli`` (the CLI is an entry point: it builds the app, not the other way round)."""
    app = create_app()
    init_app(app)
    return app


@click.group(cls=FlaskGroup, create_app=_app_factory, add_default_commands=True,
             load_dotenv=False, set_debug_flag=False)
def main():
    """anjian 安监 — platform administration."""


# The RQ processes (anjian.jobs.worker) hang on the group itself, not on app.cli: no app
# context is pushed around them (each work horse builds its own app) and their --help needs
# no app.
main.add_command(job_worker.worker)
main.add_command(job_worker.scheduler)


def init_app(app) -> None:
    """Put anjian's command groups on ``app.cli`` (tests: ``tests.conftest.cli_runner``)."""
    for group in (tenants, users, tokens, plugins, calendar_group):
        app.cli.add_command(group)
    app.cli.add_command(bootstrap)
    app.cli.add_command(serve)
    app.cli.add_command(scheduler.cli)


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
    folder = folder or Path(current_app.config["ANJIAN_TENANTS_DIR"])
    try:
        report = tenancy_service.sync_folder(folder, plugin_registry(), dry_run=dry_run)
    except tenancy_service.TenantConfigError as exc:
        _fail(f"{exc.source}: {exc.key}: {exc.message}（未做任何修改）")
    for line in report.lines():
        click.echo(line)
    click.echo(("dry run: " if dry_run else "") + ("changed" if report.changed else "no changes"))


@tenants.command("list")
@with_appcontext
def tenants_list():
    """List tenants."""
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
    if len(password) < 10:
        _fail("密码至少 10 个字符")
    if db.session.scalar(select(User.id).where(User.username == username)):
        _fail(f"用户已存在: {username}")
    with scoped(db.session, Scope.platform_scope()):
        user = auth_service.create_user(username, password, display_name, platform_admin)
        db.session.commit()
    click.echo(f"created user {user.username} (id {user.id})")


@users.command("add-member")
@click.argument("username")
@click.argument("tenant_code")
@click.argument("role", type=click.Choice(list(TENANT_ROLES)))
@with_appcontext
def users_add_member(username, tenant_code, role):
    """Give USERNAME a ROLE in TENANT_CODE (or change it)."""
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
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _fail(f"用户不存在: {username}")
    expires = utcnow() + dt.timedelta(days=days) if days else None
    with scoped(db.session, Scope.platform_scope(user.id)):
        _token, secret = auth_service.issue_token(user, name, expires)
        db.session.commit()
    click.echo(secret)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id):
    """Revoke a token by id."""
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
    if db.session.scalar(select(User.id).where(User.is_platform_admin)):
        click.echo("platform admin exists; no new token printed (use `anjian tokens create`).")
        return
    with scoped(db.session, Scope.platform_scope()):
        user = auth_service.create_user(username, None, "平台管理员", platform_admin=True)
        _token, secret = auth_service.issue_token(user, "bootstrap", None)
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
    registry = plugin_registry()
    for name, module in sorted(registry.plugins.items()):
        hooks = sorted(h.name for h in registry.catalogue.get_hookcallers(module) or [])
        click.echo(f"{name}\t{getattr(module, '__file__', '')}\t{', '.join(hooks)}")


@plugins.command("hooks")
def plugins_hooks():
    """List every hook with its signature, kind and what it is for."""
    for line in scaffold.hook_lines():
        click.echo(line)


@plugins.command("new")
@click.argument("name")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Where to write the plugin's folder.")
def plugins_new(name, parent):
    """Write a working plugin skeleton NAME (a package, its entry point and one test)."""
    try:
        folder = scaffold.write_skeleton(name, parent)
    except scaffold.ScaffoldError as exc:
        _fail(str(exc))
    click.echo(f"{folder}: plugin {name} written; `pip install -e {folder}` and run `pytest` there")


# --- the working-day calendar -----------------------------------------------------

@click.group("calendar")
def calendar_group():
    """The holiday calendar (放假安排) that working-day deadlines are counted in."""


def _calendar_actor(username):
    if username is None:
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        _fail(f"用户不存在: {username}")
    return user


def _calendar_errors(exc, entries=None):
    """One line per refused entry, naming it (with its date and name from the file)."""
    for key, messages in exc.errors.items():
        label = key
        if entries is not None and "[" in key:
            kind, _, index = key.partition("[")
            try:
                raw = entries.get(kind, [])[int(index.rstrip("]"))]
            except (ValueError, IndexError, TypeError, AttributeError):
                raw = None
            if isinstance(raw, dict):
                label = f"{key} ({raw.get('date', '')} {raw.get('name', '')})".replace(" )", ")")
            elif raw is not None:
                label = f"{key} ({raw})"
        for message in messages:
            click.echo(f"错误: {label}: {message}", err=True)


@calendar_group.command("seed")
@click.option("--year", "years", type=int, multiple=True,
              help="Only this year (repeatable); default: every year chinese-calendar knows.")
@click.option("--by", "username", default=None, help="Recorded in the audit log as the actor.")
@with_appcontext
def calendar_seed(years, username):
    """Fill the calendar from chinese-calendar (idempotent; years an admin published are kept)."""
    actor = _calendar_actor(username)
    with scoped(db.session, Scope.platform_scope(actor.id if actor else None)):
        try:
            report = workdays_service.seed_from_package(years or None, actor)
        except workdays_service.CalendarError as exc:
            db.session.rollback()
            _calendar_errors(exc)
            sys.exit(2)
        db.session.commit()
    for line in report.lines():
        click.echo(line)
    click.echo(f"recomputed {report.recomputed} provisional deadline(s)")


@calendar_group.command("show")
@click.argument("year", type=int, required=False)
@with_appcontext
def calendar_show(year):
    """Show YEAR's holidays and make-up working days (without YEAR: the published years)."""
    if year is None:
        for row in db.session.scalars(select(CalendarYear).order_by(CalendarYear.year)):
            click.echo(f"{row.year}\t{row.source}\t{row.notice}")
        return
    row = db.session.get(CalendarYear, year)
    if row is None:
        _fail(f"{year} 年放假安排尚未发布（期限按周一至周五暂定计算）")
    click.echo(f"{row.year}\t{row.source}\t{row.notice}")
    for day in db.session.scalars(
            select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)):
        kind = "上班" if day.is_workday else "放假"
        weekday = workdays_service.weekday_zh(day.day)
        click.echo(f"{day.day.isoformat()}\t{weekday}\t{kind}\t{day.name}")
    workdays = workdays_service.workdays_between(dt.date(year, 1, 1), dt.date(year, 12, 31))
    click.echo(f"工作日 {workdays} 天")


def _read_calendar_file(path: Path) -> dict:
    try:
        if path.suffix.lower() == ".toml":
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        elif path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            _fail(f"{path}: 须为 .toml 或 .json 文件")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(f"{path}: 文件格式错误: {exc}")
    if not isinstance(data, dict):
        _fail(f"{path}: 顶层须为对象（notice、holidays、workdays）")
    unknown = set(data) - {"notice", "holidays", "workdays"}
    if unknown:
        _fail(f"{path}: 不允许的字段: {', '.join(sorted(unknown))}")
    for key in ("holidays", "workdays"):
        if not isinstance(data.get(key, []), list):
            _fail(f"{path}: {key} 须为列表")
    return data


@calendar_group.command("set")
@click.argument("year", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "username", default=None, help="Recorded in the audit log as the actor.")
@with_appcontext
def calendar_set(year, file, username):
    """Publish YEAR from FILE (TOML or JSON: notice, holidays and workdays as [{date, name}]);
    recomputes the provisional deadlines reaching into YEAR."""
    data = _read_calendar_file(file)
    actor = _calendar_actor(username)
    with scoped(db.session, Scope.platform_scope(actor.id if actor else None)):
        try:
            recomputed = workdays_service.publish_year(
                year, data.get("holidays", []), data.get("workdays", []),
                data.get("notice", ""), actor)
        except workdays_service.CalendarError as exc:
            db.session.rollback()
            _calendar_errors(exc, data)
            click.echo("未做任何修改", err=True)
            sys.exit(2)
        db.session.commit()
    click.echo(f"published {year}: {len(data.get('holidays', []))} holiday(s), "
               f"{len(data.get('workdays', []))} make-up working day(s); "
               f"recomputed {recomputed} provisional deadline(s)")


# --- serving ------------------------------------------------------------------

@click.command()
@click.option("--port", type=int, default=None, help="Default: ANJIAN_PORT or 8000.")
@click.option("--host", default="127.0.0.1")
@with_appcontext
def serve(port, host):
    """Serve the API with gunicorn (one process, threads: the embedded queue lives in it)."""
    app = current_app._get_current_object()
    port = port or app.config["ANJIAN_PORT"]

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-")
            self.cfg.set("control_socket_disable", True)  # one fixed path per user otherwise
            self.cfg.set("post_worker_init", lambda _worker: embedded_jobs.start_if_enabled(app))

        def load(self):
            return app

    click.echo(f"anjian serving on http://{host}:{port}  (API docs: /api/docs)")
    Server().run()


@click.command("embedded")
@click.option("--port", type=int, default=None, help="Default: ANJIAN_PORT or 8000.")
@click.option("--host", default="127.0.0.1")
@click.pass_context
@with_appcontext
def embedded(ctx, port, host):
    """`make run`: migrate, sync tenants/, make the first admin, serve (embedded PostgreSQL
    under the data folder when ANJIAN_DATABASE_URL is unset; stopped when this exits)."""
    upgrade()
    ctx.invoke(tenants_sync, folder=None, dry_run=False)
    ctx.invoke(bootstrap, username="admin")
    ctx.invoke(serve, port=port, host=host)


main.add_command(embedded)


if __name__ == "__main__":  # python -m anjian.cli, where the anjian script is not at hand
    main()
