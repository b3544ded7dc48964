"""An isolation matrix generated from the app's URL map (RELIABILITY 8, 10).

Every rule with ``<tenant_code>`` x every method x every kind of caller x (own
object, another tenant's object). A new tenant route without a recipe below
fails ``test_every_tenant_route_has_a_recipe``; a route without a declared
policy fails ``test_every_route_declares_a_policy``.

Who may call what comes from the hand-written table in tests/permissions_expected.py,
never from the routes' declarations: a route missing from it fails
``test_every_route_is_in_the_hand_written_table``, a declaration that disagrees with
it ``test_every_declared_permission_agrees_with_the_table``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from flask import Flask

from anjian.api.policy import (
    AUTHENTICATED,
    LIBRARY_ENDPOINTS,
    PLATFORM_ADMIN,
    READ_METHODS,
    policy_of,
)
from anjian.permissions import LINK_HOLDER, TENANT_ROLES
from tests.conftest import bearer
from tests.permissions_expected import ALLOWED

ROLES = tuple(TENANT_ROLES)
_counter = itertools.count(1)


def _n() -> int:
    return next(_counter)


# --- recipes: how to call each tenant endpoint ------------------------------------

@dataclass(frozen=True)
class Recipe:
    """``ids``: path parameter -> object kind (see ``World.own`` / ``World.foreign``).
    ``body``: a minimal valid JSON body (a callable, so each call can be unique)."""

    ids: dict = field(default_factory=dict)
    body: object = None
    query: dict = field(default_factory=dict)
    # Roles that only see objects they own: another owner's object is 404 to them.
    owner_only: frozenset = frozenset()
    # A multipart body instead of JSON (a callable returning the form fields).
    form: object = None
    # The route answers a success with a redirect (302) rather than a 2xx.
    redirects: bool = False
    # A body naming the tenant's own objects: a callable (world, tenant key) -> body.
    body_for: object = None
    # A query naming the tenant's own objects: a callable (world, tenant key) -> query.
    query_for: object = None
    # A POST that needs If-Match: the ETag is read from the resource the path is under.
    if_match: bool = False
    # Path parameters that name no object (a report kind, a period): fixed values.
    path: dict = field(default_factory=dict)


_ENTERPRISE_BOUND = frozenset({"service_org", "enterprise"})
# Routes plugins add (hook register_routes) are tenant routes like the core's; the world's
# tenants enable these plugins so that their routes answer.
MATRIX_PLUGINS = ["anjian_shenyang"]

RECIPES = {
    "plugin_anjian_shenyang.deadlines": Recipe(),
    "plugin_anjian_shenyang.rules_progress": Recipe(
        query_for=lambda w, k: {"campaign_id": w.own("campaign", k, fresh=False), "as_of": "2024-05-01"}),
    "tenants.get_tenant": Recipe(),
    # Access links: the bureau and service organisations issue them (a service organisation
    # for the enterprises it serves: the world's has none). The holder's routes take a link
    # (the callers "link:<tenant>"); a user's token never reaches them.
    "access_links.list_links": Recipe(query={"status": "active"}),
    "access_links.issue_link": Recipe(
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k], "contact_name": "矩阵联系人"},
        owner_only=frozenset({"service_org"})),
    "access_links.get_link": Recipe(ids={"link_id": "access_link"},
                                    owner_only=frozenset({"service_org"})),
    "access_links.revoke_link": Recipe(ids={"link_id": "access_link"}, body=lambda: {},
                                       owner_only=frozenset({"service_org"})),
    "access_link_policy.get_policy": Recipe(),
    "access_link_policy.put_policy": Recipe(body=lambda: {"valid_days": 10}),
    "link.about_link": Recipe(),
    "link.holder_hazards": Recipe(),
    "link.holder_hazard": Recipe(ids={"hazard_id": "hazard"}),
    # a fresh reported general hazard: rectified at once, with a note and a fresh file
    "link.holder_rectified": Recipe(
        ids={"hazard_id": "hazard"},
        body_for=lambda w, k: {"note": "矩阵整改", "evidence_ids": [w._inspecting("evidence", k)]}),
    "link.holder_upload": Recipe(form=lambda: {"file": (_png(), "整改.png")}),
    # the world's link names a self-inspection, started and answered (``World._access_link``):
    # its answers are given again, then it is submitted (the url map's order)
    "link.holder_inspection": Recipe(),
    "link.holder_start_inspection": Recipe(body=lambda: {}),
    "link.holder_answer": Recipe(body_for=lambda w, k: {
        "results": [{"item_id": w.own("item", k, False), "answer": "yes"}]}),
    "link.holder_submit": Recipe(body=lambda: {}),
    "tenants.update_tenant": Recipe(body=lambda: {"name": f"改名{_n()}"}),
    "tenants.list_areas": Recipe(query={"include_inactive": "true"}),
    "tenants.create_area": Recipe(
        body=lambda: {"code": f"new-{_n()}", "name": "新区域", "kind": "sector"}),
    "tenants.get_area": Recipe(ids={"area_id": "area"}),
    "tenants.update_area": Recipe(ids={"area_id": "area"}, body=lambda: {"name": f"区{_n()}"}),
    "tenants.delete_area": Recipe(ids={"area_id": "area"}),
    "auth.list_members": Recipe(),
    "auth.add_member": Recipe(body=lambda: {
        "username": f"mx-a-newmember{_n()}", "role": "viewer", "password": "Long-enough-pass-123"}),
    "auth.update_member": Recipe(ids={"member_id": "member"}, body=lambda: {"role": "supervisor"}),
    "auth.remove_member": Recipe(ids={"member_id": "member"}),
    "auth.reset_member_password": Recipe(ids={"member_id": "member"},
                                         body=lambda: {"new_password": f"Matrix-pass-{_n()}"}),
    "auth.disable_member": Recipe(ids={"member_id": "member"}, body=lambda: {"reason": "矩阵"}),
    "auth.enable_member": Recipe(ids={"member_id": "member"}, body=lambda: {}),
    "auth.list_invitations": Recipe(query={"state": "pending"}),
    "auth.create_invitation": Recipe(body=lambda: {"role": "viewer", "note": "矩阵邀请"}),
    "auth.revoke_invitation": Recipe(ids={"invitation_id": "invitation"}, body=lambda: {}),
    "audit.tenant_audit": Recipe(),
    "enterprises.list_enterprises": Recipe(query={"include_deleted": "true"}),
    "enterprises.create_enterprise": Recipe(
        body=lambda: {"credit_code": _credit_code(_n()), "name": "矩阵测试企业"}),
    # Enterprise users see their own enterprise, service organisations their assigned ones.
    "enterprises.get_enterprise": Recipe(ids={"enterprise_id": "enterprise"},
                                         owner_only=frozenset({"service_org", "enterprise"})),
    "enterprises.update_enterprise": Recipe(
        ids={"enterprise_id": "enterprise"}, body=lambda: {"employees": _n()}),
    "enterprises.delete_enterprise": Recipe(ids={"enterprise_id": "enterprise"}),
    "jobs.list_jobs": Recipe(),
    # The probe job was started by nobody in particular: only admins and supervisors see it.
    "jobs.get_job": Recipe(ids={"job_id": "job"},
                           owner_only=frozenset({"service_org", "enterprise", "viewer"})),
    "jobs.retry_job": Recipe(ids={"job_id": "job"}, body=lambda: {}),
    "enterprise_imports.download_template": Recipe(),
    "enterprise_imports.list_profiles": Recipe(),
    "enterprise_imports.upload": Recipe(form=lambda: {"file": (_import_xlsx(), "企业名单.xlsx")}),
    "enterprise_imports.rejected_rows": Recipe(ids={"job_id": "import_job"}),
    "enterprise_exports.create_export": Recipe(body=lambda: {"industry": "机械"}),
    # A finished export with its file (started by nobody in particular, like the probe job).
    "enterprise_exports.download_export": Recipe(
        ids={"job_id": "export"}, owner_only=frozenset({"viewer"}), redirects=True),
    # The hazard closed loop: enterprise users and service organisations reach only their
    # enterprises' hazards (the world's users have none); notifications are their user's own.
    "hazards.list_hazards": Recipe(query={"overdue": "false"}),
    "hazards.report_hazard": Recipe(
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k], "title": f"矩阵隐患{_n()}"},
        owner_only=_ENTERPRISE_BOUND),
    "hazards.get_hazard": Recipe(ids={"hazard_id": "hazard"}, owner_only=_ENTERPRISE_BOUND),
    "hazards.update_hazard": Recipe(ids={"hazard_id": "hazard"},
                                    body=lambda: {"location": f"位置{_n()}"},
                                    owner_only=_ENTERPRISE_BOUND),
    "hazards.transition_hazard": Recipe(
        ids={"hazard_id": "hazard"}, if_match=True, owner_only=_ENTERPRISE_BOUND,
        body=lambda: {"action": "plan", "responsible_person": "张三", "measures": "整改",
                      "funds": "100", "deadline_workdays": 5, "contingency_plan": "警示"}),
    "hazards.regrade_hazard": Recipe(
        ids={"hazard_id": "hazard"}, if_match=True, owner_only=_ENTERPRISE_BOUND,
        body=lambda: {"grade": "major", "reason": "矩阵重新定级", "grade_criterion": "矩阵判定依据"}),
    "hazards.hazard_history": Recipe(ids={"hazard_id": "hazard"}, owner_only=_ENTERPRISE_BOUND),
    "notifications.list_notifications": Recipe(query={"unread": "true"}),
    # Notifications out: channels, rules and the delivery log are the tenant admins'; every
    # member keeps their own preferences. A retry sends a failed delivery again (made anew).
    "channels.list_channel_kinds": Recipe(),
    "channels.list_channels": Recipe(query={"active": "true"}),
    "channels.create_channel": Recipe(body=lambda: {
        "kind": "webhook", "name": f"矩阵渠道{_n()}", "settings": {"url": "http://127.0.0.1:9/hook"},
        "secrets": {"signing_secret": "matrix-signing-secret"}}),
    "channels.get_channel": Recipe(ids={"channel_id": "channel"}),
    "channels.update_channel": Recipe(ids={"channel_id": "channel"},
                                      body=lambda: {"name": f"矩阵渠道{_n()}"}),
    "channels.get_channel_rules": Recipe(),
    "channels.set_channel_rules": Recipe(body_for=lambda w, k: {"rules": [
        {"event": "major_hazard", "channel_id": w.channels["channel"][k]}]}),
    "channels.get_my_channel_preferences": Recipe(),
    "channels.set_my_channel_preferences": Recipe(body_for=lambda w, k: {"rules": [
        {"event": "report_ready", "channel_id": w.channels["channel"][k]}]}),
    "channels.list_channel_deliveries": Recipe(query={"status": "failed"}),
    "channels.retry_channel_delivery": Recipe(ids={"delivery_id": "delivery"}, body=lambda: {}),
    # Safety standardisation: enterprise users and service organisations reach only their
    # enterprises' certifications (the world's users have none).
    "standardisation.list_certifications": Recipe(query={"state": "achieved"}),
    "standardisation.create_certification": Recipe(
        body_for=lambda w, k: {"enterprise_id": w.own("enterprise", k, fresh=True)}),
    "standardisation.get_certification": Recipe(ids={"certification_id": "certification"},
                                                owner_only=_ENTERPRISE_BOUND),
    "standardisation.transition": Recipe(
        ids={"certification_id": "certification"}, if_match=True, owner_only=_ENTERPRISE_BOUND,
        body=lambda: {"action": "delist", "reason": "矩阵摘牌"}),
    "standardisation.record_check": Recipe(
        ids={"certification_id": "certification"}, owner_only=_ENTERPRISE_BOUND,
        body=lambda: {"kind": "lookback", "checked_on": "2024-06-01", "conclusion": "pass"}),
    "standardisation.list_classes": Recipe(query={"code": "A"}),
    "standardisation.run_classification": Recipe(body=lambda: {}),
    "standardisation.worklist": Recipe(),
    "standardisation.get_progress": Recipe(query={"year": "2024"}),
    "standardisation.list_targets": Recipe(query={"year": "2024"}),
    "standardisation.set_target": Recipe(
        body=lambda: {"year": 2024, "metric": "achieved_total", "value": "10"}),
    "standardisation.certificate_import_profile": Recipe(),
    "standardisation.import_certificates": Recipe(form=lambda: {"file": (_certificate_xlsx(), "证书名单.xlsx")}),
    # Enterprise ledgers (a drill of the world's enterprise): enterprise users and service
    # organisations reach only their enterprises' entries (the world's users have none).
    "ledgers.list_kinds": Recipe(),
    "ledgers.list_attention": Recipe(query={"standing": "expired"}),
    "ledgers.certified": Recipe(
        query_for=lambda w, k: {"enterprise_id": w.enterprises[k], "work_kind": "焊接", "name": "张三"},
        owner_only=_ENTERPRISE_BOUND),
    "ledgers.list_entries": Recipe(path={"kind_key": "drills"}, query={"standing": "valid"}),
    "ledgers.create_entry": Recipe(
        path={"kind_key": "drills"}, owner_only=_ENTERPRISE_BOUND,
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k],
                               "data": {"held_on": "2024-04-20", "scenario": "矩阵演练", "participants": 5}}),
    "ledgers.get_entry": Recipe(ids={"entry_id": "ledger_entry"}, path={"kind_key": "drills"},
                                owner_only=_ENTERPRISE_BOUND),
    "ledgers.update_entry": Recipe(ids={"entry_id": "ledger_entry"}, path={"kind_key": "drills"},
                                   owner_only=_ENTERPRISE_BOUND,
                                   body=lambda: {"data": {"participants": _n()}}),
    "ledgers.delete_entry": Recipe(ids={"entry_id": "ledger_entry"}, path={"kind_key": "drills"},
                                   owner_only=_ENTERPRISE_BOUND),
    "ledgers.export_entries": Recipe(path={"kind_key": "drills"}),
    "ledgers.ledger_import_profile": Recipe(path={"kind_key": "drills"}, owner_only=_ENTERPRISE_BOUND),
    "ledgers.import_entries": Recipe(path={"kind_key": "drills"}, owner_only=_ENTERPRISE_BOUND,
                                     form=lambda: {"file": (_drills_xlsx(), "演练记录.xlsx")}),
    # Dangerous-work permits (a requested permit of the world's enterprise): enterprise users
    # and service organisations reach only their enterprises' permits (the world's users
    # have none); a step is a cancel, which a requested permit allows.
    "permits.list_kinds": Recipe(),
    "permits.key_time": Recipe(query={"at": "2024-05-01T10:00:00+08:00"}),
    "permits.list_permits": Recipe(query={"open": "true", "kind": "confined_space"}),
    "permits.create_permit": Recipe(
        owner_only=_ENTERPRISE_BOUND,
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k], "kind": "confined_space",
                               "location": "矩阵储罐", "planned_start": "2024-05-08T09:00:00+08:00",
                               "workers": [{"name": "张三"}]}),
    "permits.open_permits": Recipe(),
    "permits.permit_summary": Recipe(query={"year": "2024"}),
    "permits.export_permits": Recipe(query={"state": "requested"}),
    "permits.get_permit": Recipe(ids={"permit_id": "permit"}, owner_only=_ENTERPRISE_BOUND),
    "permits.transition_permit": Recipe(
        ids={"permit_id": "permit"}, if_match=True, owner_only=_ENTERPRISE_BOUND,
        body=lambda: {"action": "cancel", "reason": "矩阵取消"}),
    # Dual prevention (a risk point of the world's enterprise): enterprise users and service
    # organisations reach only their enterprises' points (the world's users have none).
    "risks.grading_scales": Recipe(),
    "risks.list_catalogues": Recipe(query={"level": "major"}),
    "risks.list_points": Recipe(query={"level": "general", "regrade": "false"}),
    "risks.create_point": Recipe(
        owner_only=_ENTERPRISE_BOUND,
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k], "name": f"矩阵风险点{_n()}",
                               "kind": "equipment", "managing_level": "team", "method": "lec",
                               "likelihood": 3, "exposure": 6, "consequence": 7,
                               "controls": [{"kind": "engineering", "measure": "转动部位设防护罩"}]}),
    "risks.get_point": Recipe(ids={"point_id": "risk_point"}, owner_only=_ENTERPRISE_BOUND),
    "risks.update_point": Recipe(ids={"point_id": "risk_point"}, owner_only=_ENTERPRISE_BOUND,
                                 body=lambda: {"location": f"矩阵车间{_n()}"}),
    "risks.regrade_point": Recipe(
        ids={"point_id": "risk_point"}, if_match=True, owner_only=_ENTERPRISE_BOUND,
        body=lambda: {"method": "ls", "likelihood": 3, "consequence": 4, "reason": "矩阵复评"}),
    "risks.retire_point": Recipe(ids={"point_id": "risk_point"}, if_match=True,
                                 owner_only=_ENTERPRISE_BOUND, body=lambda: {}),
    "risks.inspection_tasks": Recipe(query={"managing_level": "team"}),
    "risks.regenerate_checklist": Recipe(ids={"enterprise_id": "enterprise"}, body=lambda: {},
                                         owner_only=_ENTERPRISE_BOUND),
    "risks.enterprise_register": Recipe(ids={"enterprise_id": "enterprise"}, owner_only=_ENTERPRISE_BOUND),
    "risks.risk_picture": Recipe(query={"by": "grid"}),
    "risks.city_export": Recipe(),
    "accidents.list_accidents": Recipe(),
    "accidents.record_accident": Recipe(
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k], "occurred_on": "2024-01-02",
                               "severity": "minor"}),
    # An accident and its investigation: enterprise users and service organisations reach only
    # their enterprises' accidents (the world's users have none); deleting is the bureau's.
    "accidents.get_accident": Recipe(ids={"accident_id": "accident"}, owner_only=_ENTERPRISE_BOUND),
    "accidents.update_accident": Recipe(ids={"accident_id": "accident"}, owner_only=_ENTERPRISE_BOUND,
                                        body=lambda: {"causes": f"矩阵原因{_n()}"}),
    "accidents.delete_accident": Recipe(ids={"accident_id": "accident"}),
    # Ledger duties: each caller gets the enterprises it sees (the world's tenants have no
    # duty, so a finding is never raised).
    "ledger_duties.list_duty_status": Recipe(query={"as_of": "2024-06-30", "status": "missed"}),
    "ledger_duties.raise_findings": Recipe(body=lambda: {"as_of": "2024-06-30"}),
    # Rules (规章制度): enterprise users and service organisations reach only their
    # enterprises' checklists (the world's users have none); the world has no template, so
    # an empty list of items is a valid PUT.
    "rules.list_templates": Recipe(query={"q": "制度"}),
    "rules.import_templates": Recipe(form=lambda: {"file": (_rule_template_xlsx(), "规章制度模板.xlsx")}),
    "rules.get_enterprise_rules": Recipe(ids={"enterprise_id": "enterprise"}, query={"status": "missing"},
                                         owner_only=_ENTERPRISE_BOUND),
    "rules.set_enterprise_rules": Recipe(ids={"enterprise_id": "enterprise"}, body=lambda: {"items": []},
                                         owner_only=_ENTERPRISE_BOUND),
    "rules.rules_summary": Recipe(query={"per_page": "10"}),
    "notifications.read_notification": Recipe(ids={"notification_id": "notification"},
                                              body=lambda: {}, owner_only=frozenset(ROLES)),
    "enforcement_referrals.list_referrals": Recipe(query={"status": "open"}),
    "enforcement_referrals.list_enforcement_candidates": Recipe(
        query_for=lambda w, k: {"campaign_id": w.own("campaign", k, fresh=False)}),
    "enforcement_referrals.create_referral": Recipe(
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k], "reason": "uncooperative"}),
    "enforcement_referrals.get_referral": Recipe(ids={"referral_id": "referral"}),
    "enforcement_referrals.decide_referral": Recipe(ids={"referral_id": "referral"},
                                                    body=lambda: {"decision": "order_rectify"}),
    "enforcement_referrals.close_referral": Recipe(ids={"referral_id": "decided_referral"},
                                                   body=lambda: {"outcome": "已整改"}),
    # Campaigns: everybody reads them; restricted roles see only their enterprises' targets
    # and tasks (a campaign-wide task is the bureau's).
    "campaign_kinds.list_kinds": Recipe(),
    "campaigns.list_campaigns": Recipe(query={"status": "draft"}),
    "campaigns.create_campaign": Recipe(body=lambda: {"title": f"矩阵行动{_n()}"}),
    "campaigns.get_campaign": Recipe(ids={"campaign_id": "campaign"}),
    "campaigns.update_campaign": Recipe(ids={"campaign_id": "campaign"},
                                        body=lambda: {"title": f"矩阵行动{_n()}"}),
    "campaigns.change_status": Recipe(ids={"campaign_id": "campaign"},
                                      body=lambda: {"status": "active"}),
    "campaigns.list_targets": Recipe(ids={"campaign_id": "campaign"}),
    "campaigns.add_targets": Recipe(ids={"campaign_id": "campaign"},
                                    body=lambda: {"filter": {"industry": "机械"}}),
    "campaigns.remove_target": Recipe(ids={"campaign_id": "campaign", "target_id": "target"}),
    "campaigns.assign_target": Recipe(ids={"campaign_id": "campaign", "target_id": "target"},
                                      body=lambda: {"user_id": None}),
    "campaigns.list_tasks": Recipe(ids={"campaign_id": "campaign"}, query={"status": "open"}),
    "campaigns.complete_task": Recipe(ids={"campaign_id": "campaign", "task_id": "task"},
                                      body=lambda: {}, owner_only=_ENTERPRISE_BOUND),
    "campaigns.progress": Recipe(ids={"campaign_id": "campaign"}),
    "checklist_templates.list_templates": Recipe(),
    "checklist_templates.create_template": Recipe(body=lambda: {
        "key": f"mx-new-{_n()}", "title": "矩阵检查表", "items": [{"code": "1", "text": "内容"}]}),
    "checklist_templates.get_template": Recipe(ids={"template_key": "template"}),
    "checklist_templates.update_template": Recipe(
        ids={"template_key": "template"},
        body=lambda: {"title": f"矩阵检查表{_n()}", "items": [{"code": "1", "text": "改"}]}),
    "checklist_templates.list_versions": Recipe(ids={"template_key": "template"}),
    "inspections.list_inspections": Recipe(query={"status": "draft"}),
    "inspections.create_inspection": Recipe(
        body_for=lambda w, k: {"enterprise_id": w.enterprises[k],
                               "template_key": w.inspecting["template"][k]},
        owner_only=_ENTERPRISE_BOUND),
    "inspections.get_inspection": Recipe(ids={"inspection_id": "inspection"},
                                         owner_only=_ENTERPRISE_BOUND),
    "inspections.put_result": Recipe(ids={"inspection_id": "inspection", "item_id": "item"},
                                     body=lambda: {"answer": "yes"}, owner_only=_ENTERPRISE_BOUND),
    "inspections.put_results": Recipe(ids={"inspection_id": "inspection"},
                                      body=lambda: {"results": []},
                                      owner_only=_ENTERPRISE_BOUND),
    "inspections.submit_inspection": Recipe(ids={"inspection_id": "inspection"},
                                            body=lambda: {}, owner_only=_ENTERPRISE_BOUND),
    "evidence.upload_evidence": Recipe(form=lambda: {"file": (_png(), "现场照片.png")}),
    "evidence.get_evidence": Recipe(ids={"evidence_id": "evidence"},
                                    owner_only=_ENTERPRISE_BOUND),
    # Reports: admins and supervisors request and enter figures, viewers read; the world's
    # report is a finished .xlsx of the core kind.
    "report_kinds.list_kinds": Recipe(),
    "reports.list_reports": Recipe(query={"status": "ready"}),
    "reports.create_report": Recipe(body_for=lambda w, k: {
        "kind": "campaign_progress", "format": "json",
        "params": {"campaign_id": w.inspecting["campaign"][k]}}),
    # The world's report was requested by nobody and is about no enterprise: a service
    # organisation's user gets 404 (its list is empty).
    "reports.get_report": Recipe(ids={"report_id": "report"}, owner_only=frozenset({"service_org"})),
    "reports.download_report": Recipe(ids={"report_id": "report"}, redirects=True,
                                      owner_only=frozenset({"service_org"})),
    "reports.get_figures": Recipe(path={"kind": "campaign_progress", "period": "2026-11-23"}),
    "reports.put_figures": Recipe(path={"kind": "campaign_progress", "period": "2026-11-23"},
                                  body=lambda: {"figures": []}),
    # Third-party services: a service organisation's user sees only its organisation's
    # contracts (the world's service_org users work for none); spot checks are the bureau's.
    "service_organisations.list_organisations": Recipe(query={"active": "true"}),
    "service_organisations.create_organisation": Recipe(body=lambda: {"name": f"矩阵机构{_n()}"}),
    "service_organisations.get_organisation": Recipe(ids={"organisation_id": "organisation"},
                                                     owner_only=frozenset({"service_org"})),
    "service_organisations.update_organisation": Recipe(
        ids={"organisation_id": "organisation"}, body=lambda: {"contact_name": f"联系人{_n()}"}),
    "service_organisations.delete_organisation": Recipe(
        ids={"organisation_id": "spare_organisation"}),
    "service_organisations.list_staff": Recipe(ids={"organisation_id": "organisation"},
                                               owner_only=frozenset({"service_org"})),
    "service_organisations.add_staff": Recipe(
        ids={"organisation_id": "organisation"},
        body_for=lambda w, k: {"user_id": w.spare_service_users[k]}),
    "service_organisations.remove_staff": Recipe(
        ids={"organisation_id": "organisation", "user_id": "staff"}),
    "service_contracts.list_contracts": Recipe(query={"status": "active"}),
    "service_contracts.create_contract": Recipe(body_for=lambda w, k: {
        "organisation_id": w.services["organisation"][k], "title": "矩阵合同",
        "starts_on": "2024-01-01", "ends_on": "2024-12-31",
        "enterprise_ids": [w.enterprises[k]]}),
    "service_contracts.get_contract": Recipe(ids={"contract_id": "contract"},
                                             owner_only=frozenset({"service_org"})),
    "service_contracts.update_contract": Recipe(ids={"contract_id": "contract"},
                                                body=lambda: {"title": f"矩阵合同{_n()}"}),
    "service_contracts.revoke_contract": Recipe(ids={"contract_id": "revocable_contract"},
                                                body=lambda: {}),
    "service_contracts.list_contract_enterprises": Recipe(
        ids={"contract_id": "contract"}, query={"current": "true"},
        owner_only=frozenset({"service_org"})),
    "service_contracts.add_contract_enterprises": Recipe(
        ids={"contract_id": "contract"},
        body_for=lambda w, k: {"enterprise_ids": [w.enterprises[k]]}),
    "service_contracts.remove_contract_enterprise": Recipe(
        ids={"contract_id": "contract", "enterprise_id": "contract_enterprise"}),
    "service_contracts.contract_compliance": Recipe(
        ids={"contract_id": "contract"}, query={"as_of": "2024-06-30"},
        owner_only=frozenset({"service_org"})),
    "service_contracts.contract_costs": Recipe(ids={"contract_id": "contract"},
                                               query={"year": "1"}),
    "service_contracts.list_samples": Recipe(ids={"contract_id": "contract"}),
    "service_contracts.draw_sample": Recipe(ids={"contract_id": "contract"},
                                            body=lambda: {"ratio": 0.5}),
    "service_contracts.get_sample": Recipe(ids={"contract_id": "contract", "sample_id": "sample"}),
    "service_contracts.record_finding": Recipe(
        ids={"contract_id": "contract", "sample_id": "sample", "enterprise_id": "sample_enterprise"},
        body=lambda: {"finding": "satisfactory", "note": f"抽查{_n()}"}),
    "service_records.list_records": Recipe(query={"kind": "guidance"}),
    "service_records.create_record": Recipe(
        body_for=lambda w, k: {"contract_id": w.services["contract"][k],
                               "enterprise_id": w.enterprises[k], "kind": "guidance",
                               "done_on": "2024-06-01"},
        owner_only=frozenset({"service_org"})),
    "service_records.get_record": Recipe(ids={"record_id": "record"},
                                         owner_only=_ENTERPRISE_BOUND),
}


def _png():
    from io import BytesIO

    return BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)


def _register_probe_job():
    from anjian.jobs.service import _registry, job_function

    if "matrix_probe" not in _registry:
        job_function("matrix_probe")(lambda ctx: {"ok": True})


def _credit_code(n: int) -> str:
    from stdnum.cn import uscc

    base = f"91130300MA{n:07d}"
    return base + uscc.calc_check_digit(base)


def _import_xlsx():
    from io import BytesIO

    import xlsxwriter

    buffer = BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["统一社会信用代码", "企业名称"])
    sheet.write_row(1, 0, [_credit_code(_n()), "矩阵导入企业"])
    book.close()
    buffer.seek(0)
    return buffer


def _certificate_xlsx():
    """A small list of certificates (its enterprise need not exist: the job checks rows)."""
    from io import BytesIO

    import xlsxwriter

    buffer = BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["统一社会信用代码", "证书编号", "发证日期", "标准化等级"])
    sheet.write_row(1, 0, [_credit_code(_n()), f"AQBⅢ-{_n()}", "2023-06-01", "小微企业"])
    book.close()
    buffer.seek(0)
    return buffer


def _drills_xlsx():
    """A small list of drills (its enterprise need not exist: the job checks rows)."""
    from io import BytesIO

    import xlsxwriter

    buffer = BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["企业统一社会信用代码", "演练日期", "演练科目", "参演人数"])
    sheet.write_row(1, 0, [_credit_code(_n()), "2024-04-20", "车间火灾疏散", 30])
    book.close()
    buffer.seek(0)
    return buffer


def _rule_template_xlsx():
    """A small list of rule templates (编号, 制度名称)."""
    from io import BytesIO

    import xlsxwriter

    buffer = BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["编号", "制度名称"])
    sheet.write_row(1, 0, [f"MX-{_n()}", "全员安全生产责任制"])
    book.close()
    buffer.seek(0)
    return buffer


def tenant_routes(app):
    """(rule, method, endpoint) for every rule naming a tenant."""
    out = []
    for rule in app.url_map.iter_rules():
        if "tenant_code" not in rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method, rule.endpoint))
    return out


def test_every_tenant_route_has_a_recipe(app):
    routes = tenant_routes(app)
    assert len(routes) >= len(RECIPES)
    missing = []
    for rule, method, endpoint in routes:
        recipe = RECIPES.get(endpoint)
        if recipe is None:
            missing.append(f"{method} {rule.rule} ({endpoint}): no recipe")
            continue
        for arg in rule.arguments - {"tenant_code"}:
            if arg not in recipe.ids and arg not in recipe.path:
                missing.append(f"{method} {rule.rule}: no id recipe for <{arg}>")
        if (method not in READ_METHODS and method != "DELETE" and recipe.body is None
                and recipe.form is None and recipe.body_for is None):
            missing.append(f"{method} {rule.rule}: no body")
    assert missing == [], "new tenant routes need a recipe in RECIPES:\n" + "\n".join(missing)
    assert set(RECIPES) <= {e for _, _, e in routes}, "stale recipes"


# --- every route declares a policy (RELIABILITY 10) --------------------------------

def undeclared_routes(app) -> list[str]:
    return sorted(
        f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
        if policy_of(app.view_functions[rule.endpoint]) is None
        and rule.endpoint not in LIBRARY_ENDPOINTS
    )


def test_every_route_declares_a_policy(app):
    assert undeclared_routes(app) == []


def route_keys(app) -> list[tuple[str, str]]:
    """("METHOD rule", endpoint) for every route of the app, as the table names them."""
    return [(f"{method} {rule.rule}", rule.endpoint) for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_every_route_is_in_the_hand_written_table(app):
    keys = route_keys(app)
    missing = sorted(f"{key} ({endpoint})" for key, endpoint in keys if key not in ALLOWED)
    assert missing == [], ("routes not in tests/permissions_expected.py (say who may call "
                           "them):\n" + "\n".join(missing))
    assert set(ALLOWED) <= {key for key, _ in keys}, "stale entries in the table"


def test_every_declared_permission_agrees_with_the_table(app):
    wrong = []
    for key, endpoint in route_keys(app):
        declared = policy_of(app.view_functions[endpoint]) or LIBRARY_ENDPOINTS.get(endpoint)
        if declared is not None and key in ALLOWED and declared.roles != ALLOWED[key]:
            wrong.append(f"{key}: declared {sorted(declared.roles)} ({declared.action}), "
                         f"the table says {sorted(ALLOWED[key])}")
    assert wrong == [], "\n".join(wrong)


def test_core_routes_declare_an_action(app):
    """A core route names an action of anjian.permissions; only a plugin's route names roles."""
    named = sorted(
        f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
        if rule.endpoint not in LIBRARY_ENDPOINTS and "/plugins/" not in rule.rule
        and policy_of(app.view_functions[rule.endpoint]).action is None)
    assert named == []


