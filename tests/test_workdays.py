"""Chinese working days (issue 4, part 5): arithmetic across Spring Festival and National Day,
provisional deadlines in years not yet published, publishing a year (API and CLI) and the
recomputation it triggers, permissions, validation, and the calendar cache."""

from __future__ import annotations

import datetime as dt
import json
import re

import chinese_calendar
import pytest
from sqlalchemy import func, select, text
from stdnum.cn import uscc

from tests.conftest import bearer

D = dt.date.fromisoformat
URL = "/api/v1/calendar"
PROBLEM = "application/problem+json"
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# A made-up 2027 schedule (the real one is published in the autumn of 2026).
CAL_2027 = {
    "notice": "国办发明电〔2026〕测试号",
    "holidays": [{"date": "2027-01-01", "name": "元旦"}]
    + [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in (8, 9, 10, 11, 12, 15)],
    "workdays": [{"date": "2027-02-20", "name": "春节调休上班"}],
}


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def people(factory):
    tenant = factory.tenant("cs")
    other = factory.tenant("other")
    root_id, root = factory.user("root", platform_admin=True)
    _, admin = factory.user("cs-admin", {tenant: "tenant_admin"})
    _, viewer = factory.user("cs-viewer", {tenant: "viewer"})
    return {"tenant": tenant, "other": other, "root_id": root_id, "root": bearer(root),
            "admin": bearer(admin), "viewer": bearer(viewer)}


def _problem(r, status):
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == PROBLEM
    assert r.json["status"] == status and CHINESE.search(r.json["title"])
    return r.json


# --- arithmetic ---------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "days", "expected"), [
    ("2026-02-13", 0, "2026-02-13"),  # zero: the start itself
    ("2026-02-13", 1, "2026-02-14"),  # Friday -> the make-up Saturday
    ("2026-02-14", 1, "2026-02-24"),  # Feb 15-23 off (Sunday 15 to Monday 23)
    ("2026-02-13", 5, "2026-02-27"),
    ("2026-02-13", 6, "2026-02-28"),  # the second make-up Saturday
    ("2026-02-28", 1, "2026-03-02"),
    ("2026-02-21", 1, "2026-02-24"),  # a Saturday start inside the holiday
    ("2025-09-26", 1, "2025-09-28"),  # Friday -> make-up Sunday before National Day
    ("2025-09-28", 1, "2025-09-29"),
    ("2025-09-30", 1, "2025-10-09"),  # Oct 1-8 off
    ("2025-09-30", 3, "2025-10-11"),  # ... and the make-up Saturday after
    ("2025-10-10", 1, "2025-10-11"),
    ("2026-09-24", 1, "2026-09-28"),  # Mid-autumn Friday 2026-09-25 off
    ("2026-09-18", 1, "2026-09-20"),  # make-up Sunday before National Day 2026
    ("2026-09-30", 1, "2026-10-08"),
    ("2026-09-30", 3, "2026-10-10"),  # make-up Saturday 2026-10-10
])
def test_add_workdays_across_spring_festival_and_national_day(ctx, start, days, expected):
    from anjian.workdays import service

    assert service.add_workdays(D(start), days) == (D(expected), False)


def test_is_workday_and_counts_match_chinese_calendar(ctx):
    from anjian.workdays import service

    assert service.is_workday(D("2026-02-14")) and service.is_workday(D("2026-02-28"))
    assert not service.is_workday(D("2026-02-16")) and not service.is_workday(D("2026-02-21"))
    assert service.is_workday(D("2025-10-11")) and not service.is_workday(D("2025-10-08"))
    assert service.workdays_between(D("2026-02-01"), D("2026-02-28")) == 16
    assert service.workdays_between(D("2026-01-01"), D("2026-12-31")) == 248
    assert service.workdays_between(D("2026-03-01"), D("2026-02-01")) == 0
    for first, last in [("2004-01-01", "2026-12-31"), ("2025-09-27", "2025-10-12"),
                        ("2015-08-31", "2015-09-07"), ("2026-02-14", "2026-02-14")]:
        expected = len(chinese_calendar.get_workdays(D(first), D(last)))
        assert service.workdays_between(D(first), D(last)) == expected, (first, last)
    day = D("2004-01-01")
    while day.year <= 2026:  # every day the package knows, as seeded by migration 0006
        assert service.is_workday(day) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


