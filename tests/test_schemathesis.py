"""schemathesis against the app's own OpenAPI document (issue 22, point 1).

Requests are generated from the document the app serves (``/api/openapi.json``), for
every operation in it (a route added later is covered without a line here), and sent to
the app in-process (WSGI) on the suite's PostgreSQL, with a real tenant (the five plugins
enabled, so their routes answer) and a real token: a platform admin who is also the
tenant's admin, so that platform routes are exercised past the guard too.

All of schemathesis' phases run: examples (the document has none), coverage (every
parameter's boundary values: the largest integer, the longest text, each enum value...),
fuzzing (random valid and invalid requests) and stateful (sequences following the links
between operations). Bounded for the suite's time: a fixed seed, 2 fuzzed examples per
operation and mode, positive-mode coverage (negative values come from fuzzing and the
hand-written tests of tests/test_hostile_input.py), short stateful scenarios.

Checks: no 5xx (``not_a_server_error``, and an exception in the app), every answer
conforms to the document (``response_schema_conformance``, ``content_type_conformance``,
``status_code_conformance``, ``response_headers_conformance``), the stateful checks
(``use_after_free``, ``ensure_resource_availability``), and our own: every 4xx/5xx is
problem+json with a Chinese title and detail and no English message. (``ignored_auth`` is
left out: in schemathesis 4.32 its probe request breaks the WSGI transport, passing
``max_redirects`` to werkzeug; tests/test_isolation_matrix.py answers that question.)

No operation is excluded. The writes that could take the run's own session away (revoke
its token, deactivate its user or strip its platform role, switch its tenant off or change
its plugins, remove or demote its membership) run like any other; after any of them
succeeds, the user, token, membership and tenant rows are put back as they were (as the
owner, past RLS), so the rest of the run keeps its access.
"""

from __future__ import annotations

import collections
import json
import re
import time

import pytest
import schemathesis
from schemathesis.engine import events, from_schema
from sqlalchemy import create_engine, insert, select, update

from anjian.auth.models import ApiToken, Membership, User
from anjian.tenancy.models import Tenant
from tests.conftest import bearer

SEED = 22
CODE = "st"
PLUGINS = ["anjian_qinhuangdao", "anjian_jinbei", "anjian_tianjin_hebei", "anjian_changshu",
           "anjian_shenyang"]
CONFIG = {
    "seed": SEED,
    "workers": 1,
    "parameters": {"path.tenant_code": CODE},
    # A failing operation goes on being tested (one failure hides no other), unshrunk (a
    # failing run stays about as short as a passing one; each failure comes with its curl).
    "continue-on-failure": True,
    "generation": {"max-examples": 2, "database": "none", "no-shrink": True},
    "phases": {
        "coverage": {"generation": {"mode": "positive"}, "unexpected-methods": []},
        "fuzzing": {"generation": {"max-examples": 2}},
        "stateful": {"max-steps": 6, "generation": {"max-examples": 8}},
    },
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "use_after_free": {"enabled": True},
        "ensure_resource_availability": {"enabled": True},
        "problem_in_chinese": {"enabled": True},
    },
}
# Writes after whose success the run's own rows are put back (see the module docstring).
SESSION_WRITES = re.compile(
    r"^(DELETE /api/v1/me/tokens/|PATCH /api/v1/users/|PATCH /api/v1/tenants/\{tenant_code\}$"
    r"|(PATCH|DELETE) /api/v1/tenants/\{tenant_code\}/members/)")
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"\b(?:must|not a valid|invalid|unknown field|missing data|may not be|"
                     r"greater than|less than|equal to|length|required|field)\b", re.I)


def _messages(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _messages(item)
    elif isinstance(value, list):
        for item in value:
            yield from _messages(item)
    elif isinstance(value, str):
        yield value


@schemathesis.check
def problem_in_chinese(ctx, response, case):
    """Every 4xx and 5xx is problem+json with a Chinese title and detail; no message in it
    is English (marshmallow's, webargs', werkzeug's). /readyz's 503 is its health report."""
    if response.status_code < 400 or (case.path == "/readyz" and response.status_code == 503):
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0]
    assert media == "application/problem+json", f"{response.status_code} answered as {media!r}"
    body = json.loads(response.content)
    assert body["status"] == response.status_code, body
    for key in ("title", "detail"):
        assert CJK.search(body.get(key) or ""), f"{key} not in Chinese: {body.get(key)!r}"
    for message in [body["detail"], *_messages(body.get("errors"))]:
        assert not ENGLISH.search(message), f"English in the answer: {message!r}"
    return None


