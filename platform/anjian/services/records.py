"""Service records (服务记录): the services an organisation delivered to the enterprises it
serves, and which of them a caller may read. The caller commits."""

from __future__ import annotations

from sqlalchemy import and_, false, select

from anjian import evidence
from anjian.context import Context
from anjian.enterprises.visibility import can_see_enterprise, enterprise_clause
from anjian.errors import Conflict, NotFound, Refused
from anjian.extensions import db
from anjian.inspections.models import Inspection
from anjian.reports.models import Report
from anjian.services.models import ContractEnterprise, ServiceContract, ServiceOrgStaff, ServiceRecord
from anjian.services.organisations import is_service_org, my_organisation_id


def create_record(context: Context, data: dict) -> ServiceRecord:
    """Record a service delivered. A service organisation's user records only for the
    enterprises of its organisation's active contracts (others are 404, like foreign ones);
    the record's staff member is the caller. Evidence files are attached to the record."""
    data = dict(data)
    actor_id = context.user_id
    evidence_ids = data.pop("evidence_ids", None) or []
    contract = db.session.get(ServiceContract, data["contract_id"])
    mine = my_organisation_id(context)
    if contract is None or (is_service_org(context) and contract.organisation_id != mine):
        raise NotFound("服务合同不存在", field="contract_id")
    if contract.status != "active":
        raise Conflict("合同已结束或已终止，不能再登记服务", field="contract_id")
    row = db.session.scalar(select(ContractEnterprise).where(
        ContractEnterprise.contract_id == contract.id,
        ContractEnterprise.enterprise_id == data["enterprise_id"],
        ContractEnterprise.left_on.is_(None),
        enterprise_clause(context, ContractEnterprise.enterprise_id)))
    if row is None:
        raise NotFound("该企业不在本合同的服务范围内", field="enterprise_id")
    done_on = data["done_on"]
    first = max(contract.starts_on, row.joined_on or contract.starts_on)
    if not first <= done_on <= contract.ends_on:
        raise Refused("服务日期须在合同期内", field="done_on")
    if done_on > context.today():
        raise Refused("服务日期不能晚于今天", field="done_on")
    if is_service_org(context):
        data["staff_user_id"] = actor_id
    elif data.get("staff_user_id") is not None:
        staff = db.session.scalar(select(ServiceOrgStaff.organisation_id).where(
            ServiceOrgStaff.user_id == data["staff_user_id"]))
        if staff != contract.organisation_id:
            raise Refused("该用户不是本合同服务机构的人员", field="staff_user_id")
    if data.get("inspection_id") is not None:
        inspection = db.session.get(Inspection, data["inspection_id"])
        if inspection is None or inspection.enterprise_id != data["enterprise_id"]:
            raise Refused("检查记录不存在或不属于该企业", field="inspection_id")
    if data.get("report_id") is not None:
        report = db.session.get(Report, data["report_id"])
        if report is None or not _report_of_organisation(context, report,
                                                         contract.organisation_id):
            raise Refused("报告不存在", field="report_id")
        if report.status != "ready":
            raise Refused("报告尚未生成完成", field="report_id")
    if data["kind"] == "report" and data.get("report_id") is None and not evidence_ids:
        raise Refused("交付报告须附平台生成的报告（report_id）或上传的报告文件"
                      "（evidence_ids）", field="report_id")
    record = ServiceRecord(**data)
    db.session.add(record)
    db.session.flush()
    evidence.attach(context, evidence_ids, can_see_enterprise, service_record_id=record.id,
                    enterprise_id=record.enterprise_id)
    return record


def _report_of_organisation(context: Context, report, organisation_id: int) -> bool:
    """A service organisation delivers its own reports: one requested by its staff."""
    if not is_service_org(context):
        return True
    if report.requested_by is None:
        return False
    return db.session.scalar(select(ServiceOrgStaff.id).where(
        ServiceOrgStaff.organisation_id == organisation_id,
        ServiceOrgStaff.user_id == report.requested_by).limit(1)) is not None


def record_clause(context: Context):
    """Service records the caller may read: its visible enterprises, and for a service
    organisation only the records of its own contracts."""
    clause = enterprise_clause(context, ServiceRecord.enterprise_id)
    if is_service_org(context):
        mine = my_organisation_id(context)
        own = select(ServiceContract.id).where(ServiceContract.organisation_id == mine)
        clause = and_(clause, ServiceRecord.contract_id.in_(own)) if mine is not None else false()
    return clause