def test_a_deadline_reaching_2027_is_provisional_monday_to_friday(ctx):
    from anjian.workdays import service

    assert service.add_workdays(D("2026-12-30"), 1) == (D("2026-12-31"), False)
    # 2027-01-01 will surely be a holiday; counted Monday-Friday it is the 10th day, honestly marked.
    assert service.add_workdays(D("2026-12-20"), 10) == (D("2027-01-01"), True)
    assert service.add_workdays(D("2027-01-01"), 5) == (D("2027-01-08"), True)
    assert service.add_workdays(D("2027-01-01"), 0) == (D("2027-01-01"), False)
    assert service.is_workday(D("2027-01-01")) and not service.is_workday(D("2027-01-02"))
    assert service.workdays_between(D("2027-01-01"), D("2027-12-31")) == 261
    assert not service.is_published(2027) and service.is_published(2026)
    with pytest.raises(ValueError):
        service.add_workdays(D("2026-01-01"), -1)


def test_set_deadline_helpers(ctx):
    from anjian.hazards.models import Hazard
    from anjian.workdays import service

    hazard = Hazard()
    assert service.set_deadline(hazard, D("2026-02-13"), 6) == (D("2026-02-28"), False)
    assert (hazard.deadline_start, hazard.deadline_workdays) == (D("2026-02-13"), 6)
    assert (hazard.deadline, hazard.deadline_provisional) == (D("2026-02-28"), False)
    service.set_deadline(hazard, D("2026-12-20"), 10)
    assert (hazard.deadline, hazard.deadline_provisional) == (D("2027-01-01"), True)
    service.set_deadline_date(hazard, D("2027-03-01"))
    assert (hazard.deadline_start, hazard.deadline_workdays) == (None, None)
    assert (hazard.deadline, hazard.deadline_provisional) == (D("2027-03-01"), False)


# --- reading over HTTP ------------------------------------------------------------------------

def test_list_and_read_years(client, people):
    r = client.get(URL, headers=people["viewer"])
    assert r.status_code == 200
    assert [y["year"] for y in r.json] == list(range(2004, 2027))
    assert {y["source"] for y in r.json} == {"chinese_calendar"}
    assert r.json[-1]["notice"].startswith("chinesecalendar ")
    r = client.get(f"{URL}/2026", headers=people["viewer"])
    assert r.status_code == 200
    holidays = {h["date"]: h["name"] for h in r.json["holidays"]}
    workdays = {w["date"]: w["name"] for w in r.json["workdays"]}
    assert holidays["2026-02-16"] == "春节" and holidays["2026-10-01"] == "国庆节"
    assert holidays["2026-01-01"] == "元旦" and holidays["2026-09-25"] == "中秋节"
    assert "2026-02-15" not in holidays  # a Sunday: not an exception
    assert workdays == {"2026-01-04": "元旦调休上班", "2026-02-14": "春节调休上班",
                        "2026-02-28": "春节调休上班", "2026-05-09": "劳动节调休上班",
                        "2026-09-20": "国庆节调休上班", "2026-10-10": "国庆节调休上班"}
    body = _problem(client.get(f"{URL}/2027", headers=people["viewer"]), 404)
    assert "2027 年放假安排尚未发布" in body["detail"]
    _problem(client.get(URL), 401)


def test_deadline_endpoint(client, people):
    r = client.get(f"{URL}/deadline", query_string={"start": "2026-02-13", "workdays": 6},
                   headers=people["viewer"])
    assert r.status_code == 200
    assert r.json == {"start": "2026-02-13", "workdays": 6, "deadline": "2026-02-28",
                      "provisional": False, "note": None}
    r = client.get(f"{URL}/deadline", query_string={"start": "2026-12-20", "workdays": 10},
                   headers=people["viewer"])
    assert (r.json["deadline"], r.json["provisional"]) == ("2027-01-01", True)
    assert "2027 年放假安排尚未发布" in r.json["note"]
    body = _problem(client.get(f"{URL}/deadline", query_string={"start": "明天", "workdays": -1},
                               headers=people["viewer"]), 422)
    assert body["errors"]["query"]["start"] == ["不是有效的日期"]
    assert body["errors"]["query"]["workdays"] == ["须在 0 到 1000 之间"]


# --- publishing -------------------------------------------------------------------------------

def _code(n: int) -> str:
    base = f"91320581MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def _hazard(app, tenant_id, n, start=None, workdays=None, fixed=None):
    from anjian.enterprises.models import Enterprise
    from anjian.extensions import db
    from anjian.hazards.models import Hazard
    from anjian.tenancy.scope import Scope, scoped
    from anjian.workdays import service

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        enterprise = Enterprise(credit_code=_code(n), name=f"企业{n}")
        db.session.add(enterprise)
        db.session.flush()
        hazard = Hazard(enterprise_id=enterprise.id, source="department", title=f"隐患{n}",
                        found_on=start or fixed)
        if fixed:
            service.set_deadline_date(hazard, fixed)
        else:
            service.set_deadline(hazard, start, workdays)
        db.session.add(hazard)
        db.session.commit()
        return hazard.id


