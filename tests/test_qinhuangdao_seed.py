"""Seed 000 as the bureau runs it (issue 22, "What must work: the seed programmes", Seed 000):
秦皇岛经济技术开发区应急管理局's 安全生产社会化服务实施方案, June to August 2022.

Each test takes one point of the issue from the seed's own words and counts the
expectations by hand:

- 服务范围："100家规下企业": the plugin's rule targets every below-scale enterprise, the
  small and micro ones included;
- "发现重大隐患由服务机构及时上报应急管理局": a hazard is reported as major with its
  criterion, regraded with a reason (history, audit), and an upgrade notifies at once;
- the first phase's 摸底排查 happened on a day: an inspection records that day;
- phase 3, "对每家企业出具情况报告和结论性意见": the service organisation reads and
  downloads its reports, and its enterprises' acceptance reports, no other;
- phase 5, "不积极配合": an enterprise nobody surveyed is "not yet surveyed", not
  uncooperative;
- the acceptance report: one conclusion, both parts labelled, numbered, issued by the
  service organisation for the bureau, dated by the inspections, 暂定 where it must be;
- 验收标准 1, "有无重大隐患": 未排查 where the enterprise was never surveyed.

The fixtures (the tenant, its people and enterprises A-H, the organisation) are
tests/test_qinhuangdao.py's.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from anjian.clock import local_today
from anjian.testing import make_user
from tests.test_qinhuangdao import (
    ACCEPTANCE,
    BUREAU,
    ENTERPRISES,
    SURVEY,
    TENANT_SPEC,
    T,
    build_world,
    code,
    contract,
    create_campaign,
    drain,
    hazard_of,
    make_report,
    ok,
    pdf_text,
    target,
    wait_reports,
)

ORG = "河北安泰安全技术服务有限公司"
ACCEPTANCE_KIND = "qinhuangdao_acceptance"
NOT_SURVEYED = "服务期内尚未排查（待核实原因，不等同于不积极配合）"


@pytest.fixture
def anjian_tenant_spec():
    return dict(TENANT_SPEC)


@pytest.fixture
def w(client, anjian_tenant, anjian_clients):
    return build_world(client, anjian_tenant, anjian_clients)


def inspect_on(client, headers, enterprise_id, cid, template, performed_on=None, answers=None,
               conclusion="", submitted_as=None):
    """An inspection carried out on ``performed_on`` (None: today), answered "yes" except
    ``answers`` ({code: answer or (answer, raise_hazard body)}), then submitted (with
    ``submitted_as`` as its corrected date, when given); returns (id, its view)."""
    body = {"enterprise_id": enterprise_id, "campaign_id": cid, "template_key": template}
    if performed_on is not None:
        body["performed_on"] = performed_on
    created = ok(client.post(f"{T}/inspections", headers=headers, json=body), 201)
    iid = created["inspection"]["id"]
    results = []
    for row in created["results"]:
        given = (answers or {}).get(row["code"], "yes")
        entry = {"item_id": row["item_id"], "answer": given}
        if isinstance(given, tuple):
            entry = {"item_id": row["item_id"], "answer": given[0], "raise_hazard": given[1]}
        results.append(entry)
    ok(client.put(f"{T}/inspections/{iid}/results", headers=headers, json={"results": results}))
    submit = {"conclusion": conclusion}
    if submitted_as is not None:
        submit["performed_on"] = submitted_as
    return iid, ok(client.post(f"{T}/inspections/{iid}/submit", headers=headers, json=submit))


def fetch_as(client, headers, report) -> bytes:
    """A report's file through /download (a redirect to a short-lived link), as ``headers``."""
    r = client.get(report["download"], headers=headers)
    assert r.status_code == 302, r.get_data(as_text=True)
    got = client.get(r.headers["Location"])
    try:
        assert got.status_code == 200
        return got.data
    finally:
        got.close()