def test_a_route_without_a_policy_is_caught_and_refused(database, tmp_path):
    from anjian.app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database.fresh(tmp_path),
                      "ANJIAN_DATA_DIR": str(tmp_path), "ANJIAN_REDIS_URL": "",
                      "ANJIAN_STORAGE_URL": (tmp_path / "objects").as_uri()})
    assert isinstance(app, Flask)
    app.add_url_rule("/api/v1/tenants/<tenant_code>/forgotten", "forgotten",
                     lambda tenant_code: "leak")
    assert undeclared_routes(app) == ["/api/v1/tenants/<tenant_code>/forgotten (forgotten)"]
    response = app.test_client().get("/api/v1/tenants/x/forgotten")
    assert response.status_code == 403
    assert b"leak" not in response.data
    with app.app_context():
        from anjian.extensions import db

        db.session.remove()
        db.engine.dispose()


# --- the world -------------------------------------------------------------------

class World:
    """P (parent) > A > C (child), and B unrelated; users of every kind."""

    def __init__(self, factory):
        self.factory = factory
        # Every tenant enables the plugin whose routes the matrix calls (PLUGIN_ROUTES).
        self.tenants = {
            "p": factory.tenant("mx-p", level="city", plugins=MATRIX_PLUGINS),
        }
        self.tenants["a"] = factory.tenant("mx-a", parent="mx-p", plugins=MATRIX_PLUGINS)
        self.tenants["c"] = factory.tenant("mx-c", parent="mx-a", level="street",
                                           plugins=MATRIX_PLUGINS)
        self.tenants["b"] = factory.tenant("mx-b", plugins=MATRIX_PLUGINS)
        self.codes = {k: f"mx-{k}" for k in self.tenants}
        self.areas = {k: factory.area(t, f"{k}-fixed") for k, t in self.tenants.items()}
        self.tokens = {None: None}
        for key in ("a", "b"):
            for role in ROLES:
                _, self.tokens[f"{key}:{role}"] = factory.user(
                    f"mx-{key}-{role}".replace("_", "-"), {self.tenants[key]: role})
        for key in ("p", "c"):
            for role in ("tenant_admin", "viewer"):
                _, self.tokens[f"{key}:{role}"] = factory.user(
                    f"mx-{key}-{role}".replace("_", "-"), {self.tenants[key]: role})
        _, self.tokens["platform"] = factory.user("mx-root", platform_admin=True)
        self.members = {}
        for key in self.tenants:
            self.members[key] = self._member(key)
        self.invitations = {key: self._invitation(key) for key in self.tenants}
        self.enterprises = {key: self._enterprise(key) for key in self.tenants}
        self.jobs = {key: self._job(key) for key in self.tenants}
        self.import_jobs = {key: self._import_job(key) for key in self.tenants}
        self.exports = {key: self._export(key) for key in self.tenants}
        self.reports = {key: self._report(key) for key in self.tenants}
        self.notified_user, _ = factory.user("mx-notified")
        self.closed_loop = {kind: {key: self._closed_loop(kind, key) for key in self.tenants}
                            for kind in ("hazard", "notification", "referral", "decided_referral")}
        self.inspecting = {}
        for kind in ("campaign", "target", "task", "template", "item", "inspection", "evidence"):
            self.inspecting[kind] = {key: self._inspecting(kind, key) for key in self.tenants}
        self.links = {key: self._access_link(key) for key in self.tenants}  # (id, secret)
        for key in ("a", "b"):
            self.tokens[f"link:{key}"] = self.links[key][1]
        # One service_org member per tenant to add as staff (adding again changes nothing).
        self.spare_service_users = {key: self.service_user(key) for key in self.tenants}
        self.services = {}
        self.standardisation = {"certification": {key: self._certification(key) for key in self.tenants},
                                "accident": {key: self._accident(key) for key in self.tenants}}
        self.ledgers = {"ledger_entry": {key: self._ledger_entry(key) for key in self.tenants}}
        self.risks = {"risk_point": {key: self._risk_point(key) for key in self.tenants}}
        self.permits = {"permit": {key: self._permit(key) for key in self.tenants}}
        self.channels = {"channel": {key: self._channel("channel", key) for key in self.tenants}}
        self.channels["delivery"] = {key: self._channel("delivery", key) for key in self.tenants}
        for kind in ("organisation", "spare_organisation", "staff", "contract",
                     "revocable_contract", "contract_enterprise", "sample", "sample_enterprise",
                     "record"):
            self.services[kind] = {key: self._services(kind, key) for key in self.tenants}

    def service_user(self, key):
        """A new member of tenant ``key`` with the service_org role (to become staff)."""
        user_id, _ = self.factory.user(f"mx-svc-{key}-{_n()}", {self.tenants[key]: "service_org"})
        return user_id

    def _services(self, kind, key):
        """Third-party services of tenant ``key``: an organisation (and a spare one to delete)
        with a staff member, a contract serving the world's enterprise (fresh served
        enterprises join it), a spare contract to revoke, a spot-check sample of the
        enterprise, a service record."""
        import datetime as dt

        from anjian.extensions import db
        from anjian.services.models import (
            ContractEnterprise,
            ServiceContract,
            ServiceOrganisation,
            ServiceOrgStaff,
            ServiceRecord,
            SpotCheck,
            SpotCheckSample,
        )
        from anjian.tenancy.scope import Scope, scoped

        if kind == "sample_enterprise":
            return self.enterprises[key]
        user = self.service_user(key) if kind == "staff" else None
        served = self._enterprise(key) if kind == "contract_enterprise" else self.enterprises[key]
        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            if kind in ("organisation", "spare_organisation"):
                row = ServiceOrganisation(name=f"矩阵机构{_n()}")
            elif kind == "staff":
                db.session.add(ServiceOrgStaff(organisation_id=self.services["organisation"][key],
                                               user_id=user))
                db.session.commit()
                return user
            elif kind in ("contract", "revocable_contract"):
                row = ServiceContract(organisation_id=self.services["organisation"][key],
                                      title="矩阵合同", starts_on=dt.date(2020, 1, 1),
                                      ends_on=dt.date(2099, 12, 31), status="active")
                db.session.add(row)
                db.session.flush()
                if kind == "contract":
                    db.session.add(ContractEnterprise(contract_id=row.id, enterprise_id=served))
            elif kind == "contract_enterprise":
                db.session.add(ContractEnterprise(contract_id=self.services["contract"][key],
                                                  enterprise_id=served))
                db.session.commit()
                return served
            elif kind == "sample":
                row = SpotCheckSample(contract_id=self.services["contract"][key], ratio=0.5,
                                      seed="matrix", population=[served])
                db.session.add(row)
                db.session.flush()
                db.session.add(SpotCheck(sample_id=row.id, enterprise_id=served))
            else:
                row = ServiceRecord(contract_id=self.services["contract"][key],
                                    enterprise_id=served, kind="guidance",
                                    done_on=dt.date(2024, 6, 1))
            db.session.add(row)
            db.session.commit()
            return row.id

    def _inspecting(self, kind, key):
        """Campaigns and inspections of tenant ``key``: one draft campaign (fresh targets
        and campaign-wide tasks go into it), a tenant checklist of one item, a draft
        department inspection with its item answered, an evidence file of the enterprise."""
        from sqlalchemy import select

        from anjian.campaigns.models import Campaign, CampaignTarget, CampaignTask
        from anjian.evidence import Evidence
        from anjian.extensions import db
        from anjian.inspections.models import (
            ChecklistItem,
            ChecklistTemplate,
            Inspection,
            InspectionResult,
        )
        from anjian.storage.backends import make_key
        from anjian.tenancy.scope import Scope, scoped

        tenant_id = self.tenants[key]
        enterprise = self._enterprise(key) if kind == "target" else self.enterprises[key]
        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
            if kind == "campaign":
                row = Campaign(title="矩阵行动", status="draft")
            elif kind == "target":
                row = CampaignTarget(campaign_id=self.inspecting["campaign"][key],
                                     enterprise_id=enterprise)
            elif kind == "task":
                row = CampaignTask(campaign_id=self.inspecting["campaign"][key],
                                   key=f"mx-task-{_n()}", title="矩阵任务")
            elif kind == "template":
                template = ChecklistTemplate(key=f"mx-tpl-{key}-{_n()}", title="矩阵检查表")
                db.session.add(template)
                db.session.flush()
                db.session.add(ChecklistItem(template_id=template.id, code="1", text="检查项"))
                db.session.commit()
                return template.key
            elif kind == "item":
                return db.session.scalar(select(ChecklistItem.id).join(
                    ChecklistTemplate, ChecklistTemplate.id == ChecklistItem.template_id).where(
                    ChecklistTemplate.key == self.inspecting["template"][key]))
            elif kind == "inspection":
                template_id = db.session.scalar(select(ChecklistTemplate.id).where(
                    ChecklistTemplate.key == self.inspecting["template"][key]))
                row = Inspection(enterprise_id=enterprise, template_id=template_id,
                                 inspector_kind="department")
                db.session.add(row)
                db.session.flush()
                db.session.add(InspectionResult(inspection_id=row.id, answer="yes",
                                                item_id=self.inspecting["item"][key]))
            else:
                row = Evidence(object_key=make_key(tenant_id, "evidence"), filename="矩阵.png",
                               content_type="image/png", size=8, enterprise_id=enterprise)
            db.session.add(row)
            db.session.commit()
            return row.id

    def _closed_loop(self, kind, key):
        """A reported hazard, a notification of a user nobody calls as, an open or a
        decided enforcement referral, of tenant ``key``."""

        from anjian.clock import local_today, utcnow
        from anjian.extensions import db
        from anjian.hazards.models import EnforcementReferral, Hazard
        from anjian.notifications import Notification
        from anjian.tenancy.scope import Scope, scoped

        enterprise = self.enterprises[key]
        with self.factory.app.app_context(), scoped(db.session,
                                                     Scope.tenant(self.tenants[key])):
            if kind == "hazard":
                row = Hazard(enterprise_id=enterprise, source="department", title="矩阵隐患",
                             found_on=local_today())
            elif kind == "notification":
                row = Notification(user_id=self.notified_user, kind="major_hazard",
                                   title="矩阵通知")
            else:
                decided = kind == "decided_referral"
                row = EnforcementReferral(enterprise_id=enterprise, reason="uncooperative",
                                          status="decided" if decided else "open",
                                          decision="order_rectify" if decided else None,
                                          decided_at=utcnow() if decided else None)
            db.session.add(row)
            db.session.commit()
            return row.id

    def _certification(self, key):
        """An achieved certification of tenant ``key``'s enterprise (a fresh enterprise each
        time: one record per enterprise and scheme)."""
        import datetime as dt

        from anjian.extensions import db
        from anjian.standardisation.models import Certification
        from anjian.tenancy.scope import Scope, scoped

        enterprise = self._enterprise(key)
        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            row = Certification(enterprise_id=enterprise, scheme="small_micro", state="achieved",
                                applied_on=dt.date(2023, 1, 5), certificate_no=f"MX-{_n()}",
                                issued_on=dt.date(2023, 3, 1), expires_on=dt.date(2026, 3, 1))
            db.session.add(row)
            db.session.commit()
            return row.id

    def _ledger_entry(self, key):
        """A drill in the ledger of tenant ``key``'s enterprise."""
        import datetime as dt

        from anjian.extensions import db
        from anjian.ledgers.models import LedgerEntry
        from anjian.tenancy.scope import Scope, scoped

        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            row = LedgerEntry(enterprise_id=self.enterprises[key], kind="drills", dated_on=dt.date(2024, 4, 20),
                              data={"held_on": "2024-04-20", "scenario": "矩阵演练", "participants": 5})
            db.session.add(row)
            db.session.commit()
            return row.id

    def _permit(self, key):
        """A requested confined-space permit of tenant ``key``'s enterprise."""
        import datetime as dt

        from anjian.extensions import db
        from anjian.permits.models import Permit
        from anjian.tenancy.scope import Scope, scoped

        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            row = Permit(enterprise_id=self.enterprises[key], number=f"MX-{_n()}", kind="confined_space",
                         location="矩阵储罐", state="requested", workers=[{"name": "张三"}],
                         required_steps=[{"key": "principal", "title": "审批", "stage": "approve"}],
                         planned_start=dt.datetime(2024, 5, 8, 1, tzinfo=dt.UTC))
            db.session.add(row)
            db.session.commit()
            return row.id

    def _risk_point(self, key):
        """A risk point of tenant ``key``'s enterprise (LEC 3 × 6 × 7 = 126, 一般), graded once."""
        from decimal import Decimal

        from anjian.extensions import db
        from anjian.risks.models import RiskGrading, RiskPoint
        from anjian.tenancy.scope import Scope, scoped

        values = {"method": "lec", "likelihood": Decimal(3), "exposure": Decimal(6),
                  "consequence": Decimal(7), "score": Decimal(126), "level": "general"}
        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            row = RiskPoint(enterprise_id=self.enterprises[key], name="矩阵风险点", kind="equipment",
                            managing_level="team", factors=[], **values)
            db.session.add(row)
            db.session.flush()
            db.session.add(RiskGrading(risk_point_id=row.id, reason="首次评价", **values))
            db.session.commit()
            return row.id

    def _channel(self, kind, key):
        """A webhook channel of tenant ``key``, or a failed delivery on it."""
        from anjian.channels.models import Channel, Delivery
        from anjian.extensions import db
        from anjian.tenancy.scope import Scope, scoped

        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            if kind == "channel":
                row = Channel(kind="webhook", name=f"矩阵 Webhook {key}",
                              settings={"url": "http://127.0.0.1:9/hook"},
                              secrets={"signing_secret": "matrix-signing-secret"})
            else:
                row = Delivery(channel_id=self.channels["channel"][key], event="major_hazard",
                               title="矩阵通知", status="failed", attempts=4, last_error="矩阵")
            db.session.add(row)
            db.session.commit()
            return row.id

    def _accident(self, key):
        """A minor accident of tenant ``key``'s enterprise (no file: it may be deleted)."""
        import datetime as dt

        from anjian.extensions import db
        from anjian.standardisation.models import Accident
        from anjian.tenancy.scope import Scope, scoped

        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            row = Accident(enterprise_id=self.enterprises[key], occurred_on=dt.date(2024, 1, 2),
                           severity="minor", injured=1)
            db.session.add(row)
            db.session.commit()
            return row.id

    def _import_job(self, key):
        """A finished enterprise import of tenant ``key`` that rejected a row."""
        from anjian.extensions import db
        from anjian.jobs.models import Job
        from anjian.storage.backends import make_key
        from anjian.tenancy.scope import Scope, scoped

        tenant_id = self.tenants[key]
        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
            job = Job(kind="enterprise_import", queue="imports", status="finished", params={},
                      counts={}, result={"rejected": 1,
                                         "rejected_rows_key": make_key(tenant_id, "imports")})
            db.session.add(job)
            db.session.commit()
            return job.id

    def _report(self, key):
        """A ready .xlsx report of tenant ``key`` (the core kind), its file in storage."""
        import io

        from anjian.clock import utcnow
        from anjian.extensions import db
        from anjian.reports.models import Report
        from anjian.storage.backends import XLSX
        from anjian.storage.service import storage_for
        from anjian.tenancy.scope import Scope, scoped
        from anjian.xlsx import write_table

        app = self.factory.app
        buffer = io.BytesIO()
        write_table(buffer, "进度", ["目标企业数"], [[1]])
        stored = storage_for(app).put(self.tenants[key], "reports", buffer.getvalue(), XLSX,
                                      "专项行动进度报表.xlsx")
        with app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            row = Report(kind="campaign_progress", plugin="anjian.defaults", title="进度",
                         format="xlsx", params={}, status="ready", snapshot_at=utcnow(),
                         finished_at=utcnow(), object_key=stored.key, filename=stored.original_name,
                         content_type=XLSX, size=stored.size)
            db.session.add(row)
            db.session.commit()
            return row.id

    def _export(self, key):
        """A finished enterprise export of tenant ``key``, its file in storage."""
        import io

        from anjian.extensions import db
        from anjian.jobs.models import Job
        from anjian.storage.backends import XLSX
        from anjian.storage.service import storage_for
        from anjian.tenancy.scope import Scope, scoped
        from anjian.xlsx import write_table

        app = self.factory.app
        buffer = io.BytesIO()
        write_table(buffer, "企业台账", ["企业名称"], [[f"{key} 企业"]])
        stored = storage_for(app).put(self.tenants[key], "reports", buffer.getvalue(), XLSX,
                                      "企业台账.xlsx")
        with app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            job = Job(kind="enterprise_export", queue="reports", status="finished",
                      params={}, counts={}, progress_percent=100,
                      result={"rows": 1, "object_key": stored.key, "filename": "企业台账.xlsx"})
            db.session.add(job)
            db.session.commit()
            return job.id

    def _job(self, key):
        """A failed job of tenant ``key`` (so that a retry is allowed)."""
        _register_probe_job()
        from anjian.extensions import db
        from anjian.jobs.models import Job
        from anjian.tenancy.scope import Scope, scoped

        with self.factory.app.app_context(), scoped(db.session,
                                                     Scope.tenant(self.tenants[key])):
            job = Job(kind="matrix_probe", queue="default", status="failed",
                      params={}, counts={}, error="测试失败")
            db.session.add(job)
            db.session.commit()
            return job.id

    def _enterprise(self, key):
        from anjian.enterprises.models import Enterprise
        from anjian.extensions import db
        from anjian.tenancy.scope import Scope, scoped

        with self.factory.app.app_context(), scoped(db.session,
                                                     Scope.tenant(self.tenants[key])):
            row = Enterprise(credit_code=_credit_code(_n()), name=f"{key} 企业")
            db.session.add(row)
            db.session.commit()
            return row.id

    def _member(self, key):
        from anjian.auth.models import Membership
        from anjian.extensions import db
        from anjian.tenancy.scope import Scope, scoped

        user_id, _ = self.factory.user(f"mx-spare-{key}-{_n()}", {self.tenants[key]: "viewer"})
        with self.factory.app.app_context(), scoped(db.session,
                                                     Scope.tenant(self.tenants[key])):
            from sqlalchemy import select

            return db.session.scalar(select(Membership.id).where(Membership.user_id == user_id))

    def _invitation(self, key):
        """A pending invitation of tenant ``key`` (as a viewer)."""
        from anjian.auth.invitations import invite
        from anjian.extensions import db
        from anjian.tenancy.scope import Scope, scoped
        from tests.conftest import tenant_context

        admin = self.factory.user(f"mx-inviter-{key}-{_n()}")[0]
        with self.factory.app.app_context(), scoped(db.session, Scope.tenant(self.tenants[key])):
            invitation, _token = invite(tenant_context(self.tenants[key], admin), role="viewer",
                                        enterprise_id=None, area_id=None)
            db.session.commit()
            return invitation.id

    def _access_link(self, key):
        """An access link of tenant ``key`` for the world's enterprise, naming the world's
        checklist, its self-inspection started and answered: (id, secret)."""
        import datetime as dt

        from sqlalchemy import select

        from anjian.auth.service import token_digest
        from anjian.clock import utcnow
        from anjian.extensions import db
        from anjian.inspections.models import ChecklistTemplate, Inspection, InspectionResult
        from anjian.links.models import AccessLink
        from anjian.tenancy.scope import Scope, scoped

        secret = f"ajl_matrix-{key}-{_n()}-" + "x" * 32
        template_key = self.inspecting["template"][key]
        with self.factory.app.app_context(), scoped(db.session,
                                                     Scope.tenant(self.tenants[key])):
            inspection = Inspection(
                enterprise_id=self.enterprises[key], inspector_kind="self",
                template_id=db.session.scalar(select(ChecklistTemplate.id).where(
                    ChecklistTemplate.key == template_key)))
            db.session.add(inspection)
            db.session.flush()
            db.session.add(InspectionResult(inspection_id=inspection.id, answer="yes",
                                            item_id=self.inspecting["item"][key]))
            link = AccessLink(token_hash=token_digest(secret), prefix=secret[:12],
                              enterprise_id=self.enterprises[key], template_key=template_key,
                              inspection_id=inspection.id,
                              expires_at=utcnow() + dt.timedelta(days=1))
            db.session.add(link)
            db.session.commit()
            return link.id, secret

    def own(self, kind, key, fresh):
        """An object of tenant ``key``; ``fresh`` makes a new one (for destructive calls)."""
        if kind == "area":
            return self.factory.area(self.tenants[key], f"{key}-{_n()}") if fresh \
                else self.areas[key]
        if kind == "member":
            return self._member(key) if fresh else self.members[key]
        if kind == "invitation":  # a revoked one may be revoked again: never destroyed
            return self.invitations[key]
        if kind == "enterprise":
            return self._enterprise(key) if fresh else self.enterprises[key]
        if kind == "access_link":  # a call may revoke it: made anew
            return self._access_link(key)[0] if fresh else self.links[key][0]
        if kind == "job":
            return self._job(key) if fresh else self.jobs[key]
        if kind == "import_job":
            return self._import_job(key) if fresh else self.import_jobs[key]
        if kind == "report":  # only read, never destroyed
            return self.reports[key]
        if kind == "export":
            return self._export(key) if fresh else self.exports[key]
        if kind in self.closed_loop:
            return self._closed_loop(kind, key) if fresh else self.closed_loop[kind][key]
        if kind in self.inspecting:  # the campaign, item and file are never destroyed
            fresh = fresh and kind in ("target", "task", "template", "inspection")
            return self._inspecting(kind, key) if fresh else self.inspecting[kind][key]
        if kind in self.standardisation:  # a step may delist it, a call delete it: made anew
            make = self._certification if kind == "certification" else self._accident
            return make(key) if fresh else self.standardisation[kind][key]
        if kind in self.ledgers:  # a call may delete it: made anew
            return self._ledger_entry(key) if fresh else self.ledgers[kind][key]
        if kind in self.risks:  # a call may retire it: made anew
            return self._risk_point(key) if fresh else self.risks[kind][key]
        if kind in self.permits:  # a step may end it: made anew
            return self._permit(key) if fresh else self.permits[kind][key]
        if kind in self.services:  # what a call may destroy is made anew
            fresh = fresh and kind in ("spare_organisation", "staff", "revocable_contract",
                                       "contract_enterprise")
            return self._services(kind, key) if fresh else self.services[kind][key]
        if kind in self.channels:  # a retry sends a delivery again: made anew
            fresh = fresh and kind == "delivery"
            return self._channel(kind, key) if fresh else self.channels[kind][key]
        raise AssertionError(f"unknown object kind {kind}")

    def foreign(self, kind, key):
        other = "b" if key != "b" else "a"
        return {"area": self.areas, "member": self.members, "invitation": self.invitations,
                "enterprise": self.enterprises, "job": self.jobs,
                "access_link": {k: link_id for k, (link_id, _secret) in self.links.items()},
                "export": self.exports, "import_job": self.import_jobs, "report": self.reports,
                **self.closed_loop, **self.inspecting, **self.services,
                **self.standardisation, **self.ledgers, **self.permits,
                **self.risks, **self.channels}[kind][other]