def _deadline(app, tenant_id, hazard_id):
    from anjian.extensions import db
    from anjian.hazards.models import Hazard
    from anjian.tenancy.scope import Scope, scoped

    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        hazard = db.session.get(Hazard, hazard_id)
        return hazard.deadline, hazard.deadline_provisional


def test_publishing_2027_recomputes_provisional_deadlines_in_every_tenant(app, client, people):
    cs, other = people["tenant"], people["other"]
    reaches = _hazard(app, cs, 1, D("2026-12-20"), 10)        # 2027-01-01, provisional
    beyond = _hazard(app, cs, 2, D("2027-12-20"), 10)         # into 2028: stays provisional
    later = _hazard(app, cs, 3, D("2028-03-01"), 5)           # 2028 only: not touched
    fixed = _hazard(app, cs, 4, fixed=D("2027-01-01"))        # a fixed date: never recomputed
    exact = _hazard(app, cs, 5, D("2026-02-13"), 6)           # 2026 only: not provisional
    foreign = _hazard(app, other, 6, D("2027-02-05"), 1)      # another tenant
    assert _deadline(app, cs, reaches) == (D("2027-01-01"), True)
    assert _deadline(app, other, foreign) == (D("2027-02-08"), True)

    r = client.put(f"{URL}/2027", json=CAL_2027, headers=people["root"])
    assert r.status_code == 200, r.json
    assert r.json["recomputed"] == 3
    assert (r.json["year"], r.json["source"], r.json["notice"]) == (2027, "admin", CAL_2027["notice"])
    assert r.json["updated_by"] == people["root_id"]
    assert len(r.json["holidays"]) == 7 and r.json["workdays"] == CAL_2027["workdays"]

    assert _deadline(app, cs, reaches) == (D("2027-01-04"), False)   # New Year's Day skipped
    assert _deadline(app, cs, beyond) == (D("2028-01-03"), True)
    assert _deadline(app, cs, later) == (D("2028-03-08"), True)
    assert _deadline(app, cs, fixed) == (D("2027-01-01"), False)
    assert _deadline(app, cs, exact) == (D("2026-02-28"), False)
    assert _deadline(app, other, foreign) == (D("2027-02-16"), False)  # Feb 8-12 and 15 off

    assert client.get(f"{URL}/2027", headers=people["viewer"]).json["holidays"][0] == {
        "date": "2027-01-01", "name": "元旦"}
    # Publishing the same again changes nothing and finds nothing provisional left in 2027
    # but the deadline reaching 2028.
    again = client.put(f"{URL}/2027", json=CAL_2027, headers=people["root"])
    assert again.status_code == 200 and again.json["recomputed"] == 1


def test_publish_is_audited_with_its_actor(app, client, people):
    from anjian.audit.models import AuditEntry
    from anjian.extensions import db
    from anjian.tenancy.scope import Scope, scoped

    hazard = _hazard(app, people["tenant"], 1, D("2026-12-20"), 10)
    assert client.put(f"{URL}/2027", json=CAL_2027, headers=people["root"]).status_code == 200
    fixed = {**CAL_2027, "holidays": CAL_2027["holidays"][:-1]}  # a correction: one day fewer
    assert client.put(f"{URL}/2027", json=fixed, headers=people["root"]).status_code == 200
    with app.app_context():
        with scoped(db.session, Scope(frozenset({people["tenant"]}), None, None, platform=True)):
            rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    actions = [(r.action, r.entity_id, r.actor_user_id, r.tenant_id) for r in rows
               if r.entity_type in ("calendaryear", "calendarday", "hazard")
               and r.actor_user_id == people["root_id"]]
    root = people["root_id"]
    assert ("calendaryear.create", "2027", root, None) in actions
    assert ("calendarday.create", "2027-01-01", root, None) in actions
    assert ("calendarday.delete", "2027-02-15", root, None) in actions
    assert ("calendaryear.update", "2027", root, None) in actions
    assert ("hazard.update", str(hazard), root, people["tenant"]) in actions
    assert len([a for a in actions if a[0] == "calendarday.create"]) == 8


