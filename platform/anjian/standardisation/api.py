"""Safety standardisation over HTTP: certifications and their steps, look-backs,
accidents, targets and the programme's progress, the import of existing certificates."""

from __future__ import annotations

import contextlib

import marshmallow as ma
from flask_smorest.fields import Upload
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from anjian.api.blueprint import Blueprint
from anjian.api.context import request_context
from anjian.api.list_imports import start_list_import
from anjian.api.pagination import PageArgs, page_of, paginate, paginate_list
from anjian.api.policy import requires
from anjian.api.problems import ProblemSchema, problem
from anjian.campaigns.models import Campaign
from anjian.enterprises.import_api import EnterpriseImportOptionsSchema, ImportFieldSchema
from anjian.enterprises.models import Enterprise
from anjian.extensions import db
from anjian.jobs.api import JobSchema, accepted, starts_a_job
from anjian.jobs.service import enqueue
from anjian.standardisation import classes, service
from anjian.standardisation import progress as programme
from anjian.standardisation.importing import describe_profile, open_certificate_list
from anjian.standardisation.jobs import CERTIFICATE_IMPORT, CLASSIFY
from anjian.standardisation.models import Target
from anjian.standardisation.schemas import (
    AccidentDetailSchema,
    AccidentQuerySchema,
    AccidentSchema,
    AccidentUpdateSchema,
    CertificationCheckSchema,
    CertificationCreateSchema,
    CertificationDetailSchema,
    CertificationQuerySchema,
    CertificationSchema,
    ClassifySchema,
    ClassQuerySchema,
    EnterpriseClassSchema,
    StandardisationProgressQuerySchema,
    StandardisationProgressSchema,
    StandardisationTargetQuerySchema,
    StandardisationTargetSchema,
    StepSchema,
    WorkItemSchema,
)

blp = Blueprint("standardisation", __name__,
                url_prefix="/api/v1/tenants/<tenant_code>/standardisation",
                description="安全生产标准化：申报、自评、评审、达标、期满换证、复评、“回头看”、摘牌与目标进度")
accidents_blp = Blueprint("accidents", __name__, url_prefix="/api/v1/tenants/<tenant_code>/accidents",
                          description="生产安全事故（重伤、死亡事故不得换证）")

IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
            "description": "读取标准化记录时得到的 ETag"}


@contextlib.contextmanager
def _rules():
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        problem(409, "该标准化记录刚被他人修改，本次操作未生效，请刷新后重试", slug="concurrent-change")


def _check_if_match(certification) -> None:
    blp.check_if_match_on_post(CertificationSchema().dump(certification), "标准化记录")


class _Detail:
    """A row with what the API adds to it: a certification with its history, checks,
    blockers and why it needs a new review; an accident with its files and history."""

    def __init__(self, row, **more):
        self._row = row
        self.__dict__.update(more)

    def __getattr__(self, name):
        return getattr(self._row, name)


def _detail(certification) -> _Detail:
    context = request_context()
    enterprise = db.session.get(Enterprise, certification.enterprise_id)
    valid = certification.state in service.VALID and enterprise is not None
    return _Detail(
        certification, history=service.history(context, certification),
        checks=service.checks_of(context, certification),
        blockers=service.blockers(context, certification, enterprise, "renew", context.today()) if valid else [],
        rereview_reason=service.rereview_reason(certification, enterprise) if valid
        else certification.rereview_reason)


@blp.route("/certifications")
@blp.arguments(CertificationQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(CertificationSchema))
@requires("standardisation.read")
def list_certifications(query, pages, tenant_code):
    """标准化记录列表：按状态、类别、企业、区域（含下级）、到期日、示范企业、建议摘牌筛选"""
    stmt = service.list_certifications(request_context(), **query)
    return paginate(stmt, pages["page"], pages["per_page"])


@blp.route("/certifications", methods=["POST"])
@blp.arguments(CertificationCreateSchema)
@blp.response(201, CertificationSchema)
@blp.alt_response(409, schema=ProblemSchema, description="该企业已有该类别的标准化记录")
@requires("standardisation.manage")
def create_certification(data, tenant_code):
    """登记企业的标准化创建（申报）：每家企业每个类别一条记录"""
    certification = service.create(request_context(), **data)
    db.session.commit()
    return certification