@dataclass(frozen=True)
class Caller:
    token_key: str | None
    access: str  # "member:<role>", "ancestor", "none", "platform", "anon", "link", "foreign_link"


def callers_for(target):
    """Who calls the routes of ``target`` and with what access they should get."""
    out = []
    if target == "a":
        out += [Caller(f"a:{r}", f"member:{r}") for r in ROLES]
        out += [Caller(f"b:{r}", "none") for r in ROLES]
        out += [Caller("p:tenant_admin", "ancestor"), Caller("p:viewer", "ancestor")]
        out += [Caller("c:tenant_admin", "none"), Caller("c:viewer", "none")]
        out += [Caller("platform", "platform"), Caller(None, "anon")]
        # access links, like tokens: A's own, and B's (unknown in A)
        out += [Caller("link:a", "link"), Caller("link:b", "foreign_link")]
    elif target == "c":  # a grand-parent and a parent read their descendant
        out += [Caller("p:tenant_admin", "ancestor"), Caller("a:viewer", "ancestor"),
                Caller("a:tenant_admin", "ancestor"), Caller("b:tenant_admin", "none")]
    elif target == "p":  # children never see their parent
        out += [Caller("c:tenant_admin", "none"), Caller("a:tenant_admin", "none"),
                Caller("a:viewer", "none")]
    elif target == "b":
        out += [Caller("a:tenant_admin", "none"), Caller("p:tenant_admin", "none")]
    return out