def test_only_platform_admins_publish(client, people):
    for who in ("admin", "viewer"):
        body = _problem(client.put(f"{URL}/2027", json=CAL_2027, headers=people[who]), 403)
        assert body["detail"] == "需要平台管理员权限"
    _problem(client.put(f"{URL}/2027", json=CAL_2027), 401)
    _problem(client.get(f"{URL}/2027", headers=people["root"]), 404)  # nothing was written


@pytest.mark.parametrize(("change", "key", "message"), [
    ({"holidays": [{"date": "2027-01-02", "name": "元旦"}]}, "holidays[0]",
     "2027-01-02 是星期六，放假日期须为周一至周五"),
    ({"holidays": [{"date": "2026-12-31", "name": "元旦"}]}, "holidays[0]", "2026-12-31 不在 2027 年内"),
    ({"workdays": [{"date": "2027-02-22", "name": "调休"}]}, "workdays[0]",
     "2027-02-22 是星期一，调休上班日期须为周六或周日"),
    ({"workdays": [{"date": "2027-02-20"}, {"date": "2027-02-20"}]}, "workdays[1]",
     "2027-02-20 重复（已在 workdays[0] 中列出）"),
    ({"holidays": []}, "holidays", "至少须列出一天放假日期"),
])
def test_bad_calendars_are_422_in_chinese(client, people, change, key, message):
    r = client.put(f"{URL}/2027", json={**CAL_2027, **change}, headers=people["root"])
    body = _problem(r, 422)
    (got,) = body["errors"][key]
    assert got.startswith(message)
    assert message in body["detail"]
    _problem(client.get(f"{URL}/2027", headers=people["root"]), 404)


def test_schema_errors_are_422_in_chinese(client, people):
    body = _problem(client.put(f"{URL}/2027", json={"workdays": [{"date": "x"}]},
                               headers=people["root"]), 422)
    errors = body["errors"]["json"]
    assert errors["holidays"] == ["必填项"]
    assert errors["workdays"]["0"]["date"] == ["不是有效的日期"]


def test_every_problem_is_reported_at_once(ctx):
    from anjian.workdays import service

    with pytest.raises(service.CalendarError) as caught:
        service.validate_year(2027, [("2027-01-02", "元旦"), ("2028-01-03", "元旦"), ("bad", "")],
                              [(D("2027-01-01"), "")])
    assert set(caught.value.errors) == {"holidays[0]", "holidays[1]", "holidays[2]", "workdays[0]"}


# --- the command line -------------------------------------------------------------------------

def _toml(entries) -> str:
    return "\n".join(f'{{ date = {e["date"]}, name = "{e.get("name", "")}" }},' for e in entries)


def test_cli_show_set_and_seed(app, runner, people, tmp_path):
    r = runner.invoke(args=["calendar", "show", "2026"])
    assert r.exit_code == 0, r.output
    assert "2026-02-14\t星期六\t上班\t春节调休上班" in r.output
    assert "2026-02-16\t星期一\t放假\t春节" in r.output
    assert "工作日 248 天" in r.output
    r = runner.invoke(args=["calendar", "show", "2027"])
    assert r.exit_code == 2 and "2027 年放假安排尚未发布" in r.output
    assert "2026\tchinese_calendar" in runner.invoke(args=["calendar", "show"]).output

    hazard = _hazard(app, people["tenant"], 1, D("2026-12-20"), 10)
    path = tmp_path / "2027.toml"
    path.write_text(f'notice = "{CAL_2027["notice"]}"\nholidays = [\n{_toml(CAL_2027["holidays"])}\n]\n'
                    f'workdays = [\n{_toml(CAL_2027["workdays"])}\n]\n', encoding="utf-8")
    r = runner.invoke(args=["calendar", "set", "2027", str(path), "--by", "root"])
    assert r.exit_code == 0, r.output
    assert "recomputed 1 provisional deadline(s)" in r.output
    assert _deadline(app, people["tenant"], hazard) == (D("2027-01-04"), False)
    r = runner.invoke(args=["calendar", "show", "2027"])
    assert "2027\tadmin\t国办发明电〔2026〕测试号" in r.output and "2027-02-20\t星期六\t上班" in r.output

    # seeding again is idempotent and keeps what an admin published
    r = runner.invoke(args=["calendar", "seed"])
    assert r.exit_code == 0, r.output
    assert "2004\tunchanged" in r.output and "2026\tunchanged" in r.output
    assert "2027" not in r.output
    assert runner.invoke(args=["calendar", "set", "2026", str(_json_file(tmp_path))]).exit_code == 0
    r = runner.invoke(args=["calendar", "seed", "--year", "2026"])
    assert r.output.splitlines()[0] == "2026\tkept (published by an admin)"
    r = runner.invoke(args=["calendar", "seed", "--year", "2027"])
    assert r.exit_code == 2 and "2027" in r.output