def etag(client, headers, hazard_id) -> dict:
    r = client.get(f"{T}/hazards/{hazard_id}", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return {**headers, "If-Match": r.headers["ETag"]}


# --- 服务范围：100家规下企业 -------------------------------------------------------------------

def test_the_rule_targets_the_seeds_100_below_scale_enterprises_small_and_micro_included(client, w):
    """The registry holds 60 规下 and 40 小微 live enterprises (with the fixtures' A-E and
    H), besides three above scale and a closed micro one: the rule picks exactly the
    seed's 100, the planned count, each with what it was taken as."""
    n = 100
    for count, scale, status in ((55, "below", "active"), (39, "micro", "active"),
                                 (2, "above", "active"), (1, "micro", "closed")):
        for _ in range(count):
            n += 1
            ok(client.post(f"{T}/enterprises", headers=w["admin"], json={
                "credit_code": code(n), "name": f"秦皇岛开发区服务对象{n}号企业", "scale": scale,
                "status": status, "industry": "机械"}), 201)
    # 5 + 55 规下 (A-E and the new ones; F is closed) and 1 + 39 小微 (H and the new ones;
    # one closed): 100. G and the two new ones are above scale.
    campaign = create_campaign(client, w)
    added = ok(client.post(f"{T}/campaigns/{campaign['id']}/targets", headers=w["admin"],
                           json={"rule": "plugin"}))
    assert (added["method"], added["added"], added["total"]) == ("plugin", 100, 100)
    rows = ok(client.get(f"{T}/campaigns/{campaign['id']}/targets", headers=w["viewer"],
                         query_string={"per_page": 100}))["items"]
    reasons = [r["reason"] for r in rows]
    assert reasons.count("规下企业，列入100家社会化服务对象") == 60
    assert reasons.count("规下企业（小微企业），列入100家社会化服务对象") == 40
    assert w["ent"]["H"] in {r["enterprise_id"] for r in rows}


# --- 发现重大隐患由服务机构及时上报应急管理局 ----------------------------------------------------

CRITERION = "《工贸行业重大生产安全事故隐患判定标准（2017版）》专项类（存在粉尘爆炸危险的行业领域）第1项"


def test_a_major_hazard_is_reported_with_its_criterion_and_regraded_with_a_reason(app, client, w):
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "C", "D")
    contract(client, w, cid, "CD")
    org, bureau = w["service_org"], w["supervisor"]
    d = w["ent"]["D"]  # the food factory with dust explosion risk

    # Reported as major by the service organisation: without its criterion it is refused.
    body = {"enterprise_id": d, "campaign_id": cid, "title": "粉尘涉爆车间除尘器未设泄爆装置",
            "grade": "major"}
    r = client.post(f"{T}/hazards", headers=org, json=body)
    assert r.status_code == 422 and "grade_criterion" in r.json["errors"], r.json
    r = client.post(f"{T}/hazards", headers=org, json={**body, "grade": "general",
                                                        "grade_criterion": CRITERION})
    assert r.status_code == 422 and "grade_criterion" in r.json["errors"], r.json
    major = ok(client.post(f"{T}/hazards", headers=org, json={**body, "grade_criterion": CRITERION}),
               201)
    assert (major["grade"], major["grade_criterion"], major["source"], major["deadline"]) == (
        "major", CRITERION, "service_org", None)  # a major hazard's deadline: its plan's
    # The bureau knows at once: one notification per supervisor, naming the criterion ...
    notes = ok(client.get(f"{T}/notifications", headers=bureau))["items"]
    assert [n["hazard_id"] for n in notes] == [major["id"]]
    assert f"判定依据：{CRITERION}" in notes[0]["body"]
    # ... and the programme records the organisation's immediate report (重大隐患即时报告).
    tasks = ok(client.get(f"{T}/campaigns/{cid}/tasks", headers=w["viewer"],
                          query_string={"per_page": 100}))["items"]
    assert [t["key"] for t in tasks if t["key"].startswith("qhd_major_hazard_report:")] == [
        f"qhd_major_hazard_report:{major['id']}"]

    # A checklist item the rules grade major cannot be reported as general at the survey ...
    created = ok(client.post(f"{T}/inspections", headers=org, json={
        "enterprise_id": w["ent"]["C"], "campaign_id": cid, "template_key": SURVEY}), 201)
    s06 = next(r for r in created["results"] if r["code"] == "S06")
    r = client.put(f"{T}/inspections/{created['inspection']['id']}/results/{s06['item_id']}",
                   headers=org, json={"answer": "no", "raise_hazard": {"title": "喷漆间可燃气体积聚",
                                                                      "grade": "general"}})
    assert r.status_code == 422 and "raise_hazard.grade" in r.json["errors"], r.json
    # ... and one it grades major cites the item as its criterion (S06 has no legal basis).
    _, view = inspect_on(client, org, w["ent"]["C"], cid, SURVEY, answers={
        "S06": ("no", {"title": "喷漆间可燃气体积聚"}),
        "S02": ("no", {"title": "配电箱进线未穿管保护"})})
    from_item = ok(client.get(f"{T}/hazards/{hazard_of(view, 'S06')}", headers=bureau))
    assert (from_item["grade"], from_item["grade_criterion"]) == (
        "major", "未发现行业重大隐患（发现重大隐患由服务机构及时上报应急管理局）")

    # Regrading: the general hazard S02 raised, made major by the organisation.
    general = ok(client.get(f"{T}/hazards/{hazard_of(view, 'S02')}", headers=bureau))
    assert (general["grade"], general["grade_criterion"], general["deadline_workdays"]) == (
        "general", "", 10)
    url = f"{T}/hazards/{general['id']}/grade"
    reason = "复查发现该配电箱位于喷漆间爆炸危险区域内，非防爆型"
    upgrade = {"grade": "major", "reason": reason, "grade_criterion": CRITERION}
    assert client.post(url, headers=org, json=upgrade).status_code == 428  # no If-Match
    for missing in ("reason", "grade_criterion"):
        r = client.post(url, headers=etag(client, org, general["id"]),
                        json={k: v for k, v in upgrade.items() if k != missing})
        assert r.status_code == 422 and missing in str(r.json["errors"]), (missing, r.json)
    # The bureau's viewers read, they do not grade (nor do enterprises: the isolation matrix).
    assert client.post(url, headers=etag(client, w["viewer"], general["id"]) | w["viewer"],
                       json=upgrade).status_code == 403
    regraded = ok(client.post(url, headers=etag(client, org, general["id"]), json=upgrade))
    assert (regraded["grade"], regraded["grade_criterion"], regraded["state"],
            regraded["deadline"]) == ("major", CRITERION, "reported", general["deadline"])
    # The history: one event, the state unchanged, the reason as its note.
    history = ok(client.get(f"{T}/hazards/{general['id']}/history", headers=bureau))["items"]
    assert [e["action"] for e in history] == ["report", "regrade"]
    event = history[-1]
    assert (event["action_label"], event["from_state"], event["to_state"], event["note"],
            event["actor_user_id"]) == ("重新定级", "reported", "reported", reason,
                                        w["service_org_id"])
    assert event["data"] == {"from_grade": "general", "to_grade": "major",
                             "grade_criterion": CRITERION}
    # The upgrade notifies at once: now three majors (D's, C's from the item, this one).
    notes = ok(client.get(f"{T}/notifications", headers=bureau))["items"]
    assert len(notes) == 3 and notes[0]["hazard_id"] == general["id"]
    assert f"由一般隐患重新定级为重大事故隐患，理由：{reason}" in notes[0]["body"]
    # Audited: the hazard's row changed from general to major, by the organisation's user.
    audit = ok(client.get(f"{T}/audit", headers=w["admin"], query_string={
        "action": "hazard.update", "entity_id": str(general["id"])}))["items"]
    assert [(a["before"]["grade"], a["after"]["grade"], a["actor_user_id"]) for a in audit] == [
        ("general", "major", w["service_org_id"])]
    # The same grade again is a conflict; only the bureau makes a major hazard general.
    r = client.post(url, headers=etag(client, org, general["id"]), json=upgrade)
    assert r.status_code == 409 and r.json["detail"] == "隐患已是重大事故隐患，无需重新定级"
    down = {"grade": "general", "reason": "经局里复核，除尘器设有泄爆片，不构成重大事故隐患"}
    r = client.post(f"{T}/hazards/{major['id']}/grade", headers=etag(client, org, major["id"]),
                    json=down)
    assert r.status_code == 403 and r.json["detail"] == "只有监管部门可以将重大事故隐患改为一般隐患"
    lowered = ok(client.post(f"{T}/hazards/{major['id']}/grade",
                             headers=etag(client, bureau, major["id"]), json=down))
    # Made general without a deadline, it gets the default ten working days from today.
    assert (lowered["grade"], lowered["grade_criterion"], lowered["deadline_start"],
            lowered["deadline_workdays"]) == ("general", "", local_today().isoformat(), 10)
    assert len(ok(client.get(f"{T}/notifications", headers=bureau))["items"]) == 3  # no news