def expected(caller: Caller, roles, method, variant, owner_only=frozenset()):
    """The status class a caller should get: 401, 404, 403 or 2xx."""
    if caller.access in ("link", "foreign_link"):
        # a link reaches the holder's routes of its own tenant only: any other route
        # refuses it (403); another tenant does not know it (401)
        if LINK_HOLDER not in roles:
            return 403
        if caller.access == "foreign_link":
            return 401
        return 404 if variant == "foreign" else 200
    if caller.access == "anon":
        return 401
    if caller.access == "none":
        return 404
    if caller.access == "platform":
        role, platform, can_write = "tenant_admin", True, True
    elif caller.access == "ancestor":
        role, platform, can_write = "viewer", False, False
    else:
        role, platform, can_write = caller.access.split(":", 1)[1], False, True
    allowed = (role in roles or AUTHENTICATED in roles
               or (platform and PLATFORM_ADMIN in roles))
    if not allowed:
        return 403
    if method not in READ_METHODS and not can_write:
        return 403
    if variant == "foreign" or role in owner_only:
        return 404
    return 200


def call(client, method, path, token, body=None, query=None, form=None, etag_path=None):
    headers = bearer(token) if token else {}
    if token and token.startswith("ajl_"):  # a link's holder declares a name
        headers["X-Anjian-Holder-Name"] = "%E7%9F%A9%E9%98%B5"  # 矩阵
    etag = None
    if (method in ("PATCH", "PUT", "DELETE") or etag_path) and token:
        got = client.get(etag_path or path, headers=headers)
        etag = got.headers.get("ETag") if got.status_code == 200 else None
    kwargs = {"headers": dict(headers), "query_string": query or {}}
    if body is not None:
        kwargs["json"] = body
    if form is not None:
        kwargs["data"] = form
        kwargs["content_type"] = "multipart/form-data"
    if etag:
        bare = client.open(path, method=method, **kwargs)
        kwargs["headers"]["If-Match"] = etag
        response = client.open(path, method=method, **kwargs)
        return response, bare
    if method in ("PATCH", "PUT", "DELETE") or etag_path:
        # No ETag to be had (a foreign or missing object): a made-up one gets the call
        # past the If-Match requirement (428), to the lookup that must answer 404.
        kwargs["headers"]["If-Match"] = '"0123456789abcdef"'
    return client.open(path, method=method, **kwargs), None


