"""Third-party safety services over HTTP: organisations and staff, contracts and the
enterprises they serve, compliance with obligations, cost shares, spot checks, records."""

from __future__ import annotations

from sqlalchemy import func, select

from anjian.api.blueprint import Blueprint
from anjian.api.common import get_or_404
from anjian.api.context import request_context
from anjian.api.pagination import PageArgs, page_of, paginate
from anjian.api.policy import requires
from anjian.api.problems import problem
from anjian.auth.models import User
from anjian.enterprises.models import Enterprise
from anjian.enterprises.visibility import enterprise_clause
from anjian.evidence import Evidence
from anjian.extensions import db
from anjian.services import compliance, contracts, costs, organisations, records, spot_checks
from anjian.services.models import (
    ContractEnterprise,
    ServiceContract,
    ServiceOrganisation,
    ServiceOrgStaff,
    ServiceRecord,
    SpotCheck,
    SpotCheckSample,
)
from anjian.services.schemas import (
    ComplianceQuerySchema,
    ComplianceSchema,
    ContractCreateSchema,
    ContractEnterpriseQuerySchema,
    ContractEnterprisesAddedSchema,
    ContractEnterprisesAddSchema,
    ContractEnterpriseSchema,
    ContractQuerySchema,
    ContractSchema,
    ContractUpdateSchema,
    CostQuerySchema,
    CostTableSchema,
    FindingSchema,
    OrganisationCreateSchema,
    OrganisationQuerySchema,
    OrganisationSchema,
    OrganisationUpdateSchema,
    RecordCreateSchema,
    RecordDetailSchema,
    RecordQuerySchema,
    RecordSchema,
    RevokeSchema,
    SampleCreateSchema,
    SampleSchema,
    SpotCheckItemSchema,
    StaffAddSchema,
    StaffSchema,
)
from anjian.sorting import order_by

PREFIX = "/api/v1/tenants/<tenant_code>"
organisations_blp = Blueprint("service_organisations", __name__,
                              url_prefix=f"{PREFIX}/service-organisations",
                              description="第三方安全生产服务机构及其人员")
contracts_blp = Blueprint("service_contracts", __name__,
                          url_prefix=f"{PREFIX}/service-contracts",
                          description="服务合同：服务企业、服务义务完成情况、费用分担、服务结果抽查")
records_blp = Blueprint("service_records", __name__, url_prefix=f"{PREFIX}/service-records",
                        description="服务记录：检查、指导、培训、演练、制度建立、报告交付")

# The bureau reads everything; a service organisation's staff only their organisation's.
# Served enterprises read the records (and reports) of the services they received.


# --- organisations ----------------------------------------------------------------------------

def _visible(model, ident: int, label: str, organisation_of):
    """``get_or_404``, and the same 404 for another service organisation's row."""
    obj = get_or_404(model, ident, label)
    if organisations.is_service_org(request_context()) \
            and organisation_of(obj) != organisations.my_organisation_id(request_context()):
        problem(404, f"{label}不存在")
    return obj


def _organisation(organisation_id: int) -> ServiceOrganisation:
    return _visible(ServiceOrganisation, organisation_id, "服务机构", lambda o: o.id)


@organisations_blp.route("")
@organisations_blp.arguments(OrganisationQuerySchema, location="query")
@organisations_blp.arguments(PageArgs, location="query")
@organisations_blp.response(200, page_of(OrganisationSchema))
@requires("service_org.read")
def list_organisations(query, pages, tenant_code):
    """服务机构列表（服务机构人员只看到本机构）"""
    stmt = select(ServiceOrganisation).where(
        organisations.organisation_clause(request_context(), ServiceOrganisation.id))
    if "active" in query:
        stmt = stmt.where(ServiceOrganisation.is_active.is_(query["active"]))
    if query.get("q"):
        stmt = stmt.where(ServiceOrganisation.name.contains(query["q"], autoescape=True))
    return paginate(stmt.order_by(ServiceOrganisation.name, ServiceOrganisation.id),
                    pages["page"], pages["per_page"])