# --- 摸底排查: the day an inspection was carried out ------------------------------------------

def test_an_inspection_records_the_day_it_was_carried_out(app, client, w):
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B")
    contract(client, w, cid, "AB")
    org = w["service_org"]
    # B was surveyed on 15 June 2022 and entered today; the hazard found there is found that
    # day, and its ten working days run from it: 16, 17 (2); 20-24 (7); 27, 28, 29 June (10).
    iid, view = inspect_on(client, org, w["ent"]["B"], cid, SURVEY, performed_on="2022-06-15",
                           answers={"S02": ("no", {"title": "车间私拉乱接电线"})})
    inspection = view["inspection"]
    assert inspection["performed_on"] == "2022-06-15"
    today = local_today().isoformat()
    assert inspection["submitted_at"] is not None
    assert ok(client.get(f"{T}/inspections/{iid}", headers=w["viewer"]))["inspection"][
        "performed_on"] == "2022-06-15"
    hazard = ok(client.get(f"{T}/hazards/{hazard_of(view, 'S02')}", headers=w["supervisor"]))
    assert (hazard["found_on"], hazard["deadline"]) == ("2022-06-15", "2022-06-29")
    # A day to come is refused; the day may be corrected when submitting. Entered without a
    # day, an inspection was carried out today.
    r = client.post(f"{T}/inspections", headers=org, json={
        "enterprise_id": w["ent"]["A"], "campaign_id": cid, "template_key": SURVEY,
        "performed_on": (local_today() + dt.timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and r.json["errors"] == {"performed_on": ["检查日期不能晚于今天"]}
    _, view = inspect_on(client, org, w["ent"]["A"], cid, SURVEY)
    assert view["inspection"]["performed_on"] == today
    _, view = inspect_on(client, org, w["ent"]["A"], cid, SURVEY, submitted_as="2022-06-20")
    assert view["inspection"]["performed_on"] == "2022-06-20"
    # The baseline's survey date is the day of the first survey carried out: A's 20 June (its
    # entered 15 June gives way to the inspection), B's 15 June, not the day they were entered.
    table = make_report(app, client, w, "qinhuangdao_baseline", "json", {"campaign_id": cid})["data"]
    rows = {r["enterprise_id"]: r for r in table["enterprises"]}
    assert (rows[w["ent"]["A"]]["qhd_survey_on"], rows[w["ent"]["B"]]["qhd_survey_on"]) == (
        "2022-06-20", "2022-06-15")


# --- the service organisation's reports -------------------------------------------------------

def test_the_service_organisation_reads_its_reports_and_its_enterprises_acceptance_reports(
        app, client, w):
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C")
    contract(client, w, cid, "AB")  # the organisation serves A and B, not C
    org = w["service_org"]
    # A colleague at the same organisation, and another organisation's user (it serves none).
    colleague_id, colleague = make_user(app, "qhd-colleague", w["tenant"], "service_org")
    ok(client.post(f"{T}/service-organisations/{w['org']}/staff", headers=w["admin"],
                   json={"user_id": colleague_id}), 201)
    other_org = ok(client.post(f"{T}/service-organisations", headers=w["admin"],
                               json={"name": "秦皇岛正安安全评价有限公司"}), 201)
    stranger_id, stranger = make_user(app, "qhd-stranger", w["tenant"], "service_org")
    ok(client.post(f"{T}/service-organisations/{other_org['id']}/staff", headers=w["admin"],
                   json={"user_id": stranger_id}), 201)
    colleague, stranger = ({"Authorization": f"Bearer {t}"} for t in (colleague, stranger))

    # A's acceptance by the organisation asks for its report (requested by the inspector);
    # B's and C's acceptances are the bureau's own (requested by the supervisor).
    inspect_on(client, org, w["ent"]["A"], cid, ACCEPTANCE)
    inspect_on(client, w["supervisor"], w["ent"]["B"], cid, ACCEPTANCE)
    inspect_on(client, w["supervisor"], w["ent"]["C"], cid, ACCEPTANCE)
    made = wait_reports(app, client, w, ACCEPTANCE_KIND, count=3)
    a, b, c = made
    assert [(r["requested_by"], r["enterprise_id"]) for r in made] == [
        (w["service_org_id"], w["ent"]["A"]), (w["supervisor_id"], w["ent"]["B"]),
        (w["supervisor_id"], w["ent"]["C"])]
    baseline = make_report(app, client, w, "qinhuangdao_baseline", "json", {"campaign_id": cid})

    # The organisation (the requester, and its colleague) reads A's report, the one it asked
    # for, and B's, an acceptance report of an enterprise it serves; it downloads them.
    for headers in (org, colleague):
        listed = ok(client.get(f"{T}/reports", headers=headers))
        assert sorted(r["id"] for r in listed["items"]) == sorted([a["id"], b["id"]])
        for report in (a, b):
            detail = ok(client.get(f"{T}/reports/{report['id']}", headers=headers))
            assert detail["download_url"]
            assert fetch_as(client, headers, detail)[:5] == b"%PDF-"
        # C's (an enterprise it does not serve) and the bureau's baseline are as absent as a
        # missing report.
        for report in (c, baseline):
            for url in (f"{T}/reports/{report['id']}", f"{T}/reports/{report['id']}/download"):
                r = client.get(url, headers=headers)
                assert r.status_code == 404 and r.json["detail"] == "报表不存在", url
    # Another organisation reads none of them.
    assert ok(client.get(f"{T}/reports", headers=stranger))["total"] == 0
    for report in (a, b, c):
        assert client.get(f"{T}/reports/{report['id']}", headers=stranger).status_code == 404
        assert client.get(f"{T}/reports/{report['id']}/download",
                          headers=stranger).status_code == 404
    # Nobody but the bureau asks for a report (enterprise users read none: test_reports.py).
    assert client.post(f"{T}/reports", headers=org, json={
        "kind": ACCEPTANCE_KIND, "format": "json",
        "params": {"enterprise_id": w["ent"]["A"], "campaign_id": cid}}).status_code == 403


# --- 第五阶段: 不积极配合, or not yet surveyed ----------------------------------------------------

def test_enforcement_candidates_tell_not_yet_surveyed_from_uncooperative(app, client, w):
    """Five targets, the service window closed on 31 August 2022: A barred the organisation
    (referred as uncooperative), B and C were never visited, D and E were surveyed. One
    enterprise did not cooperate; two are not yet surveyed; none of those is called
    uncooperative for nobody having come."""
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C", "D", "E")
    contract(client, w, cid, "ABCDE")
    ok(client.post(f"{T}/enforcement-referrals", headers=w["supervisor"], json={
        "enterprise_id": w["ent"]["A"], "campaign_id": cid, "reason": "uncooperative",
        "reason_text": "拒绝服务机构进入现场检查"}), 201)
    for short in "DE":
        inspect_on(client, w["service_org"], w["ent"][short], cid, SURVEY, performed_on="2022-07-06")
    listed = ok(client.get(f"{T}/enforcement-referrals/candidates", headers=w["viewer"],
                           query_string={"campaign_id": cid}))
    reasons = {c["enterprise_id"]: c["reasons"] for c in listed["items"]}
    assert reasons == {w["ent"]["A"]: ["不积极配合社会化服务"],
                       w["ent"]["B"]: [NOT_SURVEYED], w["ent"]["C"]: [NOT_SURVEYED]}
    plans = make_report(app, client, w, "qinhuangdao_enforcement_plan", "json",
                        {"campaign_id": cid, "on": "2022-09-30"})["data"]["enterprises"]
    codes = {p["enterprise_id"]: [r["code"] for r in p["reasons"]] for p in plans}
    assert codes == {w["ent"]["A"]: ["uncooperative"], w["ent"]["B"]: ["not_surveyed"],
                     w["ent"]["C"]: ["not_surveyed"]}


# --- 第三阶段: the acceptance report ---------------------------------------------------------

def test_the_acceptance_report_one_conclusion_numbered_issued_for_the_bureau(app, client, w):
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "B", "C")
    contract(client, w, cid, "BC")
    org = w["service_org"]
    # B: surveyed on 15 June 2022, accepted on Thursday 25 August 2022 missing criterion 4.
    inspect_on(client, org, w["ent"]["B"], cid, SURVEY, performed_on="2022-06-15")
    opinion = "企业应急预案未按规定修订，其余问题整改到位，建议督促企业限期完善应急预案"
    iid, _ = inspect_on(client, org, w["ent"]["B"], cid, ACCEPTANCE, performed_on="2022-08-25",
                        answers={"YS04": "no"}, conclusion=opinion)
    # C: accepted on Friday 4 December 2026, never surveyed.
    cid_iid, _ = inspect_on(client, org, w["ent"]["C"], cid, ACCEPTANCE, performed_on="2026-12-04")
    pdfs = {r["params"]["inspection_id"]: r
            for r in wait_reports(app, client, w, ACCEPTANCE_KIND, count=2)}

    data = make_report(app, client, w, ACCEPTANCE_KIND, "json", {"inspection_id": iid})["data"]
    # Numbered once per acceptance (the same in every format), issued by the organisation
    # for the bureau.
    assert data["report_number"] == f"QHDSHFW-2022-{iid:05d}"
    assert (data["issued_by"], data["issued_by_service_organisation"], data["issued_for"]) == (
        ORG, True, BUREAU)
    # Dated by the inspections: the acceptance's day and the survey's day, not when entered.
    assert data["accepted_on"] == "2022-08-25"
    assert data["enterprise"]["qhd_survey_on"] == "2022-06-15"
    # One conclusion, the rule's, labelled as computed; the organisation's words beside it,
    # labelled as its opinion.
    assert (data["conclusion"], data["conclusion_label"]) == ("基本合格", "按验收判定规则得出的结论")
    assert data["reasons"] == ["验收标准第4项未达到：企业的应急预案符合目前法定标准"]
    assert (data["service_opinion"], data["service_opinion_label"]) == (opinion, "服务机构复查验收意见")
    # The bureau's spot check, 20 working days after 25 August 2022: 26 Aug (1); 29 Aug-2 Sep
    # (6); 5-9 Sep (11); Mid-Autumn Monday 12 Sep off, 13-16 Sep (15); 19-23 Sep (20). The
    # 2022 calendar is published: not provisional.
    assert (data["spot_check_due"], data["spot_check_due_provisional"]) == ("2022-09-23", False)

    text = pdf_text(fetch_as(client, w["viewer"], pdfs[iid]))
    assert f"报告编号：QHDSHFW-2022-{iid:05d}" in text
    assert f"出具单位：{ORG}（第三方安全技术服务机构）" in text and f"报送：{BUREAU}" in text
    assert "复查验收日期：2022-08-25" in text and "摸底排查日期2022-06-15" in text
    assert text.count("结论：") == 1 and "结论：基本合格（按验收判定规则得出的结论，理由如下）" in text
    assert f"服务机构复查验收意见：{opinion}" in text
    assert "2022-09-23" in text and "暂定" not in text

    # C's acceptance on Friday 4 December 2026: 7-11 Dec (5), 14-18 (10), 21-25 (15),
    # 28-31 (19), Friday 1 January 2027 (20), a year whose holidays are not published yet:
    # counted Monday to Friday and marked 暂定. Never surveyed: 有无重大隐患 is 未排查.
    data = make_report(app, client, w, ACCEPTANCE_KIND, "json", {"inspection_id": cid_iid})["data"]
    assert (data["spot_check_due"], data["spot_check_due_provisional"]) == ("2027-01-01", True)
    assert data["report_number"] == f"QHDSHFW-2026-{cid_iid:05d}"
    assert (data["enterprise"]["major_accident_hazard"],
            data["enterprise"]["major_accident_hazard_label"]) == (None, "未排查")
    assert (data["conclusion"], data["service_opinion"]) == ("合格", "")
    text = pdf_text(fetch_as(client, w["viewer"], pdfs[cid_iid]))
    assert "2027-01-01（暂定）" in text
    assert "有无重大隐患未排查" in text and "摸底排查日期未排查" in text
    assert "服务机构复查验收意见：（未填写）" in text


# --- 验收标准 1: 有无重大隐患, or 未排查 --------------------------------------------------------------

def test_the_baseline_says_not_surveyed_where_no_survey_was_made(app, client, w):
    """Four targets: A surveyed (its date entered from the zone's sheets) and B surveyed on
    the platform, neither with a major hazard (无); C never surveyed, but the bureau found a
    major hazard there itself (有); E never surveyed and nothing known (未排查, not 无)."""
    campaign = create_campaign(client, w)
    cid = campaign["id"]
    target(client, w, cid, "A", "B", "C", "E")
    contract(client, w, cid, "ABCE")
    inspect_on(client, w["service_org"], w["ent"]["B"], cid, SURVEY, performed_on="2022-06-21")
    ok(client.post(f"{T}/hazards", headers=w["supervisor"], json={
        "enterprise_id": w["ent"]["C"], "campaign_id": cid, "title": "冲压车间无安全出口",
        "grade": "major", "grade_criterion": "《工贸行业重大生产安全事故隐患判定标准（2017版）》"
                                             "通用类第2项"}), 201)
    table = make_report(app, client, w, "qinhuangdao_baseline", "json", {"campaign_id": cid})["data"]
    rows = {r["enterprise_id"]: r for r in table["enterprises"]}
    labels = {s: (rows[w["ent"][s]]["major_accident_hazard"],
                  rows[w["ent"][s]]["major_accident_hazard_label"]) for s in "ABCE"}
    assert labels == {"A": (False, "无"), "B": (False, "无"), "C": (True, "有"),
                      "E": (None, "未排查")}
    assert (table["targets"], table["with_major_accident_hazard"], table["not_surveyed"]) == (
        4, 1, 2)  # C and E were never surveyed; C's major hazard came from the bureau
    sheet = make_report(app, client, w, "qinhuangdao_baseline", "xlsx", {"campaign_id": cid})
    cells = list(openpyxl.load_workbook(io.BytesIO(fetch_as(client, w["viewer"], sheet)))[
        "安全底数"].iter_rows(values_only=True))
    column = cells[0].index("有无重大隐患")
    by_name = {row[0]: row[column] for row in cells[1:5]}
    assert by_name == {ENTERPRISES["A"][0]: "无", ENTERPRISES["B"][0]: "无",
                       ENTERPRISES["C"][0]: "有", ENTERPRISES["E"][0]: "未排查"}
    # A has every field; B lacks two, C and E all six.
    assert cells[6][0] == "服务对象4家（方案100家），信息完整1家，尚缺信息3家，有重大隐患1家，未排查2家"
    drain(app)