def _json_file(tmp_path):
    days = [(d, n) for d, n in chinese_calendar.holidays.items() if d.year == 2026 and d.weekday() < 5]
    body = {"notice": "国办发明电〔2025〕7号",
            "holidays": [{"date": d.isoformat(), "name": "假日"} for d, _ in sorted(days)],
            "workdays": [{"date": d.isoformat(), "name": "调休上班"} for d in sorted(
                d for d in chinese_calendar.workdays if d.year == 2026)]}
    path = tmp_path / "2026.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_seed_fills_a_missing_year(app, runner):
    from anjian.extensions import db
    from anjian.workdays.models import CalendarDay, CalendarYear

    with app.app_context():
        db.session.execute(CalendarDay.__table__.delete().where(CalendarDay.year == 2025))
        db.session.execute(CalendarYear.__table__.delete().where(CalendarYear.year == 2025))
        db.session.commit()
    r = runner.invoke(args=["calendar", "seed", "--year", "2025", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:2] == ["2025\tcreated", "2026\tunchanged"]
    with app.app_context():
        from anjian.workdays import service

        assert service.add_workdays(D("2025-09-30"), 3) == (D("2025-10-11"), False)
        assert db.session.scalar(select(func.count()).select_from(CalendarDay).where(
            CalendarDay.year == 2025)) == len(
                [d for d in chinese_calendar.holidays if d.year == 2025 and d.weekday() < 5]
                + [d for d in chinese_calendar.workdays if d.year == 2025 and d.weekday() >= 5])


def test_cli_set_names_the_bad_entry_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "2027.toml"
    path.write_text('notice = "x"\nholidays = [\n{ date = 2027-01-01, name = "元旦" },\n'
                    '{ date = 2027-01-02, name = "元旦" },\n]\n', encoding="utf-8")
    r = runner.invoke(args=["calendar", "set", "2027", str(path)])
    assert r.exit_code == 2
    assert "holidays[1] (2027-01-02 元旦): 2027-01-02 是星期六" in r.output
    assert "未做任何修改" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("holidays = [", encoding="utf-8")
    r = runner.invoke(args=["calendar", "set", "2027", str(bad)])
    assert r.exit_code == 2 and "文件格式错误" in r.output
    other = tmp_path / "2027.yaml"
    other.write_text("x", encoding="utf-8")
    assert "须为 .toml 或 .json" in runner.invoke(args=["calendar", "set", "2027", str(other)]).output
    assert runner.invoke(args=["calendar", "show", "2027"]).exit_code == 2


# --- the cache ------------------------------------------------------------------------------

def test_cache_sees_a_publish_at_the_next_request(client, people):
    def deadline():
        return client.get(f"{URL}/deadline", query_string={"start": "2026-12-20", "workdays": 10},
                          headers=people["viewer"]).json

    assert deadline()["provisional"] is True
    assert client.put(f"{URL}/2027", json=CAL_2027, headers=people["root"]).status_code == 200
    assert (deadline()["deadline"], deadline()["provisional"]) == ("2027-01-04", False)


def test_cache_sees_another_process_once_per_app_context(app, monkeypatch):
    """A change made elsewhere (another process: here another connection) is seen by the
    next app context (request, job, command), not in the middle of one."""
    from anjian.extensions import db
    from anjian.workdays import service

    checks = []
    real_version = service._version
    monkeypatch.setattr(service, "_version", lambda: checks.append(1) or real_version())
    with app.app_context():
        first = service.current()
        assert service.add_workdays(D("2026-12-20"), 10).provisional
        assert len(checks) == 1
        with db.engine.begin() as conn:  # "another process" publishes 2027
            conn.execute(text("INSERT INTO calendar_years (year, source, notice, updated_at) "
                              "VALUES (2027, 'admin', '', :now)"), {"now": dt.datetime.now(dt.UTC)})
            conn.execute(text("INSERT INTO calendar_days (day, year, is_workday, name) "
                              "VALUES (:d, 2027, false, '元旦')"), {"d": D("2027-01-01")})
        assert service.add_workdays(D("2026-12-20"), 10).provisional  # same unit of work
        assert service.current() is first and len(checks) == 1
    with app.app_context():
        assert service.add_workdays(D("2026-12-20"), 10) == (D("2027-01-04"), False)
        assert len(checks) == 2
        again = service.current()
    with app.app_context():
        assert service.current() is again and len(checks) == 3  # checked, unchanged: kept