def snapshot_b(client, world):
    root = bearer(world.tokens["platform"])
    code = world.codes["b"]
    tenant = client.get(f"/api/v1/tenants/{code}", headers=root).json
    areas = client.get(f"/api/v1/tenants/{code}/areas?include_inactive=true&per_page=100",
                       headers=root).json["items"]
    members = client.get(f"/api/v1/tenants/{code}/members?per_page=100",
                         headers=root).json["items"]
    return tenant, areas, members


def callers_group(callers, group: str):
    """A part of ``callers_for``: A's own members, B's members, or everyone else."""
    if group == "all":
        return callers
    key = {"a-members": "a:", "b-members": "b:"}.get(group)
    if key is not None:
        return [c for c in callers if c.token_key and c.token_key.startswith(key)]
    return [c for c in callers if not (c.token_key or "").startswith(("a:", "b:"))]


# One test per tenant of the URL, A's callers in three parts (so that parallel workers
# share the matrix); together they are every caller of callers_for.
@pytest.mark.parametrize(("target", "group"), [
    ("a", "a-members"), ("a", "b-members"), ("a", "others"), ("c", "all"), ("p", "all"),
    ("b", "all")])
def test_isolation_matrix(app, client, factory, target, group):
    # Who may call what, not how many jobs a tenant may have open (tests/test_jobs.py):
    # the matrix queues every job route once per caller and never runs them.
    app.config["ANJIAN_JOBS_OPEN_PER_TENANT"] = 0
    world = World(factory)
    before_b = snapshot_b(client, world)
    routes = tenant_routes(app)
    failures = []
    count = 0
    code = world.codes[target]
    for rule, method, endpoint in routes:
        recipe = RECIPES.get(endpoint)
        if recipe is None:  # test_every_tenant_route_has_a_recipe names it
            continue
        roles = ALLOWED.get(f"{method} {rule.rule}")
        if roles is None:  # test_every_route_is_in_the_hand_written_table names it
            continue
        variants = ("own", "foreign") if recipe.ids else ("own",)
        for caller, variant in itertools.product(callers_group(callers_for(target), group),
                                                 variants):
            want = expected(caller, roles, method, variant, recipe.owner_only)
            writing = method not in READ_METHODS
            values = {"tenant_code": code, **recipe.path}
            for arg, kind in recipe.ids.items():
                values[arg] = (world.own(kind, target, fresh=writing and want == 200)
                               if variant == "own" else world.foreign(kind, target))
            path = rule.build(values, append_unknown=False)[1]
            body = recipe.body() if callable(recipe.body) else recipe.body
            if recipe.body_for is not None:
                body = recipe.body_for(world, target)
            form = recipe.form() if callable(recipe.form) else recipe.form
            query = (recipe.query_for(world, target) if recipe.query_for is not None
                     else recipe.query)
            etag_path = path.rsplit("/", 1)[0] if recipe.if_match else None
            response, bare = call(client, method, path, world.tokens[caller.token_key],
                                  body, query, form, etag_path)
            count += 1
            got = response.status_code
            ok = ((200 <= got < 300 or (recipe.redirects and got == 302)) if want == 200
                  else got == want)
            label = f"{method} {path} as {caller.token_key or 'anonymous'} ({variant})"
            if not ok:
                failures.append(f"{label}: expected {want}, got {got} {response.json}")
            if bare is not None and want == 200 and bare.status_code != 428:
                failures.append(f"{label} without If-Match: expected 428, got "
                                f"{bare.status_code}")
            if got in (403, 404) and not response.is_json:
                failures.append(f"{label}: a denial must be problem+json")
    assert count > 40
    assert failures == [], f"{len(failures)} of {count} calls wrong:\n" + "\n".join(failures)
    # Nothing crossed: B's tenant, areas and members are exactly as before.
    assert snapshot_b(client, world) == before_b


