"""The registry as a workbook (.xlsx): the enterprises the list's filters select.

Rows are streamed from the database in batches (``yield_per``) into xlsxwriter in
constant-memory mode, through a temporary file, then stored under the tenant's
``reports`` kind. The job (``enterprise_export`` in ``anjian.enterprises.jobs``)
hands in the storage and reports the progress.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable

from sqlalchemy import func, select

from anjian.context import Context
from anjian.enterprises.models import FLAGS, SCALES, STATUSES, Enterprise
from anjian.enterprises.queries import filtered_statement
from anjian.extensions import db
from anjian.jobs.service import JobError
from anjian.storage.backends import XLSX, Storage, StorageError, StoredObject, UploadRejected
from anjian.tenancy.models import Area
from anjian.xlsx import write_table

BATCH = 2000

# (label, width, column or None, how to turn the value into a cell)
COLUMNS = [
    ("统一社会信用代码", 22, Enterprise.credit_code, None),
    ("企业名称", 36, Enterprise.name, None),
    ("地址", 40, Enterprise.address, None),
    ("行业", 10, Enterprise.industry, None),
    ("行业代码", 10, Enterprise.industry_code, None),
    ("规模", 8, Enterprise.scale, SCALES.get),
    ("限上", 6, Enterprise.above_quota, None),
    ("从业人数", 10, Enterprise.employees, None),
    ("安全管理人员", 12, Enterprise.safety_managers, None),
    ("特种作业人员", 12, Enterprise.special_workers, None),
    ("主要产品", 30, Enterprise.main_products, None),
    ("主要风险因素", 30, Enterprise.main_risk_factors, None),
    *[(label, 10, getattr(Enterprise, flag), None) for flag, label in FLAGS.items()],
    ("主要负责人", 12, Enterprise.principal_name, None),
    ("主要负责人电话", 16, Enterprise.principal_phone, None),
    ("联系人", 12, Enterprise.contact_name, None),
    ("联系电话", 16, Enterprise.contact_phone, None),
    ("所属区域", 16, Enterprise.area_id, "area"),
    ("状态", 8, Enterprise.status, STATUSES.get),
]
HEADERS = [(label, width) for label, width, _c, _f in COLUMNS]


def export_filename(now: dt.datetime) -> str:
    return f"企业台账_{now:%Y%m%d_%H%M%S}.xlsx"


def export_registry(context: Context, query: dict, storage: Storage,
                    progress: Callable[..., None]) -> tuple[StoredObject, int]:
    """Write the enterprises matching ``query`` (loaded by ``EnterpriseQuerySchema``) as a
    workbook and store it; returns the stored object and the row count.

    ``progress(percent, **counts)`` hears of the rows written (``rows``, and first the
    ``total``). A file the storage refuses, or a storage that is down, fails with a
    ``JobError`` in Chinese.
    """
    areas = dict(db.session.execute(select(Area.id, Area.name)).all())
    stmt = filtered_statement(query, columns=[c for _l, _w, c, _f in COLUMNS])
    total = db.session.scalar(select(func.count()).select_from(
        stmt.order_by(None).subquery())) or 0
    progress(0, rows=0, total=total)

    def rows():
        result = db.session.execute(stmt.execution_options(yield_per=BATCH))
        for record in result:
            out = []
            for value, (_label, _width, _column, convert) in zip(record, COLUMNS, strict=True):
                if convert == "area":
                    value = areas.get(value) if value is not None else None
                elif convert is not None and value is not None:
                    value = convert(value, value)
                out.append(value)
            yield out

    def on_row(n):
        progress(min(95, 95 * n // max(total, 1)), rows=n)

    filename = export_filename(context.now())
    with tempfile.TemporaryFile(suffix=".xlsx") as spool:
        count = write_table(spool, "企业台账", HEADERS, rows(), on_row=on_row)
        db.session.commit()  # ends the read (and the server-side cursor) before storing
        spool.seek(0)
        try:
            stored = storage.put(context.tenant_id, "reports", spool, XLSX, filename)
        except UploadRejected as exc:
            raise JobError(f"导出文件无法保存：{exc.message}", "UploadRejected") from exc
        except StorageError as exc:
            raise JobError("导出文件无法保存（存储不可用），请稍后重试",
                           f"{type(exc).__name__}: {exc}") from exc
    return stored, count