@organisations_blp.route("", methods=["POST"])
@organisations_blp.arguments(OrganisationCreateSchema)
@organisations_blp.response(201, OrganisationSchema)
@requires("service_org.manage")
def create_organisation(data, tenant_code):
    """登记服务机构"""
    organisation = organisations.create_organisation(request_context(), data)
    db.session.commit()
    return organisation


@organisations_blp.route("/<int:organisation_id>")
@organisations_blp.etag
@organisations_blp.response(200, OrganisationSchema)
@requires("service_org.read")
def get_organisation(tenant_code, organisation_id):
    """服务机构详情"""
    return _organisation(organisation_id)


@organisations_blp.route("/<int:organisation_id>", methods=["PATCH"])
@organisations_blp.etag
@organisations_blp.arguments(OrganisationUpdateSchema)
@organisations_blp.response(200, OrganisationSchema)
@requires("service_org.manage")
def update_organisation(data, tenant_code, organisation_id):
    """修改服务机构（需 If-Match；is_active=false 停用）"""
    organisation = _organisation(organisation_id)
    organisations_blp.check_etag(organisation, OrganisationSchema)
    organisations.update_organisation(request_context(), organisation, data)
    db.session.commit()
    return organisation


@organisations_blp.route("/<int:organisation_id>", methods=["DELETE"])
@organisations_blp.etag
@organisations_blp.response(204)
@requires("service_org.manage")
def delete_organisation(tenant_code, organisation_id):
    """删除服务机构（需 If-Match；已签订合同的机构不能删除，只能停用）"""
    organisation = _organisation(organisation_id)
    organisations_blp.check_etag(organisation, OrganisationSchema)
    organisations.delete_organisation(request_context(), organisation)
    db.session.commit()


def _staff_statement(organisation_id: int):
    return (select(ServiceOrgStaff.id, ServiceOrgStaff.organisation_id, ServiceOrgStaff.user_id,
                   User.username, User.display_name)
            .join(User, User.id == ServiceOrgStaff.user_id)
            .where(ServiceOrgStaff.organisation_id == organisation_id))


@organisations_blp.route("/<int:organisation_id>/staff")
@organisations_blp.arguments(PageArgs, location="query")
@organisations_blp.response(200, page_of(StaffSchema))
@requires("service_org.read")
def list_staff(pages, tenant_code, organisation_id):
    """服务机构人员"""
    _organisation(organisation_id)
    stmt = _staff_statement(organisation_id).order_by(User.username)
    page = paginate(stmt, pages["page"], pages["per_page"], scalars=False)
    page["items"] = [row._asdict() for row in page["items"]]
    return page


@organisations_blp.route("/<int:organisation_id>/staff", methods=["POST"])
@organisations_blp.arguments(StaffAddSchema)
@organisations_blp.response(201, StaffSchema)
@requires("service_org.manage")
def add_staff(data, tenant_code, organisation_id):
    """添加服务机构人员（本单位角色为 service_org 的成员；一人只属于一个机构）"""
    organisation = _organisation(organisation_id)
    staff = organisations.add_staff(request_context(), organisation, data["user_id"])
    db.session.commit()
    return db.session.execute(_staff_statement(organisation.id)
                              .where(ServiceOrgStaff.id == staff.id)).one()._asdict()


@organisations_blp.route("/<int:organisation_id>/staff/<int:user_id>", methods=["DELETE"])
@organisations_blp.response(204)
@requires("service_org.manage")
def remove_staff(tenant_code, organisation_id, user_id):
    """移除服务机构人员（下一次请求起不再看到合同企业）"""
    _organisation(organisation_id)
    staff = db.session.scalar(select(ServiceOrgStaff).where(
        ServiceOrgStaff.organisation_id == organisation_id, ServiceOrgStaff.user_id == user_id))
    if staff is None:
        problem(404, "服务机构人员不存在")
    organisations.remove_staff(request_context(), staff)
    db.session.commit()


# --- contracts --------------------------------------------------------------------------------

def _contract(contract_id: int) -> ServiceContract:
    return _visible(ServiceContract, contract_id, "服务合同", lambda c: c.organisation_id)