def test_foreign_tenant_and_foreign_id_look_like_missing_ones(client, factory):
    """A foreign tenant answers like a tenant that does not exist; a foreign id like a
    missing id; both denials are written to the audit log."""
    world = World(factory)
    token = bearer(world.tokens["a:tenant_admin"])

    def shape(r):
        body = r.json
        return r.status_code, body.get("title"), body.get("detail")

    foreign = client.get(f"/api/v1/tenants/{world.codes['b']}/areas", headers=token)
    missing = client.get("/api/v1/tenants/no-such-tenant/areas", headers=token)
    assert shape(foreign) == shape(missing)
    assert foreign.status_code == 404
    code = world.codes["a"]
    foreign = client.get(f"/api/v1/tenants/{code}/areas/{world.areas['b']}", headers=token)
    missing = client.get(f"/api/v1/tenants/{code}/areas/987654", headers=token)
    assert shape(foreign) == shape(missing)
    assert foreign.status_code == 404
    # A parent id of another tenant in a body is as absent as a missing one.
    r = client.post(f"/api/v1/tenants/{code}/areas", headers=token, json={
        "code": "child", "name": "x", "kind": "village", "parent_id": world.areas["b"]})
    assert r.status_code == 422
    r2 = client.post(f"/api/v1/tenants/{code}/areas", headers=token, json={
        "code": "child", "name": "x", "kind": "village", "parent_id": 987654})
    assert shape(r) == shape(r2)
    # A client cannot set tenant_id on an area.
    r = client.post(f"/api/v1/tenants/{code}/areas", headers=token, json={
        "code": "sneaky", "name": "x", "kind": "sector", "tenant_id": world.tenants["b"]})
    assert r.status_code in (201, 422)
    if r.status_code == 201:
        got = client.get(f"/api/v1/tenants/{code}/areas/{r.json['id']}", headers=token)
        assert got.status_code == 200
    b_areas = client.get(f"/api/v1/tenants/{world.codes['b']}/areas",
                         headers=bearer(world.tokens["platform"])).json["items"]
    assert [a["code"] for a in b_areas] == ["b-fixed"]
    # Both kinds of denial are on record in A's audit log / the platform log.
    audit = client.get(f"/api/v1/tenants/{code}/audit?action=denied.", headers=token).json
    actions = {e["action"] for e in audit["items"]}
    assert "denied.not_found" in actions
    platform = client.get("/api/v1/audit?action=denied.",
                          headers=bearer(world.tokens["platform"])).json
    assert "denied.foreign_tenant" in {e["action"] for e in platform["items"]}
