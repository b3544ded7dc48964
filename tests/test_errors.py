"""Domain errors (issue 16, point 2): raised by services and jobs, mapped in one place.

The API answers each with its problem+json (status, type, title, Chinese detail,
per-field errors, Retry-After); the job wrapper fails a job with its message; and
no domain module imports the API package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from anjian import errors
from anjian.api.problems import from_domain, problem_response
from anjian.extensions import db
from anjian.jobs import embedded
from anjian.jobs.models import Job
from anjian.jobs.service import QueueUnavailable, TooManyJobs, enqueue, job_function
from anjian.storage.backends import UploadRejected
from anjian.tenancy.scope import Scope, scoped

CORE = Path(__file__).resolve().parent.parent / "platform" / "anjian"


def _answer(app, error):
    with app.test_request_context("/api/v1/tenants/x/things"):
        body, status, headers = problem_response(from_domain(error))
    return status, body, headers


@pytest.mark.parametrize(("error", "status", "slug", "title"), [
    (errors.NotFound("企业不存在"), 404, "not-found", "资源不存在"),
    (errors.Refused("须指明企业", field="enterprise_id"), 422, "validation-error", "请求参数校验失败"),
    (errors.Forbidden("企业用户不能验收隐患"), 403, "forbidden", "无权执行此操作"),
    (errors.Conflict("检查已提交，不能再修改"), 409, "conflict", "与现有数据冲突"),
    (errors.PreconditionFailed("隐患已被他人修改"), 412, "precondition-failed",
     "数据已被他人修改，请刷新后重试"),
    (errors.TooMany("请求过于频繁"), 429, "too-many-requests", "请求过于频繁，请稍后再试"),
    (errors.Unavailable("存储暂不可用"), 503, "unavailable", "服务暂不可用，请稍后再试"),
    (errors.Defect("插件的检查表无效"), 500, "internal-error", "服务器内部错误"),
    (errors.TooLarge("文件过大"), 413, "payload-too-large", "请求内容超过大小限制"),
    (errors.UnsupportedType("不支持的文件类型"), 415, "unsupported-media-type", "不支持的内容类型"),
])
def test_each_domain_error_answers_its_problem(app, error, status, slug, title):
    got, body, headers = _answer(app, error)
    assert got == status
    assert body["type"] == f"urn:anjian:problem:{slug}"
    assert body["title"] == title and body["detail"] == error.message
    assert body.get("errors") == error.errors
    assert headers["Content-Type"] == "application/problem+json"
    assert ("Retry-After" in headers) == (error.retry_after is not None)


def test_slugs_titles_and_retry_after_of_todays_problems_stay(app):
    status, body, headers = _answer(app, TooManyJobs(3))
    assert (status, body["type"], body["title"], headers["Retry-After"]) == (
        429, "urn:anjian:problem:too-many-jobs", "后台任务过多", "30")
    assert body["detail"] == "本单位已有 3 个后台任务在排队或运行，请等其完成后再提交"
    status, body, headers = _answer(app, QueueUnavailable())
    assert (status, body["type"], headers["Retry-After"]) == (
        503, "urn:anjian:problem:queue-unavailable", "30")
    status, body, _ = _answer(app, UploadRejected(415, "不支持的文件类型", "disguised-file"))
    assert (status, body["type"], body["detail"]) == (
        415, "urn:anjian:problem:disguised-file", "不支持的文件类型")
    assert isinstance(UploadRejected(413, "过大"), errors.TooLarge)
    assert UploadRejected(422, "文件为空").status == 422


def test_per_field_messages_nest_and_attach():
    error = errors.Refused("须为正数", field="funds")
    assert error.within("raise_hazard").errors == {"raise_hazard.funds": ["须为正数"]}
    assert errors.Conflict("已用于其他记录").on("file").errors == {"file": ["已用于其他记录"]}


@job_function("test.refused_by_a_rule")
def _refused(ctx):
    raise errors.Refused("本周数据尚未填报完整", field="week")


def test_a_domain_error_fails_the_job_with_its_message(app, factory):
    tenant_id = factory.tenant("errjob")
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = enqueue("test.refused_by_a_rule", {})
        job_id = job.id
        db.session.commit()
    assert embedded.drain(app)
    with app.app_context(), scoped(db.session, Scope.tenant(tenant_id)):
        job = db.session.get(Job, job_id)
        assert job.status == "failed"
        message, technical = job.error.split("\n", 1)
        assert message == "本周数据尚未填报完整" and technical.startswith("Refused")


# Modules that may use the API package: the adapters (routes, the app, the CLI, the
# request guard and its part for access links; the Idempotency-Key protocol is in api/),
# and the configuration, which reads stored JSON with the API's reader.
ADAPTERS = {"app.py", "cli.py", "auth/guard.py", "links/guard.py", "observability/metrics.py",
            "config.py"}


def _is_adapter(relative: str) -> bool:
    return (relative.endswith(("/api.py", "_api.py")) or relative.startswith("api/")
            or relative in ADAPTERS)


def test_no_domain_module_imports_the_api_package():
    found = []
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(CORE).as_posix()
        if _is_adapter(relative) or relative.startswith("migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if any(n == "anjian.api" or n.startswith("anjian.api.") for n in names):
                found.append(f"{relative}:{node.lineno}")
    assert found == []