class Session:
    """The run's user, token, membership and tenant rows, kept to be put back."""

    TABLES = (User, ApiToken, Membership, Tenant)

    def __init__(self, admin_url: str, user_id: int, tenant_id: int):
        self.engine = create_engine(admin_url)  # the owner: RLS hides nothing
        self.rows = {}
        with self.engine.connect() as conn:
            for model in self.TABLES:
                table = model.__table__
                key = table.c.id if model in (User, Tenant) else table.c.user_id
                row = conn.execute(select(table).where(
                    key == (tenant_id if model is Tenant else user_id))).mappings().one()
                self.rows[model] = dict(row)
        self.restored = 0

    def restore(self) -> None:
        with self.engine.begin() as conn:
            for model in self.TABLES:
                table, row = model.__table__, self.rows[model]
                done = conn.execute(update(table).where(table.c.id == row["id"]).values(**row))
                if done.rowcount == 0:  # a membership removed
                    conn.execute(insert(table).values(**row))
        self.restored += 1

    def after_call(self, context, case, response) -> None:
        if response.status_code < 300 and SESSION_WRITES.match(
                f"{case.method.upper()} {case.operation.path}"):
            self.restore()

    def close(self) -> None:
        self.engine.dispose()


def _documented(app) -> set[str]:
    spec = app.test_client().get("/api/openapi.json").json
    return {f"{method.upper()} {path}" for path, ops in spec["paths"].items()
            for method in ops if method in {"get", "put", "post", "patch", "delete"}}


@pytest.mark.early  # the suite's longest test
def test_schemathesis_finds_no_server_error_and_no_schema_error(app, factory, database, client):
    # A 500 is an answer to check (problem+json too), not an exception out of the test client.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    tenant = factory.tenant(CODE, plugins=PLUGINS)
    user_id, token = factory.user("st-root", {tenant: "tenant_admin"}, platform_admin=True)
    session = Session(database.admin_url, user_id, tenant)
    config = schemathesis.Config.from_dict({**CONFIG, "headers": bearer(token)})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)

    def after_call(context, case, response):
        session.after_call(context, case, response)

    schema.hook("after_call")(after_call)

    started, cpu = time.monotonic(), time.process_time()
    tested, failures, cases = set(), collections.defaultdict(list), collections.Counter()
    phases = {}
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                tested.add(event.recorder.label)
                cases[event.phase.name] += len(event.recorder.cases)
                for checks in event.recorder.checks.values():
                    for check in checks:
                        if check.failure_info is not None:
                            key = (event.recorder.label, check.name,
                                   check.failure_info.failure.title)
                            failures[key].append(f"{check.failure_info.failure.message} "
                                                 f"{check.failure_info.code_sample}")
            elif isinstance(event, events.NonFatalError):  # an exception in the app, a bad schema
                failures[(event.label, "error", event.info.title)].append(event.info.message)
            elif isinstance(event, events.PhaseFinished):
                phases[event.phase.name.value] = round(time.monotonic() - started)
            elif isinstance(event, events.FatalError):
                failures[("run", "fatal", type(event.exception).__name__)].append(
                    str(event.exception))
    finally:
        session.close()
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    print(f"schemathesis (seed {SEED}): {len(tested)} operations, {sum(cases.values())} cases "
          f"{dict(cases)}, {seconds:.0f} s ({cpu:.0f} s CPU), session restored "
          f"{session.restored} times, {len(failures)} distinct failures; phases ended at {phases}")
    report = [f"{label} [{check}] {title} ({len(samples)}x): {samples[0][:600]}"
              for (label, check, title), samples in sorted(failures.items())]
    assert report == [], "\n".join(report)
    documented = _documented(app)
    assert len(documented) > 150
    assert documented - tested == set()
    # The run kept its session to the end (else its later requests proved little).
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json["is_platform_admin"] is True
    assert [(m["tenant_code"], m["role"]) for m in me.json["memberships"]] == [(CODE, "tenant_admin")]
