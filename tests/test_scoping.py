"""The ORM scoping layer alone (RELIABILITY 2, 3, 5, 6).

On PostgreSQL the session here is bound to the superuser, whom RLS does not
bind: whatever is hidden below is hidden by ``anjian.tenancy.scope`` alone.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, delete, exists, func, insert, select, text, update
from sqlalchemy.orm import Session, aliased, foreign, joinedload, relationship, selectinload

from anjian.audit.models import AuditEntry
from anjian.auth.models import Membership
from anjian.tenancy.models import Area, Tenant
from anjian.tenancy.scope import Scope, TenantScopeError, scoped

RAW = {"tenant_scoped_sql": True}


def _test_relationship():
    """A view-only Tenant -> Area relationship, so that relationship loads can be tested
    before the app has one of its own (added once per process; nothing serialises it)."""
    mapper = Tenant.__mapper__
    if "_test_areas" not in mapper.relationships:
        mapper.add_property("_test_areas", relationship(
            Area, primaryjoin=Tenant.id == foreign(Area.tenant_id), viewonly=True,
            lazy="select", order_by=Area.id))
    return "_test_areas"


@pytest.fixture
def world(app, factory):
    a = factory.tenant("sa")
    b = factory.tenant("sb")
    a1 = factory.area(a, "a1")
    a2 = factory.area(a, "a2", kind="village", parent_id=a1)
    b1 = factory.area(b, "b1")
    b2 = factory.area(b, "b2", kind="village", parent_id=b1)
    alice, _ = factory.user("s-alice", {a: "tenant_admin", b: "viewer"})
    bob, _ = factory.user("s-bob", {b: "tenant_admin"})
    return dict(a=a, b=b, a1=a1, a2=a2, b1=b1, b2=b2, alice=alice, bob=bob)


@pytest.fixture
def session(app, database, world):
    """A session on which only the ORM layer scopes (as the owner, a superuser: no RLS)."""

    with app.app_context():
        engine = create_engine(database.admin_url)
        with Session(engine) as s:
            # Precondition: below the ORM, nothing hides B's rows from this session.
            with scoped(s, Scope.tenant(world["a"])):
                every = s.execute(text("SELECT tenant_id FROM areas"),
                                  execution_options=RAW).scalars().all()
            assert set(every) == {world["a"], world["b"]}
            s.rollback()
            yield s
            s.rollback()
        engine.dispose()


def ids(rows):
    return {r.id for r in rows}


def b_rows_unchanged(s, world):
    with scoped(s, Scope.tenant(world["b"])):
        rows = s.scalars(select(Area).order_by(Area.id)).all()
        s.expire_all()
        return [(r.id, r.tenant_id, r.code, r.name, r.is_active) for r in rows]


# --- no scope fails closed -----------------------------------------------------

def test_no_scope_raises(session, world):
    with pytest.raises(TenantScopeError):
        session.execute(select(Area)).all()
    with pytest.raises(TenantScopeError):
        session.get(Area, world["a1"])
    with pytest.raises(TenantScopeError):
        session.execute(select(Membership.id)).all()
    with pytest.raises(TenantScopeError):
        session.execute(update(Area).values(name="x"))
    with pytest.raises(TenantScopeError):
        session.execute(delete(Area))
    # A tenant-owned join from a platform entity yields nothing rather than everything.
    joined = session.scalars(select(Tenant).join(Area, Area.tenant_id == Tenant.id)).all()
    assert joined == []
    # Platform tables still answer.
    assert {t.id for t in session.scalars(select(Tenant))} >= {world["a"], world["b"]}


# --- reads in scope A ------------------------------------------------------------

def test_get_of_foreign_id_is_none(session, world):
    with scoped(session, Scope.tenant(world["a"])):
        assert session.get(Area, world["b1"]) is None
        assert session.get(Area, world["a1"]).tenant_id == world["a"]
    # Also when B's row is already in the identity map from an earlier scope
    # (a job looping over tenants on one session): get() must not answer from it.
    with scoped(session, Scope.tenant(world["b"])):
        row_b = session.get(Area, world["b1"])
        assert row_b is not None
        with scoped(session, Scope.tenant(world["a"])):
            assert session.get(Area, world["b1"]) is None
            assert session.get(Area, world["b1"], populate_existing=True) is None
        assert session.get(Area, world["b1"]).name == row_b.name


def test_selects_joins_subqueries_and_aggregates_are_scoped(session, world):
    a, b = world["a"], world["b"]
    with scoped(session, Scope.tenant(a)):
        assert ids(session.scalars(select(Area))) == {world["a1"], world["a2"]}
        # A join from Tenant to Area returns only A's areas, even when asking for all tenants.
        rows = session.execute(
            select(Tenant.id, Area.id).join(Area, Area.tenant_id == Tenant.id)).all()
        assert {r[1] for r in rows} == {world["a1"], world["a2"]}
        assert {r[0] for r in rows} == {a}
        outer = session.execute(select(Tenant.id, Area.id).outerjoin(
            Area, Area.tenant_id == Tenant.id).where(Tenant.id == b)).all()
        assert outer == [(b, None)]
        # Self-join through aliased(): neither side leaks.
        parent = aliased(Area)
        pairs = session.execute(select(Area.id, parent.id).join(
            parent, parent.id == Area.parent_id)).all()
        assert pairs == [(world["a2"], world["a1"])]
        cross = session.execute(select(Area.id, parent.id).join(
            parent, parent.tenant_id != Area.tenant_id)).all()
        assert cross == []
        # Aggregates, subqueries, EXISTS, UNION, CTE.
        assert session.scalar(select(func.count()).select_from(Area)) == 2
        assert session.scalar(select(func.count(Area.id))) == 2
        assert session.scalars(select(Tenant.id).where(
            Tenant.id.in_(select(Area.tenant_id)))).all() == [a]
        assert session.scalars(select(Tenant.id).where(
            exists().where(Area.tenant_id == Tenant.id))).all() == [a]
        assert {r[0] for r in session.execute(
            select(Area.id).union_all(select(Area.id).where(Area.tenant_id == b)))} == {
            world["a1"], world["a2"]}
        cte = select(Area.id).cte()
        assert {r[0] for r in session.execute(select(cte.c.id))} == {world["a1"], world["a2"]}
        # Explicitly asking for B's rows finds nothing.
        assert session.scalars(select(Area).where(Area.tenant_id == b)).all() == []


def test_one_statement_object_run_in_alternating_scopes(session, world):
    """A statement built once and run again and again (the guard's) is scoped once per
    scope it runs in, and kept for the last: run alternately for A, for B, and with no
    scope, each run sees its own scope's rows, never the kept scope of the run before."""
    from anjian.tenancy import scope as mechanism

    a, b = world["a"], world["b"]
    statement = select(Area).order_by(Area.id)
    mine = {a: {world["a1"], world["a2"]}, b: {world["b1"], world["b2"]}}
    for tenant in (a, b, b, a, b):
        with scoped(session, Scope.tenant(tenant)):
            assert ids(session.scalars(statement)) == mine[tenant]
    with pytest.raises(TenantScopeError):
        session.scalars(statement).all()  # no scope: refused, not answered from a kept one
    with scoped(session, Scope.tenant(a)):
        assert ids(session.scalars(statement)) == mine[a]
        kept = mechanism._scoped(statement, Scope.tenant(a))
        assert mechanism._scoped(statement, Scope.tenant(a)) is kept
        assert mechanism._scoped(statement, Scope.tenant(b)) is not kept


def test_criteria_for_the_classes_a_statement_reaches_render_as_criteria_for_all(session,
                                                                              world):
    """Each statement gets criteria only for the tenant classes it reaches (one walk of
    the statement, widened along relationships); the SQL must be exactly what the
    criteria of every tenant class give. (The whole suite was also run once with this
    comparison on every scoped statement: 58,185 statements, none differed.)"""
    from sqlalchemy.dialects import postgresql

    from anjian.tenancy import scope as mechanism

    name = _test_relationship()
    parent = aliased(Area)
    cte = select(Area.id).cte()
    statements = [
        select(Area),
        select(Tenant.id, Area.id).join(Area, Area.tenant_id == Tenant.id),
        select(Tenant.id, Area.id).outerjoin(Area, Area.tenant_id == Tenant.id),
        select(Tenant.code).join(Area),  # the join target and its inferred onclause only
        select(Area.id, parent.id).join(parent, parent.id == Area.parent_id),
        select(func.count()).select_from(Area),
        select(func.count(Area.id)),
        select(Tenant.id).where(Tenant.id.in_(select(Area.tenant_id))),
        select(Tenant.id).where(exists().where(Area.tenant_id == Tenant.id)),
        select(Area.id).union_all(select(Membership.id)),
        select(cte.c.id),
        select(Tenant).options(joinedload(getattr(Tenant, name))),  # an eager join
        select(Tenant).options(selectinload(getattr(Tenant, name))),
        select(Tenant.id, AuditEntry.id).outerjoin(AuditEntry,
                                                   AuditEntry.tenant_id == Tenant.id),
        select(Membership).where(Membership.user_id == 1),
        select(func.count()).select_from(select(Area).order_by(None).subquery()),
        select(Area, func.count().over()).limit(5),
    ]
    for scope in (Scope.tenant(world["a"], 7), Scope(frozenset({1, 2}), None, 3), None):
        full = tuple(mechanism._criterion(scope, cls) for cls in mechanism.tenant_classes())
        for statement in statements:
            classes, aliases = mechanism._statement_entities(statement)
            restricted = mechanism._scope_options(statement, scope)
            assert len(restricted) == len(classes) + len(aliases)
            dialect = postgresql.dialect()
            want = str(statement.options(*full, *restricted[len(classes):])
                       .compile(dialect=dialect))
            got = str(statement.options(*restricted).compile(dialect=dialect))
            assert got == want, f"{statement}\n--- restricted:\n{got}\n--- all:\n{want}"
    # and it does restrict: a statement of platform tables only carries no criterion
    # (Tenant would: the relationship added above reaches Area)
    from anjian.auth.models import User

    assert mechanism._scope_options(select(User.username), Scope.tenant(world["a"])) == ()
    assert len(mechanism._scope_options(select(Tenant.code), Scope.tenant(world["a"]))) == 1


def test_relationship_loads_are_scoped(session, world):
    name = _test_relationship()
    a, b = world["a"], world["b"]
    with scoped(session, Scope.tenant(a)):
        tenant_b = session.get(Tenant, b)  # a platform row: visible
        assert getattr(tenant_b, name) == []  # lazy load
        tenant_a = session.get(Tenant, a)
        assert ids(getattr(tenant_a, name)) == {world["a1"], world["a2"]}
        session.expire_all()
        for loader in (selectinload, joinedload):
            tenants = session.scalars(
                select(Tenant).options(loader(getattr(Tenant, name)))
                .where(Tenant.id.in_([a, b])).execution_options(populate_existing=True)
            ).unique().all()
            by_id = {t.id: ids(getattr(t, name)) for t in tenants}
            assert by_id == {a: {world["a1"], world["a2"]}, b: set()}, loader


def test_deferred_and_expired_loads_of_a_row_outside_the_scope_find_nothing(session, world):
    from sqlalchemy.orm import defer
    from sqlalchemy.orm.exc import ObjectDeletedError

    with scoped(session, Scope.tenant(world["b"])):
        row = session.scalars(select(Area).options(defer(Area.name))
                              .where(Area.id == world["b1"])).one()
        row.code = "changed"  # a pending change keeps it in the session
        with scoped(session, Scope.tenant(world["a"])), session.no_autoflush:
            with pytest.raises(ObjectDeletedError):
                _ = row.name  # the deferred column load is scoped
        session.rollback()
    with scoped(session, Scope.tenant(world["b"])):
        row = session.get(Area, world["b1"])
        row.code = "changed"
        session.expire(row, ["name"])
        with scoped(session, Scope.tenant(world["a"])), session.no_autoflush:
            with pytest.raises(ObjectDeletedError):
                _ = row.name  # the expired attribute's refresh is scoped
        session.rollback()
        assert session.get(Area, world["b1"]).name  # and visible again in its own scope


# --- writes in scope A ------------------------------------------------------------

def test_bulk_update_and_delete_touch_only_own_rows(session, world):
    a = world["a"]
    before_b = b_rows_unchanged(session, world)
    with scoped(session, Scope.tenant(a)):
        result = session.execute(update(Area).values(name="renamed"))
        assert result.rowcount == 2
        result = session.execute(update(Area).where(Area.id == world["b1"]).values(name="x"))
        assert result.rowcount == 0
        session.execute(update(Area).where(Area.parent_id.is_not(None)).values(parent_id=None))
        result = session.execute(delete(Area))
        assert result.rowcount == 2
        session.commit()
    assert b_rows_unchanged(session, world) == before_b
    with scoped(session, Scope.tenant(a)):
        assert session.scalars(select(Area)).all() == []


def test_bulk_writes_that_would_cross_are_refused(session, world):
    a, b = world["a"], world["b"]
    before_b = b_rows_unchanged(session, world)
    with scoped(session, Scope.tenant(a)):
        with pytest.raises(TenantScopeError):  # moving rows by a bulk UPDATE
            session.execute(update(Area).values(tenant_id=b))
        session.rollback()
        with pytest.raises(TenantScopeError):  # bulk UPDATE by primary key skips criteria
            session.execute(update(Area), [{"id": world["b1"], "name": "hacked"}])
        session.rollback()
        with pytest.raises(TenantScopeError):  # ORM INSERT with B's tenant_id
            session.execute(insert(Area).values(tenant_id=b, code="x", name="x", kind="sector"))
        session.rollback()
        with pytest.raises(TenantScopeError):
            session.execute(insert(Area), [
                {"tenant_id": a, "code": "y1", "name": "y", "kind": "sector"},
                {"tenant_id": b, "code": "y2", "name": "y", "kind": "sector"}])
        session.rollback()
        # The own tenant is fine.
        session.execute(insert(Area), [{"tenant_id": a, "code": "y3", "name": "y",
                                        "kind": "sector"}])
        session.commit()
    # The actor's own membership in B is readable in scope A, but not writable in bulk.
    with scoped(session, Scope.tenant(a, world["alice"])):
        result = session.execute(update(Membership).where(
            Membership.user_id == world["alice"]).values(role="tenant_admin"))
        assert result.rowcount == 1  # A's row only
        session.commit()
    with scoped(session, Scope.tenant(b)):
        role = session.scalar(select(Membership.role).where(
            Membership.user_id == world["alice"]))
        assert role == "viewer"
    assert b_rows_unchanged(session, world) == before_b


def test_read_only_scope_refuses_every_write(session, world):
    a = world["a"]
    with scoped(session, Scope.tenant(a, write=False)):
        assert ids(session.scalars(select(Area))) == {world["a1"], world["a2"]}
        session.add(Area(code="ro", name="ro", kind="sector"))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        session.get(Area, world["a1"]).name = "changed"
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        session.delete(session.get(Area, world["a1"]))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        with pytest.raises(TenantScopeError):
            session.execute(update(Area).values(name="x"))
        session.rollback()
        with pytest.raises(TenantScopeError):
            session.execute(delete(Area))
        session.rollback()


def test_unit_of_work_refuses_crossing(session, world):
    a, b = world["a"], world["b"]
    with scoped(session, Scope.tenant(a)):
        session.add(Area(tenant_id=b, code="smuggled", name="x", kind="sector"))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        row = session.get(Area, world["a1"])
        row.tenant_id = b
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        # An insert without tenant_id gets the write tenant.
        new = Area(code="own", name="x", kind="sector")
        session.add(new)
        session.flush()
        assert new.tenant_id == a
        session.rollback()
    # A B row loaded earlier leaves the session when the scope moves to A...
    with scoped(session, Scope.tenant(b)):
        row_b = session.get(Area, world["b1"])
    assert row_b not in session
    # ...unless it has pending changes: those cannot be flushed from scope A.
    with scoped(session, Scope.tenant(b)):
        row_b = session.get(Area, world["b1"])
        row_b.name = "hacked"
        with scoped(session, Scope.tenant(a)):
            assert row_b in session
            with pytest.raises(TenantScopeError):
                session.flush()
        session.rollback()
    with scoped(session, Scope.tenant(b)):
        session.delete(session.get(Area, world["b1"]))
        with scoped(session, Scope.tenant(a)):
            with pytest.raises(TenantScopeError):
                session.flush()
        session.rollback()
    with pytest.raises(TenantScopeError):  # no scope at all
        session.add(Area(tenant_id=a, code="none", name="x", kind="sector"))
        session.flush()
    session.rollback()


# --- raw SQL -----------------------------------------------------------------------

def test_raw_and_core_sql_through_the_session_is_refused_unless_marked(session, world):
    with scoped(session, Scope.tenant(world["a"])):
        with pytest.raises(TenantScopeError):
            session.execute(text("select * from areas"))
        with pytest.raises(TenantScopeError):
            session.execute(select(Area.__table__))
        with pytest.raises(TenantScopeError):
            session.execute(Area.__table__.delete())
        with pytest.raises(TenantScopeError):
            session.execute(Area.__table__.insert().values(tenant_id=world["b"], code="c",
                                                           name="c", kind="sector"))
        with pytest.raises(TenantScopeError):  # an ORM entity over raw SQL
            session.scalars(select(Area).from_statement(text("select * from areas"))).all()
        marked = session.execute(text("select tenant_id from areas where tenant_id = :t"),
                                 {"t": world["a"]}, execution_options=RAW).scalars().all()
        assert set(marked) == {world["a"]}
        # Core on platform tables needs no mark.
        assert session.execute(select(Tenant.__table__.c.code).where(
            Tenant.__table__.c.id == world["a"])).scalar() == "sa"
    assert b_rows_unchanged(session, world)


# --- memberships and the audit log -----------------------------------------------------

def test_memberships_show_own_rows_elsewhere_only(session, world):
    a, b = world["a"], world["b"]
    with scoped(session, Scope.tenant(a, world["alice"])):
        rows = session.scalars(select(Membership)).all()
        assert {(m.tenant_id, m.user_id) for m in rows} == {
            (a, world["alice"]), (b, world["alice"])}  # not bob's membership in B
        bob_in_b = session.scalars(select(Membership).where(
            Membership.user_id == world["bob"])).all()
        assert bob_in_b == []
        # The own membership in B is visible but cannot be written here.
        own_b = session.scalars(select(Membership).where(Membership.tenant_id == b)).one()
        own_b.role = "tenant_admin"
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    with scoped(session, Scope.tenant(a)):  # no actor: only A's memberships
        assert {m.tenant_id for m in session.scalars(select(Membership))} == {a}


def test_audit_rows_of_b_are_invisible_in_a(session, world):
    a, b = world["a"], world["b"]
    with scoped(session, Scope.tenant(b)):
        b_rows = session.scalars(select(AuditEntry.id)).all()
    assert b_rows, "creating B's areas wrote B's audit rows"
    with scoped(session, Scope.tenant(a)):
        tenants = set(session.scalars(select(AuditEntry.tenant_id)))
        assert tenants == {a}
        assert session.get(AuditEntry, b_rows[0]) is None
        assert session.scalars(select(AuditEntry).where(
            AuditEntry.tenant_id.is_(None))).all() == []
    with scoped(session, Scope.platform_scope()):
        assert session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == b)).all() == []