@contracts_blp.route("")
@contracts_blp.arguments(ContractQuerySchema, location="query")
@contracts_blp.arguments(PageArgs, location="query")
@contracts_blp.response(200, page_of(ContractSchema))
@requires("contract.read")
def list_contracts(query, pages, tenant_code):
    """服务合同列表（按机构、专项行动、服务企业、状态筛选；服务机构人员只看到本机构的）"""
    stmt = select(ServiceContract).where(
        organisations.organisation_clause(request_context(), ServiceContract.organisation_id))
    for key in ("organisation_id", "campaign_id", "status"):
        if key in query:
            stmt = stmt.where(getattr(ServiceContract, key) == query[key])
    if "enterprise_id" in query:
        stmt = stmt.where(ServiceContract.id.in_(
            select(ContractEnterprise.contract_id).where(
                ContractEnterprise.enterprise_id == query["enterprise_id"],
                enterprise_clause(request_context(), ContractEnterprise.enterprise_id))))
    stmt = stmt.order_by(ServiceContract.starts_on.desc(), ServiceContract.id.desc())
    return paginate(stmt, pages["page"], pages["per_page"])


@contracts_blp.route("", methods=["POST"])
@contracts_blp.arguments(ContractCreateSchema)
@contracts_blp.response(201, ContractSchema)
@requires("contract.manage")
def create_contract(data, tenant_code):
    """签订服务合同（服务期、中标单价、服务类别、服务企业）"""
    contract = contracts.create_contract(request_context(), data)
    db.session.commit()
    return contract


@contracts_blp.route("/<int:contract_id>")
@contracts_blp.etag
@contracts_blp.response(200, ContractSchema)
@requires("contract.read")
def get_contract(tenant_code, contract_id):
    """服务合同详情"""
    return _contract(contract_id)


@contracts_blp.route("/<int:contract_id>", methods=["PATCH"])
@contracts_blp.etag
@contracts_blp.arguments(ContractUpdateSchema)
@contracts_blp.response(200, ContractSchema)
@requires("contract.manage")
def update_contract(data, tenant_code, contract_id):
    """修改履行中的合同（需 If-Match；status=ended 表示履行完毕）"""
    contract = _contract(contract_id)
    contracts_blp.check_etag(contract, ContractSchema)
    contracts.update_contract(request_context(), contract, data)
    db.session.commit()
    return contract


@contracts_blp.route("/<int:contract_id>/revoke", methods=["POST"])
@contracts_blp.arguments(RevokeSchema)
@contracts_blp.response(200, ContractSchema)
@requires("contract.manage")
def revoke_contract(data, tenant_code, contract_id):
    """终止合同：服务机构自下一次请求起不再看到合同企业"""
    contract = _contract(contract_id)
    contracts.revoke_contract(request_context(), contract)
    db.session.commit()
    return contract


def _enterprise_rows(stmt):
    return [{"enterprise_id": row.enterprise_id, "enterprise_name": name,
             "credit_code": code, "scale": scale, "above_quota": quota,
             "joined_on": row.joined_on, "left_on": row.left_on}
            for row, name, code, scale, quota in stmt]


@contracts_blp.route("/<int:contract_id>/enterprises")
@contracts_blp.arguments(ContractEnterpriseQuerySchema, location="query")
@contracts_blp.arguments(PageArgs, location="query")
@contracts_blp.response(200, page_of(ContractEnterpriseSchema))
@requires("contract.read")
def list_contract_enterprises(query, pages, tenant_code, contract_id):
    """合同服务的企业（含加入、退出日期）"""
    contract = _contract(contract_id)
    stmt = (select(ContractEnterprise, Enterprise.name, Enterprise.credit_code, Enterprise.scale,
                   Enterprise.above_quota)
            .join(Enterprise, Enterprise.id == ContractEnterprise.enterprise_id)
            .where(ContractEnterprise.contract_id == contract.id,
                   enterprise_clause(request_context(), ContractEnterprise.enterprise_id)))
    if query.get("current") is not None:
        left = ContractEnterprise.left_on
        stmt = stmt.where(left.is_(None) if query["current"] else left.is_not(None))
    stmt = stmt.order_by(Enterprise.name, Enterprise.id)
    page = paginate(stmt, pages["page"], pages["per_page"], scalars=False)
    page["items"] = _enterprise_rows(page["items"])
    return page