@blp.route("/certifications/<int:certification_id>")
@blp.etag
@blp.response(200, CertificationDetailSchema)
@requires("standardisation.read")
def get_certification(tenant_code, certification_id):
    """标准化记录详情：处理记录、“回头看”与审计、现在换证会被阻止的原因（ETag 用于之后的操作）"""
    certification = service.get_certification(request_context(), certification_id)
    blp.set_etag(CertificationSchema().dump(certification))  # what If-Match is checked against
    return _detail(certification)


@blp.route("/certifications/<int:certification_id>/transitions", methods=["POST"])
@blp.etag
@blp.arguments(StepSchema)
@blp.response(200, CertificationSchema)
@blp.doc(parameters=[IF_MATCH])
@blp.alt_response(403, schema=ProblemSchema, description="当前角色无权执行该操作")
@blp.alt_response(409, schema=ProblemSchema, description="当前状态不允许该操作，或有阻止换证的原因（blockers）")
@blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：记录已被他人修改")
@blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("standardisation.transition")
def transition(data, tenant_code, certification_id):
    """标准化状态变更（需 If-Match）：self_evaluate 自评、review 评审、open_renewal 进入期满换证、
    start_renewal 启动复评、rereview 要求重新评审、renew 换证、delist 摘牌、exempt 暂不创建、resume 恢复创建、
    demonstrate 设为示范企业、undemonstrate 取消示范企业"""
    context = request_context()
    certification = service.get_certification(context, certification_id)
    _check_if_match(certification)
    data = dict(data)
    action = data.pop("action")
    with _rules():
        service.transition(context, certification, action, data)
        db.session.commit()
    return certification


@blp.route("/certifications/<int:certification_id>/checks", methods=["POST"])
@blp.arguments(CertificationCheckSchema)
@blp.response(201, CertificationCheckSchema)
@requires("standardisation.check")
def record_check(data, tenant_code, certification_id):
    """登记“回头看”或运行质量审计：合格、限期整改（须给期限）或建议摘牌（列入待摘牌名单，由主管部门决定）"""
    context = request_context()
    certification = service.get_certification(context, certification_id)
    with _rules():
        check = service.record_check(context, certification, **data)
        db.session.commit()
    return check


@blp.route("/worklist")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(WorkItemSchema))
@requires("standardisation.read")
def worklist(pages, tenant_code):
    """工作清单：看得到的企业（专职安全员为其网格内的企业）下一步要推动什么、何时、已到哪一步，最急的在前"""
    return paginate_list(service.worklist(request_context()), pages["page"], pages["per_page"])


@blp.route("/classifications")
@blp.arguments(ClassQuerySchema, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(EnterpriseClassSchema))
@requires("classification.read")
def list_classes(query, pages, tenant_code):
    """企业分类（如 ABCD）：类别、原因与每年检查次数，按类别筛选"""
    return paginate(classes.list_classes(request_context(), query.get("code")), pages["page"], pages["per_page"])


@blp.route("/classifications", methods=["POST"])
@blp.arguments(ClassifySchema, required=False)
@blp.response(202, JobSchema)
@starts_a_job(blp)
@requires("classification.run")
def run_classification(data, tenant_code):
    """按本单位插件的规则重新分类全部企业（后台任务；202，Location 指向任务）；给出专项行动时生成监督检查任务"""
    data = data or {}
    if data.get("campaign_id") is not None and db.session.get(Campaign, data["campaign_id"]) is None:
        problem(422, "专项行动不存在", errors={"campaign_id": ["专项行动不存在"]})
    job = enqueue(CLASSIFY, {k: v for k, v in data.items() if v is not None})
    db.session.commit()
    return accepted(job)


@blp.route("/progress")
@blp.arguments(StandardisationProgressQuerySchema, location="query")
@blp.response(200, StandardisationProgressSchema)
@requires("standardisation.progress")
def get_progress(query, tenant_code):
    """目标进度：全市及各板块的达标、重点行业、换证、示范、“回头看”、摘牌率，低于目标的指标标出"""
    return programme.progress(request_context(), query["year"], query.get("by"))


@blp.route("/targets")
@blp.arguments(StandardisationTargetQuerySchema, location="query")
@blp.response(200, StandardisationTargetSchema(many=True))
@requires("standardisation.progress")
def list_targets(query, tenant_code):
    """本年度设定的目标（全市及各板块分解）；未设定的全市目标取本单位插件的计划"""
    return list(db.session.scalars(select(Target).where(Target.year == query["year"])
                                   .order_by(Target.area_id.nulls_first(), Target.metric)))


@blp.route("/targets", methods=["PUT"])
@blp.arguments(StandardisationTargetSchema)
@blp.response(200, StandardisationTargetSchema)
@requires("standardisation.manage")
def set_target(data, tenant_code):
    """设定目标：不指定区域为全市目标，指定板块为该板块分解的目标"""
    target = programme.set_target(request_context(), **data)
    db.session.commit()
    return target


class CertificateImportOptionsSchema(EnterpriseImportOptionsSchema):
    """The enterprise import's options (dry_run, mapping) without its profiles: one list."""

    class Meta:
        unknown = ma.EXCLUDE
        exclude = ("profile",)

    sheet = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=31),
                             metadata={"description": "工作表名称；不填则自动找出含证书名单的工作表"})


class CertificateImportUploadSchema(CertificateImportOptionsSchema):
    """The multipart body: the file, plus the options as form fields."""

    file = Upload(required=True, metadata={
        "description": ".xlsx、.xls、.ods 或 .csv（UTF-8、UTF-16 或 GB18030/GBK）"})


class CertificateImportFieldSchema(ImportFieldSchema):
    imported = ma.fields.Boolean(metadata={"description": "是否导入；否：仅供识别的列（以企业台账为准）"})
    choices = ma.fields.List(ma.fields.String(), metadata={"description": "可填的值"})