@contracts_blp.route("/<int:contract_id>/enterprises", methods=["POST"])
@contracts_blp.arguments(ContractEnterprisesAddSchema)
@contracts_blp.response(200, ContractEnterprisesAddedSchema)
@requires("contract.manage")
def add_contract_enterprises(data, tenant_code, contract_id):
    """增加服务企业（已在服务的不重复添加；已退出的重新加入）"""
    contract = _contract(contract_id)
    result = contracts.add_contract_enterprises(request_context(), contract, data["enterprise_ids"],
                                                data["joined_on"])
    db.session.commit()
    return result


@contracts_blp.route("/<int:contract_id>/enterprises/<int:enterprise_id>", methods=["DELETE"])
@contracts_blp.response(204)
@requires("contract.manage")
def remove_contract_enterprise(tenant_code, contract_id, enterprise_id):
    """企业退出服务（服务记录与费用历史保留；服务机构自下一次请求起不再看到它）"""
    contract = _contract(contract_id)
    row = contracts.served_row(contract.id, enterprise_id)
    if row is None:
        problem(404, "该企业不在本合同的服务范围内")
    contracts.remove_contract_enterprise(request_context(), contract, row)
    db.session.commit()


@contracts_blp.route("/<int:contract_id>/compliance")
@contracts_blp.arguments(ComplianceQuerySchema, location="query")
@contracts_blp.response(200, ComplianceSchema)
@requires("contract.read")
def contract_compliance(query, tenant_code, contract_id):
    """服务义务完成情况：每家企业每项义务每个周期为已完成、进行中或未完成（as_of 为计算日）"""
    contract, context = _contract(contract_id), request_context()
    return compliance.compliance(context, contract, query.get("as_of") or context.today(),
                                 query.get("enterprise_id"), query.get("status"))


@contracts_blp.route("/<int:contract_id>/costs")
@contracts_blp.arguments(CostQuerySchema, location="query")
@contracts_blp.response(200, CostTableSchema)
@requires("contract.read_costs")
def contract_costs(query, tenant_code, contract_id):
    """合同年度费用分担表：每家企业街道与企业各承担多少，合计为街道预算"""
    contract = _contract(contract_id)
    return costs.cost_table(request_context(), contract, query["year"])


# --- spot checks ------------------------------------------------------------------------------

def _sample(contract_id: int, sample_id: int) -> SpotCheckSample:
    _contract(contract_id)
    sample = get_or_404(SpotCheckSample, sample_id, "抽查")
    if sample.contract_id != contract_id:
        problem(404, "抽查不存在")
    return sample


@contracts_blp.route("/<int:contract_id>/spot-checks")
@contracts_blp.arguments(PageArgs, location="query")
@contracts_blp.response(200, page_of(SampleSchema))
@requires("spot_check.read")
def list_samples(pages, tenant_code, contract_id):
    """对服务结果的抽查（含随机种子与抽取范围）"""
    contract = _contract(contract_id)
    stmt = (select(SpotCheckSample).where(SpotCheckSample.contract_id == contract.id)
            .order_by(SpotCheckSample.drawn_at.desc(), SpotCheckSample.id.desc()))
    page = paginate(stmt, pages["page"], pages["per_page"])
    page["items"] = spot_checks.sample_views(page["items"])
    return page


@contracts_blp.route("/<int:contract_id>/spot-checks", methods=["POST"])
@contracts_blp.arguments(SampleCreateSchema)
@contracts_blp.response(201, SampleSchema)
@requires("spot_check.conduct")
def draw_sample(data, tenant_code, contract_id):
    """按比例随机抽取服务企业进行抽查（种子与范围记录在案，可复现）；可设工作日期限"""
    contract = _contract(contract_id)
    sample = spot_checks.draw_sample(request_context(), contract, data)
    db.session.commit()
    return spot_checks.sample_view(sample)