class CertificateImportProfileSchema(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    key_field = ma.fields.String(metadata={"description": "同一文件中该列的值重复时，导入第一条有效的行"})
    fields = ma.fields.List(ma.fields.Nested(CertificateImportFieldSchema))


@blp.route("/certificate-imports/profile")
@blp.response(200, CertificateImportProfileSchema)
@requires("standardisation.manage")
def certificate_import_profile(tenant_code):
    """达标证书名单的列：每个字段的中文标签、能识别的其他列名、是否必填、是否导入"""
    return describe_profile()


@blp.route("/certificate-imports", methods=["POST"])
@blp.arguments(CertificateImportUploadSchema, location="files", content_type="multipart/form-data")
@blp.response(202, JobSchema)
@starts_a_job(blp)
@requires("standardisation.manage")
def import_certificates(files, tenant_code):
    """上传已有的达标证书名单（如市级系统导出的）并开始导入（或试运行）；返回任务（202，Location 指向任务）。

    按统一社会信用代码找到企业台账中的企业（须已导入），按企业与等级新增或更新为达标，
    记下证书编号、发证日期、有效期（未填则按发证日期加有效年限）；已摘牌的记录不由导入恢复。
    名单可带标题行、合并表头、序号列、合计行；无法对应的列须在 mapping 中说明（指定字段或忽略），
    否则正式导入以 422 拒绝并给出导入计划；试运行（dry_run）不写入，任务结果即导入计划。"""
    job = start_list_import(files, CertificateImportOptionsSchema, kind=CERTIFICATE_IMPORT,
                            open_table=lambda data, options: open_certificate_list(
                                data, sheet=options["sheet"], mapping=options["mapping"]))
    db.session.commit()
    return accepted(job)


ACCIDENT_IF_MATCH = {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"},
                     "description": "读取事故详情时得到的 ETag"}


def _accident(accident, file_count: int, **more) -> _Detail:
    return _Detail(accident, report_files=file_count,
                   investigation_complete=service.investigation_complete(accident, file_count), **more)


def _accidents(accidents) -> list[_Detail]:
    """Accidents with their investigation's completeness (their files counted in one statement)."""
    counts = service.accident_file_counts(a.id for a in accidents)
    return [_accident(a, counts.get(a.id, 0)) for a in accidents]


def _accident_detail(context, accident) -> _Detail:
    files = service.accident_files(context, accident)
    return _accident(accident, len(files), files=files, history=service.accident_history(context, accident))


@accidents_blp.route("")
@accidents_blp.arguments(AccidentQuerySchema, location="query")
@accidents_blp.arguments(PageArgs, location="query")
@accidents_blp.response(200, page_of(AccidentSchema))
@requires("accident.read")
def list_accidents(query, pages, tenant_code):
    """事故列表（看得到的企业的事故，按企业筛选），含事故调查是否完成"""
    page = paginate(service.list_accidents(request_context(), query.get("enterprise_id")),
                    pages["page"], pages["per_page"])
    return {**page, "items": _accidents(page["items"])}


@accidents_blp.route("", methods=["POST"])
@accidents_blp.arguments(AccidentSchema)
@accidents_blp.response(201, AccidentSchema)
@requires("accident.record")
def record_accident(data, tenant_code):
    """登记事故：日期、企业、等级（轻伤、重伤、死亡）、人数、经过；重伤及死亡事故阻止换证"""
    accident = service.record_accident(request_context(), **data)
    db.session.commit()
    return _accidents([accident])[0]


@accidents_blp.route("/<int:accident_id>")
@accidents_blp.etag
@accidents_blp.response(200, AccidentDetailSchema)
@requires("accident.read")
def get_accident(tenant_code, accident_id):
    """事故详情：事故记录、事故调查（原因分析、整改措施、责任追究、调查报告文件）及修改记录（ETag 用于之后的修改）"""
    context = request_context()
    detail = _accident_detail(context, service.get_accident(context, accident_id))
    accidents_blp.set_etag(AccidentSchema().dump(detail))  # what If-Match is checked against
    return detail


@accidents_blp.route("/<int:accident_id>", methods=["PATCH"])
@accidents_blp.etag
@accidents_blp.arguments(AccidentUpdateSchema)
@accidents_blp.response(200, AccidentDetailSchema)
@accidents_blp.doc(parameters=[ACCIDENT_IF_MATCH])
@accidents_blp.alt_response(403, schema=ProblemSchema, description="企业用户只能记录事故调查，不能更正事故记录本身")
@accidents_blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：事故已被他人修改")
@accidents_blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("accident.investigate")
def update_accident(data, tenant_code, accident_id):
    """记录或修改事故调查（需 If-Match）：原因分析、整改措施、责任追究、调查结论日期、附调查报告文件
    （evidence_ids，先上传为证据文件）；监管部门还可更正事故日期、等级、人数、经过。每次修改记入修改记录"""
    context = request_context()
    accident = service.get_accident(context, accident_id, lock=True)
    accidents_blp.check_etag(_accidents([accident])[0], AccidentSchema)
    service.update_accident(context, accident, data)
    db.session.commit()
    detail = _accident_detail(context, accident)
    accidents_blp.set_etag(AccidentSchema().dump(detail))
    return detail


@accidents_blp.route("/<int:accident_id>", methods=["DELETE"])
@accidents_blp.etag
@accidents_blp.response(204)
@accidents_blp.doc(parameters=[ACCIDENT_IF_MATCH])
@accidents_blp.alt_response(409, schema=ProblemSchema, description="已附调查报告等文件的事故不能删除")
@accidents_blp.alt_response(412, schema=ProblemSchema, description="ETag 已过期：事故已被他人修改")
@accidents_blp.alt_response(428, schema=ProblemSchema, description="缺少 If-Match 请求头")
@requires("accident.record")
def delete_accident(tenant_code, accident_id):
    """删除登记有误的事故（需 If-Match；仅监管部门）：已附调查报告等文件的不能删除（409）；
    修改记录随之删除，审计日志保留删除前的记录"""
    context = request_context()
    accident = service.get_accident(context, accident_id, lock=True)
    accidents_blp.check_etag(_accidents([accident])[0], AccidentSchema)
    service.delete_accident(context, accident)
    db.session.commit()