@contracts_blp.route("/<int:contract_id>/spot-checks/<int:sample_id>")
@contracts_blp.response(200, SampleSchema)
@requires("spot_check.read")
def get_sample(tenant_code, contract_id, sample_id):
    """抽查详情：抽中的企业、抽查结论、随机种子"""
    return spot_checks.sample_view(_sample(contract_id, sample_id))


@contracts_blp.route("/<int:contract_id>/spot-checks/<int:sample_id>/items/<int:enterprise_id>",
                     methods=["PATCH"])
@contracts_blp.arguments(FindingSchema)
@contracts_blp.response(200, SpotCheckItemSchema)
@requires("spot_check.conduct")
def record_finding(data, tenant_code, contract_id, sample_id, enterprise_id):
    """记录一家抽中企业的抽查结论（服务合格、服务不到位、弄虚作假）"""
    sample = _sample(contract_id, sample_id)
    check = db.session.scalar(select(SpotCheck).where(SpotCheck.sample_id == sample.id,
                                                      SpotCheck.enterprise_id == enterprise_id))
    if check is None:
        problem(404, "该企业不在本次抽查中")
    spot_checks.record_finding(request_context(), check, data)
    db.session.commit()
    return spot_checks.check_item(check)


# --- service records --------------------------------------------------------------------------

def _record(record_id: int) -> ServiceRecord:
    record = get_or_404(ServiceRecord, record_id, "服务记录")
    visible = db.session.scalar(select(func.count()).select_from(ServiceRecord).where(
        ServiceRecord.id == record.id, records.record_clause(request_context())))
    if not visible:
        problem(404, "服务记录不存在")
    return record


def _detail(record: ServiceRecord) -> dict:
    data = {name: getattr(record, name) for name in RecordSchema().fields if name != "kind_label"}
    data["evidence"] = list(db.session.scalars(
        select(Evidence).where(Evidence.service_record_id == record.id).order_by(Evidence.id)))
    return data


@records_blp.route("")
@records_blp.arguments(RecordQuerySchema, location="query")
@records_blp.arguments(PageArgs, location="query")
@records_blp.response(200, page_of(RecordSchema))
@requires("service_record.read")
def list_records(query, pages, tenant_code):
    """服务记录列表（按合同、机构、企业、类别、人员、日期筛选）"""
    stmt = select(ServiceRecord).where(records.record_clause(request_context()))
    for key in ("contract_id", "enterprise_id", "staff_user_id"):
        if key in query:
            stmt = stmt.where(getattr(ServiceRecord, key) == query[key])
    if query.get("kind"):
        stmt = stmt.where(ServiceRecord.kind.in_(query["kind"]))
    if "organisation_id" in query:
        stmt = stmt.where(ServiceRecord.contract_id.in_(select(ServiceContract.id).where(
            ServiceContract.organisation_id == query["organisation_id"])))
    if "done_from" in query:
        stmt = stmt.where(ServiceRecord.done_on >= query["done_from"])
    if "done_to" in query:
        stmt = stmt.where(ServiceRecord.done_on <= query["done_to"])
    stmt = stmt.order_by(*order_by(ServiceRecord, query["sort"]))
    return paginate(stmt, pages["page"], pages["per_page"])


@records_blp.route("", methods=["POST"])
@records_blp.arguments(RecordCreateSchema)
@records_blp.response(201, RecordDetailSchema)
@requires("service_record.create")
def create_record(data, tenant_code):
    """登记服务记录（服务机构人员只能为本机构履行中合同的服务企业登记）；可附证据文件或报告"""
    record = records.create_record(request_context(), data)
    db.session.commit()
    return _detail(record)


@records_blp.route("/<int:record_id>")
@records_blp.response(200, RecordDetailSchema)
@requires("service_record.read")
def get_record(tenant_code, record_id):
    """服务记录详情（含证据文件）"""
    return _detail(_record(record_id))
